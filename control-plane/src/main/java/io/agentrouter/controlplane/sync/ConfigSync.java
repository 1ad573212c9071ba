package io.agentrouter.controlplane.sync;

import static java.util.Objects.requireNonNull;

import com.zaxxer.hikari.HikariDataSource;
import io.agentrouter.controlplane.dataplanes.ConfigStreams;
import io.agentrouter.controlplane.dataplanes.DataplaneStore;
import io.agentrouter.controlplane.dataplanes.DataplaneStore.DataplaneRow;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.proto.dataplane.v1.ConfigRequest;
import io.agentrouter.proto.dataplane.v1.ConfigResponse;
import io.agentrouter.proto.dataplane.v1.DataplaneSnapshot;
import io.grpc.stub.StreamObserver;
import java.sql.DriverManager;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Config sync, xDS style. Each connected data plane gets the newest snapshot of its region on
 * connect and whenever its content changes; it acks or nacks each response by nonce, and both are
 * recorded on the data plane's row (a nack leaves it on its previous version).
 *
 * <pre>
 *  write (any replica) --trigger--> NOTIFY agentrouter_config --> ChangeListener (every replica)
 *      --> signal(): coalesced for {@value #COALESCE_MS} ms --> rebuild per region (one read)
 *      --> push to each stream whose content hash differs --> data plane acks/nacks
 * </pre>
 *
 * <p>All database work runs on one scheduler thread, never on an event loop.
 */
public final class ConfigSync implements ConfigStreams, AutoCloseable {
  private static final Logger logger = LoggerFactory.getLogger(ConfigSync.class);
  static final long COALESCE_MS = 20;

  /** Budget positions change without a NOTIFY; rebuild this often anyway. */
  static final long REFRESH_SECONDS = 30;

  private final SnapshotBuilder builder;
  private final DataplaneStore dataplanes;
  private final Clock clock;
  private final ScheduledExecutorService executor =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "agentrouter-config-sync");
            t.setDaemon(true);
            return t;
          });
  private final Set<Stream> streams = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private final @Nullable ChangeListener listener;

  public ConfigSync(
      SnapshotBuilder builder,
      DataplaneStore dataplanes,
      javax.sql.DataSource dataSource,
      Clock clock) {
    this.builder = requireNonNull(builder, "builder");
    this.dataplanes = requireNonNull(dataplanes, "dataplanes");
    this.clock = requireNonNull(clock, "clock");
    HikariDataSource hikari = (HikariDataSource) dataSource;
    this.listener =
        new ChangeListener(
            () ->
                DriverManager.getConnection(
                    hikari.getJdbcUrl(), hikari.getUsername(), hikari.getPassword()),
            this::signal);
    listener.start();
    executor.scheduleWithFixedDelay(
        this::signal, REFRESH_SECONDS, REFRESH_SECONDS, TimeUnit.SECONDS);
  }

  /** Something changed: rebuild soon, once for a burst. */
  void signal() {
    if (scheduled.compareAndSet(false, true)) {
      executor.schedule(this::rebuild, COALESCE_MS, TimeUnit.MILLISECONDS);
    }
  }

  private void rebuild() {
    scheduled.set(false);
    Map<String, SnapshotBuilder.@Nullable Built> byRegion = new HashMap<>();
    for (Stream s : streams) {
      SnapshotBuilder.Built built =
          byRegion.computeIfAbsent(
              s.region,
              r -> {
                try {
                  return builder.build(r);
                } catch (RuntimeException e) {
                  // Not published: data planes keep what they have.
                  logger.error("Snapshot for region {} not published: {}", r, e.getMessage());
                  return null;
                }
              });
      if (built != null) {
        s.push(built);
      }
    }
  }

  @Override
  public StreamObserver<ConfigRequest> open(DataplaneRow dp, StreamObserver<ConfigResponse> out) {
    if (executor.isShutdown()) {
      // Closing while the server drains: the data plane retries, here or at another replica.
      out.onError(
          io.grpc.Status.UNAVAILABLE
              .withDescription("the control plane is shutting down")
              .asRuntimeException());
      return new StreamObserver<>() {
        @Override
        public void onNext(ConfigRequest value) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      };
    }
    Stream s = new Stream(dp.id(), dp.region(), out);
    streams.add(s);
    return s;
  }

  @Override
  public void close() {
    if (listener != null) {
      listener.close();
    }
    executor.shutdownNow();
    for (Stream s : streams) {
      s.finish();
    }
  }

  /** One data plane's stream. */
  private final class Stream implements StreamObserver<ConfigRequest> {
    private final UUID dataplaneId;
    private final String region;
    private final StreamObserver<ConfigResponse> out;
    private final Map<String, String> versionByNonce = new ConcurrentHashMap<>();
    private @Nullable String sentHash;
    private String appliedVersion = "";
    private boolean started;
    private boolean done;

    Stream(UUID dataplaneId, String region, StreamObserver<ConfigResponse> out) {
      this.dataplaneId = dataplaneId;
      this.region = region;
      this.out = out;
    }

    @Override
    public void onNext(ConfigRequest req) {
      String nonce = req.getResponseNonce();
      if (nonce.isEmpty()) {
        synchronized (this) {
          appliedVersion = req.getVersionInfo();
          started = true;
        }
        executor.execute(() -> rebuildOne(this));
        return;
      }
      String version = versionByNonce.remove(nonce);
      if (version == null) {
        return; // stale or unknown nonce: nothing to record
      }
      boolean nack =
          req.hasErrorDetail()
              && (req.getErrorDetail().getCode() != 0
                  || !req.getErrorDetail().getMessage().isEmpty());
      String error = req.getErrorDetail().getMessage();
      executor.execute(
          () -> {
            try {
              if (nack) {
                logger.warn(
                    "Data plane {} rejected config version {}: {}", dataplaneId, version, error);
                dataplanes.recordNack(
                    dataplaneId,
                    version,
                    error.length() > 1000 ? error.substring(0, 1000) : error,
                    Fields.micros(clock.instant()));
              } else {
                dataplanes.recordAck(dataplaneId, version);
              }
            } catch (RuntimeException e) {
              logger.warn(
                  "Recording the ack of data plane {} failed: {}", dataplaneId, e.toString());
            }
          });
    }

    synchronized void push(SnapshotBuilder.Built built) {
      if (done || !started || built.contentHash().equals(sentHash)) {
        return;
      }
      String version = Long.toString(built.epoch());
      sentHash = built.contentHash();
      if (version.equals(appliedVersion)) {
        return; // it already runs exactly this
      }
      String nonce = UUID.randomUUID().toString();
      versionByNonce.put(nonce, version);
      DataplaneSnapshot snapshot =
          built.snapshot().toBuilder()
              .setVersion(version)
              .setDataplaneId(dataplaneId.toString())
              .setCreatedAt(Fields.timestamp(clock.instant()))
              .build();
      try {
        out.onNext(
            ConfigResponse.newBuilder()
                .setVersion(version)
                .setNonce(nonce)
                .setSnapshot(snapshot)
                .build());
      } catch (RuntimeException e) {
        logger.info("Config stream of data plane {} is gone: {}", dataplaneId, e.toString());
        done = true;
        streams.remove(this);
      }
    }

    @Override
    public void onError(Throwable t) {
      synchronized (this) {
        done = true;
      }
      streams.remove(this);
    }

    @Override
    public void onCompleted() {
      finish();
    }

    synchronized void finish() {
      streams.remove(this);
      if (!done) {
        done = true;
        try {
          out.onCompleted();
        } catch (RuntimeException e) {
          // already closed
        }
      }
    }
  }

  private void rebuildOne(Stream s) {
    try {
      s.push(builder.build(s.region));
    } catch (RuntimeException e) {
      logger.error("Snapshot for region {} not published: {}", s.region, e.getMessage());
    }
  }
}
