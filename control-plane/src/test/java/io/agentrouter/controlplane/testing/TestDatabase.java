package io.agentrouter.controlplane.testing;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.net.URI;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * A fresh, empty PostgreSQL database for one test class. With {@code AGENTROUTER_TEST_DB_URL} set
 * (CI points it at the machine's PostgreSQL) a database with a random name is created on that
 * server and dropped on close; otherwise an embedded PostgreSQL (zonky) is started for it.
 */
public final class TestDatabase implements AutoCloseable {
  public static final String ENV = "AGENTROUTER_TEST_DB_URL";

  private final String adminUrl;
  private final String name;
  private final String jdbcUrl;
  private final @Nullable EmbeddedPostgres embedded;

  private TestDatabase(
      String adminUrl, String name, String jdbcUrl, @Nullable EmbeddedPostgres embedded) {
    this.adminUrl = adminUrl;
    this.name = name;
    this.jdbcUrl = jdbcUrl;
    this.embedded = embedded;
  }

  public static TestDatabase create() throws IOException, SQLException {
    String server = System.getenv(ENV);
    EmbeddedPostgres embedded = null;
    if (server == null || server.isBlank()) {
      embedded = EmbeddedPostgres.builder().start();
      server = embedded.getJdbcUrl("postgres", "postgres");
    }
    String name =
        "ar_test_"
            + UUID.randomUUID()
                .toString()
                .replace("-", "")
                .substring(0, 16)
                .toLowerCase(Locale.ROOT);
    try (Connection c = DriverManager.getConnection(server);
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    }
    return new TestDatabase(server, name, withDatabase(server, name), embedded);
  }

  /** Replaces the database name of a JDBC URL, keeping host, port and parameters. */
  static String withDatabase(String url, String db) {
    URI uri = URI.create(url.substring("jdbc:".length()));
    String query = uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery();
    String authority = uri.getRawAuthority();
    return "jdbc:" + uri.getScheme() + "://" + authority + "/" + db + query;
  }

  /** JDBC URL of the fresh database (credentials in its parameters, as given). */
  public String jdbcUrl() {
    return jdbcUrl;
  }

  public String name() {
    return name;
  }

  @Override
  public void close() throws SQLException, IOException {
    try (Connection c = DriverManager.getConnection(adminUrl);
        Statement s = c.createStatement()) {
      s.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    } finally {
      if (embedded != null) {
        embedded.close();
      }
    }
  }
}
