package io.agentrouter.controlplane.sync;

import static java.util.Objects.requireNonNull;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Listens on PostgreSQL channel {@value #CHANNEL} (notified by triggers after every committed write
 * a snapshot depends on) with a connection of its own, outside the pool, and calls {@code
 * onChange}. On any failure it reconnects with a growing pause and calls {@code onChange} once
 * connected again, since notifications sent meanwhile are lost.
 */
final class ChangeListener implements AutoCloseable {
  static final String CHANNEL = "agentrouter_config";
  private static final Logger logger = LoggerFactory.getLogger(ChangeListener.class);

  /** Opens a dedicated connection. */
  @FunctionalInterface
  interface ConnectionFactory {
    Connection open() throws SQLException;
  }

  private final ConnectionFactory connections;
  private final Runnable onChange;
  private final Thread thread;
  private volatile boolean closed;

  ChangeListener(ConnectionFactory connections, Runnable onChange) {
    this.connections = requireNonNull(connections, "connections");
    this.onChange = requireNonNull(onChange, "onChange");
    this.thread = new Thread(this::run, "agentrouter-config-listener");
    thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  private void run() {
    Duration pause = Duration.ofMillis(200);
    while (!closed) {
      try (Connection c = connections.open()) {
        try (Statement s = c.createStatement()) {
          s.execute("LISTEN " + CHANNEL);
        }
        pause = Duration.ofMillis(200);
        onChange.run();
        PGConnection pg = c.unwrap(PGConnection.class);
        while (!closed) {
          PGNotification[] ns = pg.getNotifications(500);
          if (ns != null && ns.length > 0) {
            onChange.run();
          }
        }
      } catch (SQLException | RuntimeException e) {
        if (closed) {
          return;
        }
        logger.warn(
            "Config change listener lost PostgreSQL ({}); reconnecting in {} ms",
            e.getMessage(),
            pause.toMillis());
        try {
          Thread.sleep(pause.toMillis());
        } catch (InterruptedException ie) {
          return;
        }
        pause =
            pause.multipliedBy(2).compareTo(Duration.ofSeconds(5)) > 0
                ? Duration.ofSeconds(5)
                : pause.multipliedBy(2);
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
    try {
      thread.join(2_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
