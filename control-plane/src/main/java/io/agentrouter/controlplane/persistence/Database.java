package io.agentrouter.controlplane.persistence;

import com.linecorp.armeria.common.RequestContext;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.flywaydb.core.Flyway;
import org.jooq.DSLContext;
import org.jooq.ExecuteContext;
import org.jooq.ExecuteListener;
import org.jooq.SQLDialect;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultExecuteListenerProvider;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's PostgreSQL: an external server when a JDBC URL is given, otherwise an
 * embedded one whose data directory lives in {@code dataDir/postgres} and survives restarts. Flyway
 * migrates on open; the pool is HikariCP; queries go through jOOQ.
 */
public final class Database implements AutoCloseable {
  private static final Logger logger = LoggerFactory.getLogger(Database.class);

  private final @Nullable EmbeddedPostgres embedded;
  private final HikariDataSource dataSource;
  private final DSLContext dsl;

  private Database(@Nullable EmbeddedPostgres embedded, HikariDataSource dataSource) {
    this.embedded = embedded;
    this.dataSource = dataSource;
    this.dsl =
        DSL.using(
                dataSource,
                SQLDialect.POSTGRES,
                new Settings().withExecuteLogging(false).withRenderSchema(false))
            .configuration()
            .derive(new DefaultExecuteListenerProvider(new NotOnEventLoop()))
            .dsl();
  }

  /** Opens (and migrates) the database. */
  public static Database open(
      @Nullable String jdbcUrl, @Nullable String user, @Nullable String password, Path dataDir)
      throws IOException {
    EmbeddedPostgres embedded = null;
    String url = jdbcUrl;
    String dbUser = user;
    if (url == null) {
      embedded = startEmbedded(dataDir.resolve("postgres"));
      url = embedded.getJdbcUrl("postgres", "postgres");
      dbUser = "postgres";
    }
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(url);
    if (dbUser != null) {
      hc.setUsername(dbUser);
    }
    if (password != null) {
      hc.setPassword(password);
    }
    hc.setPoolName("agentrouter-cp");
    hc.setMaximumPoolSize(10);
    hc.setMinimumIdle(1);
    hc.setConnectionTimeout(10_000);
    HikariDataSource ds;
    try {
      ds = new HikariDataSource(hc);
    } catch (RuntimeException e) {
      if (embedded != null) {
        embedded.close();
      }
      throw e;
    }
    try {
      Flyway.configure()
          .dataSource(ds)
          .locations("classpath:db/migration")
          .failOnMissingLocations(true)
          .load()
          .migrate();
    } catch (RuntimeException e) {
      ds.close();
      if (embedded != null) {
        embedded.close();
      }
      throw e;
    }
    return new Database(embedded, ds);
  }

  private static EmbeddedPostgres startEmbedded(Path dir) throws IOException {
    Files.createDirectories(dir);
    logger.info(
        "Starting the embedded PostgreSQL in {} (set AGENTROUTER_DB_URL to use an external one)",
        dir);
    return EmbeddedPostgres.builder()
        .setDataDirectory(dir)
        .setCleanDataDirectory(false)
        // The embedded server is the source of truth here, not a throwaway test fixture.
        .setServerConfig("synchronous_commit", "on")
        .setServerConfig("max_connections", "50")
        .start();
  }

  /**
   * Refuses to run a statement on a request's event loop: JDBC blocks, and a blocked event loop
   * stalls every connection it serves. Every test that talks to the server checks this for free.
   */
  static final class NotOnEventLoop implements ExecuteListener {
    private static final long serialVersionUID = 1L;

    @Override
    public void executeStart(ExecuteContext ctx) {
      RequestContext rc = RequestContext.currentOrNull();
      if (rc != null && rc.eventLoop().inEventLoop()) {
        throw new IllegalStateException(
            "database call on an event loop (expected the blocking task executor)");
      }
    }
  }

  public DSLContext dsl() {
    return dsl;
  }

  public javax.sql.DataSource dataSource() {
    return dataSource;
  }

  @Override
  public void close() throws IOException {
    dataSource.close();
    if (embedded != null) {
      embedded.close();
    }
  }
}
