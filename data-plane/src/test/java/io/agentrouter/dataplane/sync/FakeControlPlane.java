package io.agentrouter.dataplane.sync;

import com.google.protobuf.ByteString;
import com.linecorp.armeria.server.Server;
import com.linecorp.armeria.server.ServiceRequestContext;
import com.linecorp.armeria.server.grpc.GrpcService;
import io.agentrouter.common.keys.ApiKeys;
import io.agentrouter.dataplane.TestGateway;
import io.agentrouter.proto.dataplane.v1.ConfigRequest;
import io.agentrouter.proto.dataplane.v1.ConfigResponse;
import io.agentrouter.proto.dataplane.v1.DataplaneSnapshot;
import io.agentrouter.proto.dataplane.v1.DataplaneSyncServiceGrpc;
import io.agentrouter.proto.dataplane.v1.HeartbeatRequest;
import io.agentrouter.proto.dataplane.v1.HeartbeatResponse;
import io.agentrouter.proto.dataplane.v1.ProviderCredential;
import io.agentrouter.proto.dataplane.v1.RegisterRequest;
import io.agentrouter.proto.dataplane.v1.RegisterResponse;
import io.agentrouter.proto.dataplane.v1.SnapshotKey;
import io.agentrouter.proto.dataplane.v1.SnapshotKeyStatus;
import io.agentrouter.proto.dataplane.v1.SnapshotModel;
import io.agentrouter.proto.dataplane.v1.SnapshotProject;
import io.agentrouter.proto.dataplane.v1.UsageAck;
import io.agentrouter.proto.dataplane.v1.UsageBatch;
import io.agentrouter.proto.dataplane.v1.UsageRecord;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * Stands in for the control plane's DataplaneSyncService in data-plane tests: one-time tokens,
 * credential checks, a config stream the test publishes to (recording acks and nacks), heartbeats,
 * and a usage stream that acks (or not) and deduplicates by request id, as the real one does.
 */
final class FakeControlPlane implements AutoCloseable {
  static final String TOKEN = "ar-dpreg-test-token";

  private final Server server;
  final Set<String> tokens = ConcurrentHashMap.newKeySet();
  final Set<String> credentials = ConcurrentHashMap.newKeySet();
  final AtomicInteger registrations = new AtomicInteger();
  final List<ConfigRequest> configRequests = new CopyOnWriteArrayList<>();
  final List<HeartbeatRequest> heartbeats = new CopyOnWriteArrayList<>();

  /** Request id to how many times it was delivered. */
  final Map<String, AtomicInteger> usage = new ConcurrentHashMap<>();

  final List<UsageRecord> usageRecords = new CopyOnWriteArrayList<>();
  volatile boolean ackUsage = true;
  private final List<StreamObserver<ConfigResponse>> configStreams = new CopyOnWriteArrayList<>();
  private volatile @Nullable DataplaneSnapshot latest;
  private final AtomicLong nonces = new AtomicLong();

  private FakeControlPlane(int port) {
    tokens.add(TOKEN);
    server =
        Server.builder()
            .http(port)
            .requestTimeout(Duration.ZERO)
            .gracefulShutdownTimeout(Duration.ZERO, Duration.ZERO)
            .service(GrpcService.builder().addService(new Impl()).build())
            .build();
    server.start().join();
  }

  static FakeControlPlane start() {
    return new FakeControlPlane(0);
  }

  /** A control plane on a given port (to come back where a data plane expects it). */
  static FakeControlPlane start(int port) {
    return new FakeControlPlane(port);
  }

  int port() {
    return server.activeLocalPort();
  }

  String url() {
    return "http://127.0.0.1:" + port();
  }

  /** Sends {@code snapshot} to every open config stream, and to streams opened later. */
  void publish(DataplaneSnapshot snapshot) {
    latest = snapshot;
    for (StreamObserver<ConfigResponse> s : configStreams) {
      send(s, snapshot);
    }
  }

  private void send(StreamObserver<ConfigResponse> s, DataplaneSnapshot snapshot) {
    synchronized (s) {
      s.onNext(
          ConfigResponse.newBuilder()
              .setVersion(snapshot.getVersion())
              .setNonce("n" + nonces.incrementAndGet())
              .setSnapshot(snapshot)
              .build());
    }
  }

  /** Acks (no error) of {@code version}. */
  List<ConfigRequest> acks(String version) {
    List<ConfigRequest> out = new ArrayList<>();
    for (ConfigRequest r : configRequests) {
      if (!r.getResponseNonce().isEmpty()
          && !r.hasErrorDetail()
          && r.getVersionInfo().equals(version)) {
        out.add(r);
      }
    }
    return out;
  }

  List<ConfigRequest> nacks() {
    List<ConfigRequest> out = new ArrayList<>();
    for (ConfigRequest r : configRequests) {
      if (r.hasErrorDetail()) {
        out.add(r);
      }
    }
    return out;
  }

  int openConfigStreams() {
    return configStreams.size();
  }

  @Override
  public void close() {
    server.stop().join();
  }

  private boolean authorized() {
    String auth = ServiceRequestContext.current().request().headers().get("authorization");
    return auth != null && auth.startsWith("Bearer ") && credentials.contains(auth.substring(7));
  }

