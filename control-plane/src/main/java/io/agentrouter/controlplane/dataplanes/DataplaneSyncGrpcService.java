package io.agentrouter.controlplane.dataplanes;

import static java.util.Objects.requireNonNull;

import com.linecorp.armeria.common.HttpHeaderNames;
import com.linecorp.armeria.server.ServiceRequestContext;
import io.agentrouter.controlplane.dataplanes.DataplaneStore.DataplaneRow;
import io.agentrouter.controlplane.rpc.ApiException;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.controlplane.usage.UsageIngestion;
import io.agentrouter.proto.dataplane.v1.ConfigRequest;
import io.agentrouter.proto.dataplane.v1.ConfigResponse;
import io.agentrouter.proto.dataplane.v1.DataplaneSyncServiceGrpc;
import io.agentrouter.proto.dataplane.v1.HeartbeatRequest;
import io.agentrouter.proto.dataplane.v1.HeartbeatResponse;
import io.agentrouter.proto.dataplane.v1.RegisterRequest;
import io.agentrouter.proto.dataplane.v1.RegisterResponse;
import io.agentrouter.proto.dataplane.v1.UsageAck;
import io.agentrouter.proto.dataplane.v1.UsageBatch;
import io.grpc.stub.StreamObserver;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The data-plane side of the registry: the one-time registration token is exchanged for a
 * long-lived credential (both stored as SHA-256 only), and heartbeats record liveness. Config and
 * usage streaming land with config sync and usage ingestion.
 */
