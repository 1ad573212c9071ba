package io.agentrouter.dataplane.sync;

import static java.util.Objects.requireNonNull;

import com.google.rpc.Code;
import com.linecorp.armeria.client.ClientFactory;
import io.agentrouter.common.config.ConfigSnapshot;
import io.agentrouter.dataplane.config.ConfigException;
import io.agentrouter.dataplane.config.ConfigHolder;
import io.agentrouter.dataplane.config.ConfigSource;
import io.agentrouter.dataplane.spool.UsageSpool;
import io.agentrouter.proto.dataplane.v1.ConfigRequest;
import io.agentrouter.proto.dataplane.v1.ConfigResponse;
import io.agentrouter.proto.dataplane.v1.DataplaneSnapshot;
import io.agentrouter.proto.dataplane.v1.HeartbeatRequest;
import io.agentrouter.proto.dataplane.v1.HeartbeatResponse;
import io.agentrouter.proto.dataplane.v1.RegisterRequest;
import io.agentrouter.proto.dataplane.v1.RegisterResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Managed mode: config comes from the control plane over {@code DataplaneSyncService}.
 *
 * <pre>
 *  start ─▶ persisted snapshot (sealed, data dir) ─▶ serve it at once, if there is one
 *        └▶ credential (data dir, or Register with the one-time token)
 *             ├▶ StreamConfig: snapshot ─▶ map ─▶ compile+swap ─▶ persist ─▶ ACK
 *             │                                  └ refused ─▶ NACK, keep serving the previous one
 *             ├▶ Heartbeat every N s (config version, in-flight requests, spooled records)
 *             └▶ StreamUsage (the {@link UsageShipper})
 * </pre>
 *
 * Static stability: nothing on the request path waits on the control plane. The data plane serves
 * from its last snapshot through an outage and across restarts; with no usable snapshot and no
 * control plane it is not ready (health 503, every API call 503), never open. All sync work runs on
 * one thread of its own; gRPC callbacks hop onto it, so snapshot compilation and disk writes never
 * touch an event loop.
 */
public final class ControlPlaneConfigSource implements ConfigSource {
  private static final Logger log = LoggerFactory.getLogger(ControlPlaneConfigSource.class);
  static final String CREDENTIAL_FILE = "credential";
  private static final Set<Status.Code> TOKEN_REFUSED =
      EnumSet.of(
          Status.Code.UNAUTHENTICATED,
          Status.Code.PERMISSION_DENIED,
          Status.Code.INVALID_ARGUMENT,
          Status.Code.NOT_FOUND,
          Status.Code.ALREADY_EXISTS,
          Status.Code.FAILED_PRECONDITION);

  private final ManagedSettings settings;
  private final SnapshotVault vault;
  private final SnapshotMapper mapper;
  private final ClientFactory factory;
  private final ControlPlaneLink link;
  private final ScheduledExecutorService executor;
  private final @Nullable UsageSpool spool;
  private final LongSupplier inFlight;
  private final Consumer<String> onFatal;
  private final String softwareVersion;

  // Sync thread only.
  private @Nullable ConfigHolder holder;
  private String appliedVersion = "";
  private @Nullable StreamObserver<ConfigRequest> configOut;
  private long configGeneration;
  private int configAttempts;
  private int registerAttempts;
  private boolean drained;
  private @Nullable UsageShipper shipper;
  private volatile boolean closed;

