package io.agentrouter.it;

import static java.util.Objects.requireNonNull;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/**
 * A PostgreSQL server the test owns, so it can take the database away under a running control
 * plane: embedded (zonky) on a fixed port and data directory that survive a stop, so that {@link
 * #start()} after {@link #stop()} brings back the same server with the same data, as an operator's
 * restart would. The machine's shared PostgreSQL cannot be stopped by a test.
 */
final class OwnPostgres implements AutoCloseable {
  private final Path dataDir;
  private final int port;
  private @Nullable EmbeddedPostgres server;

  private OwnPostgres(Path dataDir, int port) {
    this.dataDir = requireNonNull(dataDir, "dataDir");
    this.port = port;
  }

  /** Initialises {@code dataDir} and starts a server on a free port. */
  static OwnPostgres start(Path dataDir) throws IOException {
    OwnPostgres pg = new OwnPostgres(dataDir, Planes.freePort());
    pg.start();
    return pg;
  }

  /** Starts the server again on the same port and data directory. */
  void start() throws IOException {
    if (server != null) {
      throw new IllegalStateException("PostgreSQL on port " + port + " already running");
    }
    server =
        EmbeddedPostgres.builder()
            .setPort(port)
            .setDataDirectory(dataDir)
            .setCleanDataDirectory(false)
            .setServerConfig("synchronous_commit", "on")
            .setServerConfig("max_connections", "50")
            .start();
  }

  /** Stops the server ({@code pg_ctl stop -m fast}: open connections are cut). */
  void stop() throws IOException {
    EmbeddedPostgres s = server;
    server = null;
    if (s != null) {
      s.close();
    }
  }

  String jdbcUrl() {
    return "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=postgres";
  }

  @Override
  public void close() throws IOException {
    stop();
  }
}
