package io.agentrouter.it;

import static io.agentrouter.it.Planes.log;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.linecorp.armeria.client.grpc.GrpcClients;
import io.agentrouter.controlplane.testing.Rest;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import io.agentrouter.proto.inference.v1.InferenceIngressServiceGrpc;
import io.agentrouter.proto.inference.v1.PromptRequest;
import io.agentrouter.proto.inference.v1.PromptResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Prompt through a real data plane: the control plane resolves the model, picks a healthy data
 * plane of the project's region, mints an MP JWT for the key and calls it; over REST and over the
 * generated gRPC stub, with the idempotency cases.
 */
@ExtendWith(SecretWatch.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PromptEndToEndIT {
  private Planes planes;
  private FakeOpenAi openAi;
  private Planes.Tenant tenant;
  private Set<String> dataplaneIds;
  private InferenceIngressServiceGrpc.InferenceIngressServiceBlockingStub grpc;

  @BeforeAll
  void start() throws Exception {
    planes = Planes.start();
    openAi = FakeOpenAi.start();
    tenant = planes.tenant("initech", openAi.baseUrl(), "smart", "openai/gpt-4o-mini");
    Planes.Registration reg1 = planes.register("dp-eu-1");
    Planes.Registration reg2 = planes.register("dp-eu-2");
    ManagedDataPlane dp1 = planes.startDataPlane(reg1, planes.newDir("dp1"), reg1.token());
    ManagedDataPlane dp2 = planes.startDataPlane(reg2, planes.newDir("dp2"), reg2.token());
    dataplaneIds = Set.of(reg1.id(), reg2.id());
    Planes.Key key = planes.createKey(tenant, "prompts", null);
    // Prompt mints a token for the project's newest key: wait until both data planes know it and
    // both have reported a heartbeat.
    await("key on both data planes, both healthy")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () ->
                dp1.dataPlane.config().current() != null
                    && dp2.dataPlane.config().current() != null
                    && dp1.dataPlane.config().current().key(java.util.UUID.fromString(key.id()))
                        != null
                    && dp2.dataPlane.config().current().key(java.util.UUID.fromString(key.id()))
                        != null
                    && planes.dataplane(reg1.id()).path("healthy").asBoolean()
                    && planes.dataplane(reg2.id()).path("healthy").asBoolean());
    grpc =
        GrpcClients.builder("gproto+" + planes.controlPlaneUrl())
            .addHeader("authorization", "Bearer " + planes.adminKey())
            .responseTimeout(Duration.ofSeconds(60))
            .build(InferenceIngressServiceGrpc.InferenceIngressServiceBlockingStub.class);
  }

  @AfterAll
  void stop() throws Exception {
    if (planes != null) {
      planes.close();
    }
    if (openAi != null) {
      openAi.close();
    }
  }

  @Test
  void promptOverRestAndOverGrpcThroughARealDataPlane() {
    int calls = openAi.received().size();
    long t0 = System.nanoTime();
    Rest.Response rest =
        planes
            .rest()
            .post(
                tenant.path() + "/prompts",
                planes.adminKey(),
                Rest.json(Map.of("prompt", "Say hello", "model", "openai/gpt-4o-mini")));
    long restMs = (System.nanoTime() - t0) / 1_000_000;
    assertThat(rest.status()).as(rest.body()).isEqualTo(200);
    assertThat(rest.text("completion")).isEqualTo("Hello from the fake");
    assertThat(rest.text("model")).isEqualTo("openai/gpt-4o-mini");
    assertThat(dataplaneIds).contains(rest.text("dataplane_id"));
    assertThat(rest.json().path("prompt_tokens").asLong()).isEqualTo(10);
    assertThat(rest.json().path("completion_tokens").asLong()).isEqualTo(4);

    t0 = System.nanoTime();
    PromptResponse viaGrpc =
        grpc.prompt(
            PromptRequest.newBuilder()
                .setCustomerId(tenant.customerId())
                .setProjectId(tenant.projectId())
                .setModel("smart")
                .setPrompt("Say hello")
                .build());
    long grpcMs = (System.nanoTime() - t0) / 1_000_000;
    assertThat(viaGrpc.getCompletion()).isEqualTo("Hello from the fake");
    assertThat(viaGrpc.getModel()).isEqualTo("openai/gpt-4o-mini");
    assertThat(dataplaneIds).contains(viaGrpc.getDataplaneId());
    assertThat(viaGrpc.getPromptTokens()).isEqualTo(10);
    assertThat(viaGrpc.getCompletionTokens()).isEqualTo(4);
    // The data plane called the provider with the project's own credential.
    assertThat(openAi.received()).hasSize(calls + 2);
    assertThat(openAi.received())
        .allSatisfy(
            r ->
                assertThat(r.headers().get("authorization"))
                    .isEqualTo("Bearer sk-upstream-initech"));
    log.info(
        "it: Prompt over REST {} ms (dataplane {}), over gRPC {} ms (model '{}', dataplane {})",
        restMs,
        rest.text("dataplane_id"),
        grpcMs,
        viaGrpc.getModel(),
        viaGrpc.getDataplaneId());
  }

  @Test
  void theAgentrouterCliPromptsThroughARealDataPlane() throws Exception {
    // The launcher script and the shaded jar, as a user runs them; credentials from the env.
    Path launcher = Path.of("..", "sdk-java", "bin", "agentrouter").toAbsolutePath().normalize();
    Path jar =
        Path.of("..", "sdk-java", "target", "agentrouter-cli.jar").toAbsolutePath().normalize();
    assertThat(jar).as("built by the sdk-java module before this one").exists();
    ProcessBuilder pb =
        new ProcessBuilder(
            launcher.toString(),
            "api",
            "prompt",
            "Say hello",
            "--customer",
            tenant.customerId(),
            "--project",
            tenant.projectId(),
            "--model",
            "smart",
            "-o",
            "json");
    pb.environment().put("AGENTROUTER_BASE_URL", planes.controlPlaneUrl());
    pb.environment().put("AGENTROUTER_API_KEY", planes.adminKey());
    pb.environment().put("AGENTROUTER_CLI_JAR", jar.toString());
    pb.environment()
        .put("AGENTROUTER_JAVA", ProcessHandle.current().info().command().orElseThrow());
    pb.environment().put("XDG_CONFIG_HOME", planes.newDir("cli-config").toString());
    Path out = planes.newDir("cli-out").resolve("stdout.json");
    Path err = out.resolveSibling("stderr.txt");
    pb.redirectOutput(out.toFile()).redirectError(err.toFile());
    Process p = pb.start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("the CLI finished within 60 s").isTrue();
    assertThat(p.exitValue()).as(Files.readString(err)).isZero();
    JsonNode r = new ObjectMapper().readTree(Files.readString(out));
    assertThat(r.path("completion").asText()).isEqualTo("Hello from the fake");
    assertThat(r.path("model").asText()).isEqualTo("openai/gpt-4o-mini");
    assertThat(dataplaneIds).contains(r.path("dataplane_id").asText());
    assertThat(r.path("prompt_tokens").asLong()).isEqualTo(10);
    assertThat(Files.readString(err)).doesNotContain(planes.adminKey());
  }

  @Test
  void idempotencyKeys() throws Exception {
    PromptRequest first = prompt("Summarise the weather", "idem-1");
    PromptResponse a = grpc.prompt(first);
    int calls = openAi.received().size();

    // The same request again: the stored answer, without another upstream call.
    PromptResponse again = grpc.prompt(first);
    assertThat(again).isEqualTo(a);
    Rest.Response overRest =
        planes
            .rest()
            .post(
                tenant.path() + "/prompts",
                planes.adminKey(),
                Rest.json(
                    Map.of(
                        "prompt", "Summarise the weather",
                        "model", "smart",
                        "idempotency_key", "idem-1")));
    assertThat(overRest.status()).as(overRest.body()).isEqualTo(200);
    assertThat(overRest.text("dataplane_id")).isEqualTo(a.getDataplaneId());
    assertThat(openAi.received()).hasSize(calls);

    // A different request under the same key: 422.
    Rest.Response different =
        planes
            .rest()
            .post(
                tenant.path() + "/prompts",
                planes.adminKey(),
                Rest.json(
                    Map.of(
                        "prompt", "Something else",
                        "model", "smart",
                        "idempotency_key", "idem-1")));
    assertThat(different.status()).as(different.body()).isEqualTo(422);
    assertThatThrownBy(() -> grpc.prompt(prompt("Something else", "idem-1")))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));

    // While the first is still running (the provider is slow): 409.
    openAi.enqueue(FakeOpenAi.Fault.delay(Duration.ofSeconds(3)));
    int before = openAi.received().size();
    CompletableFuture<PromptResponse> slow =
        CompletableFuture.supplyAsync(() -> grpc.prompt(prompt("A slow one", "idem-2")));
    await().atMost(Duration.ofSeconds(60)).until(() -> openAi.received().size() > before);
    Rest.Response running =
        planes
            .rest()
            .post(
                tenant.path() + "/prompts",
                planes.adminKey(),
                Rest.json(
                    Map.of("prompt", "A slow one", "model", "smart", "idempotency_key", "idem-2")));
    assertThat(running.status()).as(running.body()).isEqualTo(409);
    PromptResponse finished = slow.get();
    assertThat(grpc.prompt(prompt("A slow one", "idem-2"))).isEqualTo(finished);
    log.info(
        "it: Prompt idempotency: same -> stored answer (no upstream call), different -> {},"
            + " running -> {}",
        different.status(),
        running.status());
  }

  private PromptRequest prompt(String text, String idempotencyKey) {
    return PromptRequest.newBuilder()
        .setCustomerId(tenant.customerId())
        .setProjectId(tenant.projectId())
        .setModel("smart")
        .setPrompt(text)
        .setIdempotencyKey(idempotencyKey)
        .build();
  }
}