  private ControlPlaneConfigSource(Builder b) throws IOException {
    this.settings = b.settings;
    PrivateFiles.ensureDir(settings.dataDir());
    this.vault = SnapshotVault.open(settings.dataDir(), settings.snapshotKey(), b.random);
    this.mapper = new SnapshotMapper(b.clock);
    this.factory = ClientFactory.builder().idleTimeoutMillis(0).build();
    this.link = new ControlPlaneLink(settings.controlPlaneUrls(), factory);
    this.spool = b.spool;
    this.inFlight = b.inFlight;
    this.onFatal = b.onFatal;
    this.softwareVersion = b.softwareVersion;
    this.executor =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "agentrouter-sync");
              t.setDaemon(true);
              return t;
            });
  }

  public static Builder builder(ManagedSettings settings) {
    return new Builder(settings);
  }

  @Override
  public void start(Consumer<ConfigSnapshot> listener) {
    throw new UnsupportedOperationException(
        "the control-plane source acks what the config holder accepts (expected: start(holder))");
  }

  @Override
  public void start(ConfigHolder holder) {
    requireNonNull(holder, "holder");
    // Load from disk before returning, so the data plane serves its last config from the start.
    runOnSync(
        () -> {
          this.holder = holder;
          loadPersisted();
          loadCredential();
        });
    executor.execute(this::connect);
    executor.scheduleWithFixedDelay(
        this::heartbeat,
        settings.heartbeatInterval().toMillis(),
        settings.heartbeatInterval().toMillis(),
        TimeUnit.MILLISECONDS);
  }

  private void runOnSync(Runnable r) {
    try {
      executor.submit(r).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while loading the persisted snapshot", e);
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException(e.getCause());
    }
  }

  private void loadPersisted() {
    DataplaneSnapshot persisted;
    try {
      persisted = vault.load();
    } catch (IOException e) {
      // Never serve without a trustworthy config: stay not ready until the control plane answers.
      holder.failed(e.getMessage() + "; not ready until the control plane sends a snapshot");
      return;
    }
    if (persisted == null) {
      log.info(
          "no persisted snapshot in {}: not ready until the control plane sends one", vault.file());
      return;
    }
    String error;
    try {
      error = holder.offer(mapper.map(persisted, persisted.getVersion()));
    } catch (ConfigException e) {
      error = e.getMessage();
    }
    if (error != null) {
      holder.failed("persisted snapshot " + vault.file() + " is unusable: " + error);
      return;
    }
    appliedVersion = persisted.getVersion();
    log.info(
        "serving the persisted snapshot version {} until the control plane sends a newer one",
        appliedVersion);
  }

  private void loadCredential() {
    Path file = settings.dataDir().resolve(CREDENTIAL_FILE);
    try {
      String c = Files.readString(file, StandardCharsets.US_ASCII).strip();
      if (!c.isEmpty()) {
        link.credential(c);
      }
    } catch (NoSuchFileException e) {
      // First start: register below.
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the data-plane credential " + file, e);
    }
  }

  private void connect() {
    if (closed) {
      return;
    }
    if (link.credential() == null && !register()) {
      return;
    }
    openConfigStream();
    if (spool != null && shipper == null) {
      shipper = new UsageShipper(link, spool, executor);
      shipper.start();
    }
  }

  /** Exchanges the token for a credential; false when it will be retried or cannot succeed. */
  private boolean register() {
    String token = settings.registrationToken();
    Path file = settings.dataDir().resolve(CREDENTIAL_FILE);
    if (token == null) {
      fatal(
          "no data-plane credential in "
              + file
              + " and AGENTROUTER_DATAPLANE_TOKEN is not set (expected: the one-time registration"
              + " token from 'POST /v1/dataplanes')");
      return false;
    }
    String url = link.url();
    RegisterResponse resp;
    try {
      resp =
          link.registration(url)
              .register(
                  RegisterRequest.newBuilder()
                      .setRegistrationToken(token)
                      .setSoftwareVersion(softwareVersion)
                      .setHostname(hostName())
                      .build());
    } catch (StatusRuntimeException e) {
      if (TOKEN_REFUSED.contains(e.getStatus().getCode())) {
        fatal(
            "the control plane at "
                + url
                + " refused the registration token ("
                + e.getStatus().getCode()
                + (e.getStatus().getDescription() == null
                    ? ""
                    : ": " + e.getStatus().getDescription())
                + ") and there is no credential in "
                + file
                + " (expected: a fresh token from 'POST /v1/dataplanes'; a token works once)");
        return false;
      }
      retryRegister(url, e);
      return false;
    } catch (RuntimeException e) {
      retryRegister(url, e);
      return false;
    }
    try {
      PrivateFiles.write(file, resp.getCredential().getBytes(StandardCharsets.US_ASCII));
    } catch (IOException e) {
      fatal("cannot store the data-plane credential in " + file + ": " + e.getMessage());
      return false;
    }
    link.credential(resp.getCredential());
    log.info(
        "registered with the control plane at {} as data plane {} (region {}); credential kept in"
            + " {}",
        url,
        resp.getDataplaneId(),
        resp.getRegion(),
        file);
    return true;
  }

  private void retryRegister(String url, Throwable t) {
    registerAttempts++;
    link.failed(url, t);
    long delay = link.delayMillis(registerAttempts);
    log.warn(
        "cannot register with the control plane at {} ({}); retrying in {} ms",
        url,
        ControlPlaneLink.describe(t),
        delay);
    executor.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
  }

  private void fatal(String message) {
    log.error("{}", message);
    holder.failed(message);
    onFatal.accept(message);
  }

  private void openConfigStream() {
    if (closed) {
      return;
    }
    long gen = ++configGeneration;
    String url = link.url();
    StreamObserver<ConfigRequest> out =
        link.stub(url)
            .streamConfig(
                new StreamObserver<>() {
                  @Override
                  public void onNext(ConfigResponse r) {
                    post(executor, () -> received(gen, r));
                  }

                  @Override
                  public void onError(Throwable t) {
                    post(executor, () -> configBroken(gen, url, t));
                  }

                  @Override
                  public void onCompleted() {
                    post(
                        executor,
                        () ->
                            configBroken(
                                gen,
                                url,
                                Status.UNAVAILABLE
                                    .withDescription("the control plane ended the config stream")
                                    .asRuntimeException()));
                  }
                });
    configOut = out;
    out.onNext(ConfigRequest.newBuilder().setVersionInfo(appliedVersion).build());
  }

  private void received(long gen, ConfigResponse r) {
    if (gen != configGeneration || configOut == null) {
      return;
    }
    configAttempts = 0;
    String version = r.getVersion().isEmpty() ? r.getSnapshot().getVersion() : r.getVersion();
    String error = null;
    if (!version.equals(appliedVersion)) {
      try {
        error = holder.offer(mapper.map(r.getSnapshot(), version));
      } catch (ConfigException e) {
        error = e.getMessage();
        holder.failed("snapshot version " + version + " refused: " + error);
      }
    }
    if (error != null) {
      log.error(
          "nacking snapshot version {}, still serving version {}: {}",
          version,
          appliedVersion.isEmpty() ? "none" : appliedVersion,
          error);
      configOut.onNext(
          ConfigRequest.newBuilder()
              .setVersionInfo(appliedVersion)
              .setResponseNonce(r.getNonce())
              .setErrorDetail(
                  com.google.rpc.Status.newBuilder()
                      .setCode(Code.INVALID_ARGUMENT_VALUE)
                      .setMessage(error))
              .build());
      return;
    }
    if (!version.equals(appliedVersion)) {
      try {
        vault.save(r.getSnapshot().toBuilder().setVersion(version).build());
      } catch (IOException | RuntimeException e) {
        // Serving it anyway: the control plane is up; only a restart during an outage would
        // fall back to the older file.
        log.error(
            "snapshot version {} is active but could not be persisted to {}: {}",
            version,
            vault.file(),
            e.toString());
      }
      boolean first = appliedVersion.isEmpty();
      appliedVersion = version;
      if (first) {
        // Ready to serve: say so now rather than a heartbeat interval later, so the control plane
        // counts this data plane as healthy (Prompt, GetDataplaneURL) from its first snapshot.
        heartbeat();
      }
    }
    configOut.onNext(
        ConfigRequest.newBuilder()
            .setVersionInfo(appliedVersion)
            .setResponseNonce(r.getNonce())
            .build());
  }

  private void configBroken(long gen, String url, Throwable t) {
    if (gen != configGeneration || closed) {
      return;
    }
    configOut = null;
    configAttempts++;
    link.failed(url, t);
    long delay = link.delayMillis(configAttempts);
    Status.Code code = Status.fromThrowable(t).getCode();
    if (code == Status.Code.UNAUTHENTICATED || code == Status.Code.PERMISSION_DENIED) {
      log.error(
          "the control plane at {} refused this data plane's credential ({}); serving version {}"
              + " and retrying in {} ms",
          url,
          ControlPlaneLink.describe(t),
          appliedVersion.isEmpty() ? "none" : appliedVersion,
          delay);
    } else {
      log.warn(
          "config stream to {} broke ({}); serving version {}, retrying in {} ms",
          url,
          ControlPlaneLink.describe(t),
          appliedVersion.isEmpty() ? "none" : appliedVersion,
          delay);
    }
    executor.schedule(this::openConfigStream, delay, TimeUnit.MILLISECONDS);
  }

  private void heartbeat() {
    if (closed || link.credential() == null) {
      return;
    }
    String url = link.url();
    link.stub(url)
        .heartbeat(
            HeartbeatRequest.newBuilder()
                .setConfigVersion(appliedVersion)
                .setSpooledUsageRecords(spool == null ? 0 : spool.pending())
                .setInFlightRequests(inFlight.getAsLong())
                .setSoftwareVersion(softwareVersion)
                .build(),
            new StreamObserver<>() {
              @Override
              public void onNext(HeartbeatResponse r) {
                post(
                    executor,
                    () -> {
                      if (r.getDrained() != drained) {
                        drained = r.getDrained();
                        log.info(
                            drained
                                ? "this data plane is drained: expect no new traffic"
                                : "this data plane is no longer drained");
                      }
                    });
              }

              @Override
              public void onError(Throwable t) {
                log.debug("heartbeat to {} failed: {}", url, ControlPlaneLink.describe(t));
              }

              @Override
              public void onCompleted() {}
            });
  }

  /** The version applied last (from the control plane or the persisted file); "" for none. */
  public String appliedVersion() {
    try {
      return executor.submit(() -> appliedVersion).get();
    } catch (Exception e) {
      return "";
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      executor
          .submit(
              () -> {
                if (shipper != null) {
                  shipper.close();
                }
                if (configOut != null) {
                  try {
                    configOut.onCompleted();
                  } catch (RuntimeException e) {
                    log.debug("config stream close failed", e);
                  }
                }
              })
          .get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      log.debug("sync thread did not wind down cleanly", e);
    }
    executor.shutdownNow();
    factory.closeAsync();
  }

  /** Runs {@code r} on the sync thread; dropped once the source is closed. */
  static void post(java.util.concurrent.Executor executor, Runnable r) {
    try {
      executor.execute(r);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // Closed: late gRPC callbacks have nothing left to update.
    }
  }

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      return "dataplane";
    }
  }

  /** Collaborators with defaults; tests replace the clock or the fatal handler. */
  public static final class Builder {
    private final ManagedSettings settings;
    private Clock clock = Clock.systemUTC();
    private SecureRandom random = new SecureRandom();
    private @Nullable UsageSpool spool;
    private LongSupplier inFlight = () -> 0;
    private Consumer<String> onFatal = m -> {};
    private String softwareVersion = "dev";

    private Builder(ManagedSettings settings) {
      this.settings = requireNonNull(settings, "settings");
    }

    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /** The spool to ship over StreamUsage; none, no usage is shipped. */
    public Builder spool(UsageSpool spool) {
      this.spool = requireNonNull(spool, "spool");
      return this;
    }

    /** Requests in flight, for heartbeats. */
    public Builder inFlight(LongSupplier inFlight) {
      this.inFlight = requireNonNull(inFlight, "inFlight");
      return this;
    }

    /** Told when the data plane can never get a config (e.g. its token was refused). */
    public Builder onFatal(Consumer<String> onFatal) {
      this.onFatal = requireNonNull(onFatal, "onFatal");
      return this;
    }

    public Builder softwareVersion(String v) {
      this.softwareVersion = requireNonNull(v, "softwareVersion");
      return this;
    }

    /** Opens the data dir (key, persisted snapshot) and builds the source. */
    public ControlPlaneConfigSource build() throws IOException {
      return new ControlPlaneConfigSource(this);
    }
  }
}