  private final class Impl extends DataplaneSyncServiceGrpc.DataplaneSyncServiceImplBase {
    @Override
    public void register(RegisterRequest req, StreamObserver<RegisterResponse> out) {
      if (!tokens.remove(req.getRegistrationToken())) {
        out.onError(
            Status.UNAUTHENTICATED
                .withDescription("registration token is unknown or already used")
                .asRuntimeException());
        return;
      }
      registrations.incrementAndGet();
      String credential = "ar-dpcred-" + UUID.randomUUID();
      credentials.add(credential);
      out.onNext(
          RegisterResponse.newBuilder()
              .setDataplaneId("dp-managed")
              .setCredential(credential)
              .setRegion("eu")
              .build());
      out.onCompleted();
    }

    @Override
    public void heartbeat(HeartbeatRequest req, StreamObserver<HeartbeatResponse> out) {
      if (!authorized()) {
        out.onError(Status.UNAUTHENTICATED.asRuntimeException());
        return;
      }
      heartbeats.add(req);
      out.onNext(HeartbeatResponse.getDefaultInstance());
      out.onCompleted();
    }

    @Override
    public StreamObserver<ConfigRequest> streamConfig(StreamObserver<ConfigResponse> out) {
      if (!authorized()) {
        out.onError(Status.UNAUTHENTICATED.asRuntimeException());
        return new StreamObserver<>() {
          @Override
          public void onNext(ConfigRequest value) {}

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {}
        };
      }
      configStreams.add(out);
      return new StreamObserver<>() {
        @Override
        public void onNext(ConfigRequest r) {
          configRequests.add(r);
          DataplaneSnapshot s = latest;
          if (r.getResponseNonce().isEmpty()
              && s != null
              && !s.getVersion().equals(r.getVersionInfo())) {
            send(out, s);
          }
        }

        @Override
        public void onError(Throwable t) {
          configStreams.remove(out);
        }

        @Override
        public void onCompleted() {
          configStreams.remove(out);
          out.onCompleted();
        }
      };
    }

    @Override
    public StreamObserver<UsageBatch> streamUsage(StreamObserver<UsageAck> out) {
      if (!authorized()) {
        out.onError(Status.UNAUTHENTICATED.asRuntimeException());
      }
      return new StreamObserver<>() {
        @Override
        public void onNext(UsageBatch b) {
          for (UsageRecord r : b.getRecordsList()) {
            if (usage.computeIfAbsent(r.getRequestId(), k -> new AtomicInteger()).getAndIncrement()
                == 0) {
              usageRecords.add(r);
            }
          }
          if (ackUsage) {
            UsageAck.Builder ack = UsageAck.newBuilder().setBatchId(b.getBatchId());
            b.getRecordsList().forEach(r -> ack.addAckedRequestIds(r.getRequestId()));
            synchronized (out) {
              out.onNext(ack.build());
            }
          }
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          out.onCompleted();
        }
      };
    }
  }

  /** Snapshots for tests: one project, its OpenAI credential at {@code baseUrl}, some keys. */
  static final class Snapshots {
    static final String PROJECT = "11111111-1111-1111-1111-111111111111";
    static final String CUSTOMER = "22222222-2222-2222-2222-222222222222";
    static final String CREDENTIAL = "33333333-3333-3333-3333-333333333333";

    private Snapshots() {}

    static DataplaneSnapshot.Builder base(String version, String baseUrl) {
      return DataplaneSnapshot.newBuilder()
          .setVersion(version)
          .setDataplaneId("dp-managed")
          .setRegion("eu")
          .setApiKeyPepper(ByteString.copyFrom(TestGateway.PEPPER))
          .addProjects(
              SnapshotProject.newBuilder()
                  .setProjectId(PROJECT)
                  .setCustomerId(CUSTOMER)
                  .setRegion("eu"))
          .addProviderCredentials(
              ProviderCredential.newBuilder()
                  .setProviderKeyId(CREDENTIAL)
                  .setProjectId(PROJECT)
                  .setProvider("openai")
                  .setBaseUrl(baseUrl)
                  .setSecret("sk-provider-secret-never-logged"))
          .addModels(
              SnapshotModel.newBuilder()
                  .setModelId("openai/gpt-4o-mini")
                  .setProvider("openai")
                  .setName("gpt-4o-mini")
                  .setInputPerMillionTokensMicros(1_000_000)
                  .setOutputPerMillionTokensMicros(2_000_000)
                  .setChat(true));
    }

    static SnapshotKey.Builder key(String token, SnapshotKeyStatus status) {
      ApiKeys.Parsed p = ApiKeys.parse(token);
      return SnapshotKey.newBuilder()
          .setKeyId(p.keyId().toString())
          .setDigest(ApiKeys.digest(TestGateway.PEPPER, p.secret()))
          .setCustomerId(CUSTOMER)
          .setProjectId(PROJECT)
          .setStatus(status);
    }

    static SnapshotKey.Builder active(String token) {
      return key(token, SnapshotKeyStatus.SNAPSHOT_KEY_STATUS_ACTIVE);
    }
  }
}
