package io.agentrouter.controlplane.testing;

import static java.util.Objects.requireNonNull;

import com.linecorp.armeria.client.grpc.GrpcClients;
import io.agentrouter.controlplane.ControlPlane;
import io.agentrouter.controlplane.config.ControlPlaneConfig;
import io.agentrouter.proto.dataplane.v1.DataplaneSyncServiceGrpc;
import io.agentrouter.proto.dataplane.v1.HeartbeatRequest;
import io.agentrouter.proto.dataplane.v1.RegisterRequest;
import io.grpc.stub.AbstractStub;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real control plane for one test class: a fresh database ({@link TestDatabase}), a fresh data
 * directory, and the server started through {@link ControlPlane#start} (the same composition root
 * as {@code Main}) on a free port. Register it as a {@code static} {@code @RegisterExtension}.
 */
public final class ControlPlaneExtension implements BeforeAllCallback, AfterAllCallback {
  private final Supplier<List<URI>> oidcIssuers;
  private @Nullable TestDatabase database;
  private @Nullable Path dataDir;
  private @Nullable ControlPlane controlPlane;
  private final ByteArrayOutputStream banner = new ByteArrayOutputStream();

  public ControlPlaneExtension() {
    this(List::of);
  }

  /** With OIDC issuers known only once other fixtures have started. */
  public ControlPlaneExtension(Supplier<List<URI>> oidcIssuers) {
    this.oidcIssuers = requireNonNull(oidcIssuers, "oidcIssuers");
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    database = TestDatabase.create();
    dataDir = Files.createTempDirectory("agentrouter-cp-test");
    start();
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    stop();
    if (database != null) {
      database.close();
    }
    if (dataDir != null) {
      try (Stream<Path> files = Files.walk(dataDir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private void start() throws Exception {
    ControlPlaneConfig config =
        new ControlPlaneConfig(
            0,
            requireNonNull(dataDir),
            requireNonNull(database).jdbcUrl(),
            null,
            null,
            null,
            oidcIssuers.get(),
            null,
            ControlPlaneConfig.DEFAULT_JWT_ISSUER);
    controlPlane =
        ControlPlane.start(config, new PrintStream(banner, true, StandardCharsets.UTF_8));
  }

  /** Stops the server and starts it again on the same database and data directory. */
  public void restart() throws Exception {
    stop();
    start();
  }

  public void stop() {
    if (controlPlane != null) {
      controlPlane.close();
      controlPlane = null;
    }
  }

  public ControlPlane controlPlane() {
    return requireNonNull(controlPlane, "control plane not running");
  }

  public String baseUrl() {
    return controlPlane().baseUrl();
  }

  public Rest rest() {
    return new Rest(baseUrl());
  }

  /** The bootstrap operator key, as written to data-dir/admin.key. */
  public String adminKey() {
    try {
      return Files.readString(requireNonNull(dataDir).resolve("admin.key")).strip();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  public Path dataDir() {
    return requireNonNull(dataDir);
  }

  /** What the server printed (the one-time bootstrap banner). */
  public String banner() {
    return banner.toString(StandardCharsets.UTF_8);
  }

  public DataSource dataSource() {
    return controlPlane().dataSource();
  }

  public String jdbcUrl() {
    return requireNonNull(database).jdbcUrl();
  }

  /**
   * Plays a data plane that just came up: exchanges its one-time registration token for a
   * credential and sends one heartbeat, so the registry counts it as healthy. Returns the
   * credential.
   */
  public String activateAndHeartbeat(String registrationToken) {
    String credential =
        grpc(DataplaneSyncServiceGrpc.DataplaneSyncServiceBlockingStub.class, null)
            .register(RegisterRequest.newBuilder().setRegistrationToken(registrationToken).build())
            .getCredential();
    grpc(DataplaneSyncServiceGrpc.DataplaneSyncServiceBlockingStub.class, credential)
        .heartbeat(HeartbeatRequest.getDefaultInstance());
    return credential;
  }

  /** A generated gRPC blocking stub that presents {@code token} as a bearer credential. */
  public <T extends AbstractStub<T>> T grpc(Class<T> stubType, @Nullable String token) {
    var b = GrpcClients.builder("gproto+" + baseUrl());
    if (token != null) {
      b.addHeader("authorization", "Bearer " + token);
    }
    return b.build(stubType);
  }
}