public final class DataplaneSyncGrpcService
    extends DataplaneSyncServiceGrpc.DataplaneSyncServiceImplBase {
  /** Prefix of data-plane credentials, recognisable in a secret scanner. */
  public static final String CREDENTIAL_PREFIX = "ar-dpcred-";

  private final DataplaneStore store;
  private final Clock clock;
  private final SecureRandom random;
  private final UsageIngestion usage;
  private final @Nullable ConfigStreams configStreams;
  // Open usage streams, each as the action that ends it; emptied by close().
  private final java.util.Set<Runnable> usageStreams =
      java.util.concurrent.ConcurrentHashMap.newKeySet();
  private volatile boolean closing;

  /**
   * StreamUsage stores through {@code usage}; with config sync, StreamConfig calls are handed to
   * {@code configStreams} once authenticated (null: StreamConfig answers UNIMPLEMENTED).
   */
  public DataplaneSyncGrpcService(
      DataplaneStore store,
      Clock clock,
      SecureRandom random,
      UsageIngestion usage,
      @Nullable ConfigStreams configStreams) {
    this.store = requireNonNull(store, "store");
    this.usage = requireNonNull(usage, "usage");
    this.clock = requireNonNull(clock, "clock");
    this.random = requireNonNull(random, "random");
    this.configStreams = configStreams;
  }

  @Override
  public StreamObserver<ConfigRequest> streamConfig(StreamObserver<ConfigResponse> out) {
    if (configStreams == null) {
      return super.streamConfig(out);
    }
    DataplaneRow row;
    try {
      row = store.byCredential(DataplaneGrpcService.sha256(credential()));
      if (row == null) {
        throw ApiException.unauthenticated(
            "data-plane credential is not recognised (deleted, or never issued)");
      }
    } catch (Throwable t) {
      out.onError(t);
      return new StreamObserver<>() {
        @Override
        public void onNext(ConfigRequest value) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      };
    }
    return configStreams.open(row, out);
  }

  @Override
  public void register(RegisterRequest req, StreamObserver<RegisterResponse> out) {
    unary(
        out,
        () -> {
          String token = req.getRegistrationToken().strip();
          if (!token.startsWith(DataplaneGrpcService.TOKEN_PREFIX)) {
            throw ApiException.unauthenticated(
                "registration_token is not a data-plane registration token (expected "
                    + DataplaneGrpcService.TOKEN_PREFIX
                    + "... from RegisterDataplane)");
          }
          byte[] secret = new byte[32];
          random.nextBytes(secret);
          String credential =
              CREDENTIAL_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
          DataplaneRow row =
              store.activate(
                  DataplaneGrpcService.sha256(token),
                  DataplaneGrpcService.sha256(credential),
                  Fields.micros(clock.instant()));
          if (row == null) {
            throw ApiException.unauthenticated(
                "registration token is unknown or already used (expected a fresh token from"
                    + " RegisterDataplane)");
          }
          return RegisterResponse.newBuilder()
              .setDataplaneId(row.id().toString())
              .setCredential(credential)
              .setRegion(row.region())
              .build();
        });
  }

  @Override
  public void heartbeat(HeartbeatRequest req, StreamObserver<HeartbeatResponse> out) {
    unary(
        out,
        () -> {
          Fields.checkLength("config_version", req.getConfigVersion(), 64);
          Instant now = Fields.micros(clock.instant());
          DataplaneRow row =
              store.heartbeat(
                  DataplaneGrpcService.sha256(credential()), req.getConfigVersion(), now);
          if (row == null) {
            throw ApiException.unauthenticated(
                "data-plane credential is not recognised (deleted, or never issued)");
          }
          return HeartbeatResponse.newBuilder()
              .setServerTime(Fields.timestamp(now))
              .setDrained(row.drainedAt() != null)
              .build();
        });
  }

  /**
   * Usage delivery: the credential is checked once when the stream opens; each batch is stored
   * (idempotently by request id) and answered with an ack naming the stored and the rejected
   * records. A batch that cannot be stored (the database is down) ends the stream with an error;
   * the data plane keeps its spool and sends the batch again.
   */
  @Override
  public StreamObserver<UsageBatch> streamUsage(StreamObserver<UsageAck> out) {
    DataplaneRow dp;
    try {
      dp = store.byCredential(DataplaneGrpcService.sha256(credential()));
      if (dp == null) {
        throw ApiException.unauthenticated(
            "data-plane credential is not recognised (deleted, or never issued)");
      }
    } catch (Throwable t) {
      out.onError(t);
      return new StreamObserver<>() {
        @Override
        public void onNext(UsageBatch value) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      };
    }
    java.util.UUID dataplaneId = dp.id();
    if (closing) {
      out.onError(shuttingDown());
      return new StreamObserver<>() {
        @Override
        public void onNext(UsageBatch value) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      };
    }
    final class UsageStream implements StreamObserver<UsageBatch>, Runnable {
      private boolean done;

      @Override
      public synchronized void onNext(UsageBatch batch) {
        if (done) {
          return;
        }
        try {
          out.onNext(usage.ingest(dataplaneId, batch));
        } catch (Throwable t) {
          finish();
          out.onError(t);
        }
      }

      @Override
      public synchronized void onError(Throwable t) {
        finish();
      }

      @Override
      public synchronized void onCompleted() {
        if (!done) {
          finish();
          out.onCompleted();
        }
      }

      /** Ends the stream because the control plane is closing; the data plane resends. */
      @Override
      public synchronized void run() {
        if (!done) {
          finish();
          out.onError(shuttingDown());
        }
      }

      private void finish() {
        done = true;
        usageStreams.remove(this);
      }
    }
    UsageStream stream = new UsageStream();
    usageStreams.add(stream);
    return stream;
  }

  /**
   * Ends every open usage stream (UNAVAILABLE) and refuses new ones, so the server's graceful
   * shutdown does not wait its full timeout on streams that never end by themselves. The data
   * planes keep the unacknowledged records in their spools and send them to the next replica.
   */
  public void close() {
    closing = true;
    for (Runnable r : List.copyOf(usageStreams)) {
      r.run();
    }
  }

  private static RuntimeException shuttingDown() {
    return io.grpc.Status.UNAVAILABLE
        .withDescription("the control plane is shutting down")
        .asRuntimeException();
  }

  private static String credential() {
    String auth =
        ServiceRequestContext.current().request().headers().get(HttpHeaderNames.AUTHORIZATION);
    if (auth == null || !auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw ApiException.unauthenticated(
          "missing data-plane credential (expected 'authorization: Bearer "
              + CREDENTIAL_PREFIX
              + "...')");
    }
    String c = auth.substring(7).strip();
    if (!c.startsWith(CREDENTIAL_PREFIX)) {
      throw ApiException.unauthenticated(
          "not a data-plane credential (expected " + CREDENTIAL_PREFIX + "... from Register)");
    }
    return c;
  }

  private static <T> void unary(StreamObserver<T> out, Supplier<T> body) {
    T result;
    try {
      result = body.get();
    } catch (Throwable t) {
      out.onError(t);
      return;
    }
    out.onNext(result);
    out.onCompleted();
  }
}
