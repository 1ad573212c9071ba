package io.agentrouter.dataplane.sync;

import static java.util.Objects.requireNonNull;

import com.linecorp.armeria.client.ClientFactory;
import com.linecorp.armeria.client.grpc.GrpcClients;
import com.linecorp.armeria.client.retry.Backoff;
import io.agentrouter.proto.dataplane.v1.DataplaneSyncServiceGrpc;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The connection to the control plane: which replica is current (the next one is tried after a
 * failure), the credential every call but Register presents, and the backoff between attempts.
 * Stubs are cheap views over one shared {@link ClientFactory}.
 */
final class ControlPlaneLink {
  private static final Logger log = LoggerFactory.getLogger(ControlPlaneLink.class);

  private final List<String> urls;
  private final ClientFactory factory;
  private final Backoff backoff = Backoff.exponential(200, 10_000).withJitter(0.2);
  private final AtomicInteger current = new AtomicInteger();
  private volatile @Nullable String credential;

  ControlPlaneLink(List<String> urls, ClientFactory factory) {
    this.urls = List.copyOf(urls);
    this.factory = requireNonNull(factory, "factory");
  }

  /** The replica calls go to now. */
  String url() {
    return urls.get(Math.floorMod(current.get(), urls.size()));
  }

  /** Moves to the next replica after {@code url} failed (no-op if another caller already did). */
  void failed(String url, Throwable cause) {
    if (urls.size() > 1 && url.equals(url())) {
      current.incrementAndGet();
      log.warn("control plane {} failed ({}); trying {} next", url, describe(cause), url());
    }
  }

  /** Milliseconds to wait before attempt {@code attempt} (1 = first retry). */
  long delayMillis(int attempt) {
    long d = backoff.nextDelayMillis(Math.max(1, attempt));
    return d < 0 ? 10_000 : d;
  }

  void credential(String credential) {
    this.credential = requireNonNull(credential, "credential");
  }

  @Nullable String credential() {
    return credential;
  }

  /** An unauthenticated stub, for Register only. */
  DataplaneSyncServiceGrpc.DataplaneSyncServiceBlockingStub registration(String url) {
    return GrpcClients.builder(url)
        .factory(factory)
        .responseTimeoutMillis(10_000)
        .build(DataplaneSyncServiceGrpc.DataplaneSyncServiceBlockingStub.class);
  }

  /** A stub presenting the credential; streams have no response timeout. */
  DataplaneSyncServiceGrpc.DataplaneSyncServiceStub stub(String url) {
    String c = requireNonNull(credential, "credential (expected: registered first)");
    return GrpcClients.builder(url)
        .factory(factory)
        .responseTimeoutMillis(0)
        .maxResponseLength(0)
        .addHeader("authorization", "Bearer " + c)
        .build(DataplaneSyncServiceGrpc.DataplaneSyncServiceStub.class);
  }

  /** A failure, for logs: its gRPC status or class, never a credential. */
  static String describe(Throwable t) {
    io.grpc.Status s = io.grpc.Status.fromThrowable(t);
    if (s.getCode() != io.grpc.Status.Code.UNKNOWN || s.getDescription() != null) {
      return s.getCode() + (s.getDescription() == null ? "" : ": " + s.getDescription());
    }
    return t.getClass().getSimpleName();
  }
}
