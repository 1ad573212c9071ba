package io.agentrouter.controlplane;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.agentrouter.common.jwt.MpJwt;
import io.agentrouter.controlplane.testing.ControlPlaneExtension;
import io.agentrouter.controlplane.testing.Rest;
import io.agentrouter.controlplane.testing.Rest.Response;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import java.nio.file.Files;
import java.nio.file.attribute.PosixFilePermission;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Bootstrap on an empty database, and a restart that keeps every row. */
class RestartIT {
  @RegisterExtension static final ControlPlaneExtension cp = new ControlPlaneExtension();

  @Test
  void bootstrapsOnceAndARestartKeepsEverything() throws Exception {
    String admin = cp.adminKey();
    assertThat(admin).startsWith("sk-ar-");
    assertThat(cp.banner()).contains(admin);
    assertThat(Files.getPosixFilePermissions(cp.dataDir().resolve("admin.key")))
        .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
    assertThat(Files.getPosixFilePermissions(cp.dataDir().resolve("master.key")))
        .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);

    Rest rest = cp.rest();
    JsonNode me = ok(rest.get("/v1/me", admin)).json();
    assertThat(me.path("principal").path("platform_role").asText())
        .isEqualTo("PLATFORM_ROLE_OPERATOR");
    String customer =
        ok(rest.post("/v1/customers", admin, "{\"name\":\"Durable\"}")).text("customer_id");
    String project =
        ok(rest.post(
                "/v1/customers/" + customer + "/projects",
                admin,
                "{\"name\":\"p\",\"region\":\"eu-west-1\"}"))
            .text("project_id");
    Response key =
        ok(
            rest.post(
                "/v1/customers/" + customer + "/projects/" + project + "/keys",
                admin,
                "{\"name\":\"k\"}"));
    String secret = key.text("secret");
    String jwksBefore = ok(rest.get(MpJwt.JWKS_PATH, null)).body();
    String token = ok(rest.post("/v1/tokens", secret, "{}")).text("token");

    int oldPort = cp.controlPlane().port();
    cp.restart();
    assertThat(cp.controlPlane().bootstrapKey()).isNull();
    assertThat(cp.adminKey()).isEqualTo(admin);
    Rest after = cp.rest();
    assertThat(ok(after.get("/v1/customers/" + customer, admin)).text("name")).isEqualTo("Durable");
    assertThat(
            ok(after.get("/v1/customers/" + customer + "/projects/" + project, secret))
                .text("region"))
        .isEqualTo("eu-west-1");
    assertThat(ok(after.get("/v1/me", secret)).json().path("default_customer_id").asText())
        .isEqualTo(customer);
    // Same signing keys (decrypted with the same master key): tokens minted before still verify.
    assertThat(ok(after.get(MpJwt.JWKS_PATH, null)).body()).isEqualTo(jwksBefore);
    assertThat(token).isNotEmpty();
    assertThat(oldPort).isPositive();
  }

  @Test
  void grpcReflectionListsTheServices() throws Exception {
    ServerReflectionGrpc.ServerReflectionStub stub =
        cp.grpc(ServerReflectionGrpc.ServerReflectionStub.class, null);
    CompletableFuture<ServerReflectionResponse> first = new CompletableFuture<>();
    StreamObserver<ServerReflectionRequest> req =
        stub.serverReflectionInfo(
            new StreamObserver<>() {
              @Override
              public void onNext(ServerReflectionResponse value) {
                first.complete(value);
              }

              @Override
              public void onError(Throwable t) {
                first.completeExceptionally(t);
              }

              @Override
              public void onCompleted() {}
            });
    req.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
    ServerReflectionResponse resp = first.get(10, TimeUnit.SECONDS);
    req.onCompleted();
    List<String> names =
        resp.getListServicesResponse().getServiceList().stream().map(s -> s.getName()).toList();
    assertThat(names)
        .contains(
            "agentrouter.inference.v1.InferenceIngressService",
            "agentrouter.admin.v1.KeyService",
            "agentrouter.dataplane.v1.DataplaneSyncService");
    assertThat(Set.copyOf(names)).hasSizeGreaterThanOrEqualTo(12);
  }

  static Response ok(Response r) {
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r;
  }
}
