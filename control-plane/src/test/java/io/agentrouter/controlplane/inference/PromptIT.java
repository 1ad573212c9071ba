package io.agentrouter.controlplane.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.client.grpc.GrpcClients;
import com.linecorp.armeria.common.AggregatedHttpRequest;
import com.linecorp.armeria.common.HttpHeaderNames;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.ResponseHeaders;
import com.linecorp.armeria.server.Server;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.SignedJWT;
import io.agentrouter.common.jwt.MpJwt;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.controlplane.testing.ControlPlaneExtension;
import io.agentrouter.controlplane.testing.Rest;
import io.agentrouter.controlplane.testing.Rest.Response;
import io.agentrouter.proto.dataplane.v1.DataplaneSyncServiceGrpc;
import io.agentrouter.proto.dataplane.v1.HeartbeatRequest;
import io.agentrouter.proto.dataplane.v1.RegisterRequest;
import io.agentrouter.proto.dataplane.v1.UsageAck;
import io.agentrouter.proto.dataplane.v1.UsageBatch;
import io.agentrouter.proto.dataplane.v1.UsageRecord;
import io.agentrouter.proto.inference.v1.InferenceIngressServiceGrpc;
import io.agentrouter.proto.inference.v1.PromptRequest;
import io.agentrouter.proto.inference.v1.PromptResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Prompt end to end against a stand-in data plane: a small Armeria server in this test that speaks
 * the data plane's {@code POST /v1/chat/completions}, verifies the MP JWT against the control
 * plane's JWKS, and answers with an OpenAI-shaped completion (or an error, or not yet). The real
 * data plane's end-to-end test belongs in integration-tests.
 */
class PromptIT {
  @RegisterExtension static final ControlPlaneExtension cp = new ControlPlaneExtension();
  static final ObjectMapper JSON = new ObjectMapper();

  static Rest rest;
  static String admin;
  static String customer;
  static String project;
  static String keyId;
  static String keySecret;
  static String budgetProject;
  static String budgetKeyId;
  static String farProject;
  static String dataplaneId;
  static String credential;
  static FakeDataplane fake;

  @BeforeAll
  static void setUp() throws Exception {
    rest = cp.rest();
    admin = cp.adminKey();
    // Created first: the admin's default customer and project.
    customer =
        ok(rest.post("/v1/customers", admin, "{\"name\":\"Prompt Co\"}")).text("customer_id");
    project =
        ok(rest.post(
                projectsPath(customer),
                admin,
                "{\"name\":\"p1\",\"region\":\"eu-west-1\",\"default_model\":\"gpt-4o\"}"))
            .text("project_id");
    Response k = ok(rest.post(keysPath(project), admin, "{\"name\":\"app\"}"));
    keyId = k.json().path("key").path("key_id").asText();
    keySecret = k.text("secret");
    budgetProject =
        ok(rest.post(projectsPath(customer), admin, "{\"name\":\"p2\",\"region\":\"eu-west-1\"}"))
            .text("project_id");
    budgetKeyId =
        ok(rest.post(
                keysPath(budgetProject),
                admin,
                "{\"name\":\"capped\",\"monthly_budget_usd\":\"0.01\"}"))
            .json()
            .path("key")
            .path("key_id")
            .asText();
    farProject =
        ok(rest.post(projectsPath(customer), admin, "{\"name\":\"p3\",\"region\":\"ap-south-1\"}"))
            .text("project_id");
    ok(rest.post(keysPath(farProject), admin, "{\"name\":\"far\"}"));

    fake = new FakeDataplane(JWKSet.parse(rest.get(MpJwt.JWKS_PATH, null).body()));
    Response dp =
        ok(
            rest.post(
                "/v1/dataplanes",
                admin,
                "{\"name\":\"dp-fake\",\"region\":\"eu-west-1\",\"public_url\":\""
                    + fake.baseUrl()
                    + "\"}"));
    dataplaneId = dp.json().path("dataplane").path("dataplane_id").asText();
    fake.dataplaneId = dataplaneId;
    var sync = cp.grpc(DataplaneSyncServiceGrpc.DataplaneSyncServiceBlockingStub.class, null);
    credential =
        sync.register(
                RegisterRequest.newBuilder()
                    .setRegistrationToken(dp.text("registration_token"))
                    .build())
            .getCredential();
    cp.grpc(DataplaneSyncServiceGrpc.DataplaneSyncServiceBlockingStub.class, credential)
        .heartbeat(HeartbeatRequest.getDefaultInstance());
  }

  @AfterAll
  static void stopFake() {
    if (fake != null) {
      fake.server.stop().join();
    }
  }

  @Test
  void defaultsResolveCustomerProjectModelAndKey() {
    int before = fake.calls.get();
    Response r = ok(rest.post("/v1/customers/-/projects/-/prompts", admin, "{\"prompt\":\"hi\"}"));
    assertThat(r.text("completion")).isEqualTo("echo: hi");
    assertThat(r.text("model")).isEqualTo("openai/gpt-4o");
    assertThat(r.text("dataplane_id")).isEqualTo(dataplaneId);
    assertThat(r.text("prompt_tokens")).isEqualTo("12");
    assertThat(r.text("completion_tokens")).isEqualTo("5");
    assertThat(fake.calls.get()).isEqualTo(before + 1);
    // The project default 'gpt-4o' went out as the catalog's provider/model; the key is the
    // project's newest active key, bound into the token.
    assertThat(fake.lastModel.get()).isEqualTo("openai/gpt-4o");
    assertThat(fake.lastJti.get()).isEqualTo(keyId);

    // Explicit ids and key, through a project-bound key as credential.
    Response explicit =
        ok(
            rest.post(
                "/v1/customers/" + customer + "/projects/" + project + "/prompts",
                keySecret,
                "{\"prompt\":\"again\",\"model\":\"anthropic/claude-sonnet-4-5\",\"key_id\":\""
                    + keyId
                    + "\"}"));
    assertThat(explicit.text("completion")).isEqualTo("echo: again");
    assertThat(fake.lastModel.get()).isEqualTo("anthropic/claude-sonnet-4-5");
  }

  @Test
  void theGrpcStubSendsPrompts() {
    var ingress =
        cp.grpc(InferenceIngressServiceGrpc.InferenceIngressServiceBlockingStub.class, admin);
    PromptResponse res =
        ingress.prompt(
            PromptRequest.newBuilder()
                .setCustomerId(customer)
                .setProjectId(project)
                .setModel("gemini-2.5-flash")
                .setPrompt("over grpc")
                .build());
    assertThat(res.getCompletion()).isEqualTo("echo: over grpc");
    assertThat(res.getDataplaneId()).isEqualTo(dataplaneId);
    assertThat(fake.lastModel.get()).isEqualTo("gemini/gemini-2.5-flash");
    assertThatThrownBy(
            () ->
                ingress.prompt(
                    PromptRequest.newBuilder()
                        .setProjectId(project)
                        .setModel("gpt-9")
                        .setPrompt("x")
                        .build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
  }

  @Test
  void unknownModelsNameTheKnownOnes() {
    int before = fake.calls.get();
    Response unknown =
        rest.post(promptPath(project), admin, "{\"prompt\":\"x\",\"model\":\"gpt-9\"}");
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.errorMessage())
        .startsWith("model 'gpt-9' is not in the catalog (known: ")
        .contains("openai/gpt-4o", "anthropic/claude-sonnet-4-5");
    Response qualified =
        rest.post(promptPath(project), admin, "{\"prompt\":\"x\",\"model\":\"openai/nope\"}");
    assertThat(qualified.status()).isEqualTo(404);
    assertThat(qualified.errorMessage()).startsWith("model 'openai/nope' is not in the catalog");
    Response malformed =
        rest.post(promptPath(project), admin, "{\"prompt\":\"x\",\"model\":\"gpt 4o\"}");
    assertThat(malformed.status()).isEqualTo(400);
    assertThat(malformed.errorMessage()).startsWith("model: 'gpt 4o' contains whitespace");
    Response noDefault = rest.post(promptPath(budgetProject), admin, "{\"prompt\":\"x\"}");
    assertThat(noDefault.status()).isEqualTo(422);
    assertThat(noDefault.errorMessage()).startsWith("the project has no default model");
    assertThat(fake.calls.get()).isEqualTo(before);
  }

  @Test
  void anExhaustedKeyBudgetIs429() throws Exception {
    // The data plane reports $0.02 spent by the capped key ($0.01 a month).
    UsageRecord spent =
        UsageRecord.newBuilder()
            .setRequestId("req_budget_1")
            .setCustomerId(customer)
            .setProjectId(budgetProject)
            .setKeyId(budgetKeyId)
            .setModelRequested("openai/gpt-4o")
            .setModelServed("openai/gpt-4o")
            .setStatusCode(200)
            .setCostMicros(20_000)
            .setStartedAt(Fields.timestamp(Instant.now()))
            .build();
    LinkedBlockingQueue<UsageAck> acks = new LinkedBlockingQueue<>();
    var stream =
        GrpcClients.builder("gproto+" + cp.baseUrl())
            .addHeader("authorization", "Bearer " + credential)
            .build(DataplaneSyncServiceGrpc.DataplaneSyncServiceStub.class)
            .streamUsage(
                new StreamObserver<>() {
                  @Override
                  public void onNext(UsageAck value) {
                    acks.add(value);
                  }

                  @Override
                  public void onError(Throwable t) {}

                  @Override
                  public void onCompleted() {}
                });
    stream.onNext(UsageBatch.newBuilder().setBatchId("b").addRecords(spent).build());
    assertThat(acks.poll(30, TimeUnit.SECONDS).getAckedRequestIdsList())
        .containsExactly("req_budget_1");
    stream.onCompleted();

    int before = fake.calls.get();
    Response r =
        rest.post(
            promptPath(budgetProject),
            admin,
            "{\"prompt\":\"x\",\"model\":\"openai/gpt-4o\",\"key_id\":\"" + budgetKeyId + "\"}");
    assertThat(r.status()).as(r.body()).isEqualTo(429);
    assertThat(r.headers().firstValue("retry-after")).isPresent();
    assertThat(r.errorMessage())
        .startsWith(
            "insufficient_quota: key '"
                + budgetKeyId
                + "' has spent $0.02 of its monthly budget of $0.01");
    assertThat(fake.calls.get()).isEqualTo(before);
  }

  @Test
  void noEligibleDataplaneIs503() {
    Response r =
        rest.post(promptPath(farProject), admin, "{\"prompt\":\"x\",\"model\":\"gpt-4o\"}");
    assertThat(r.status()).isEqualTo(503);
    assertThat(r.errorMessage())
        .startsWith(
            "no data plane is eligible for project '" + farProject + "' in regions [ap-south-1]");
  }

  @Test
  void dataplaneErrorsMapToClearStatuses() {
    Response overloaded = rest.post(promptPath(project), admin, "{\"prompt\":\"overloaded\"}");
    assertThat(overloaded.status()).isEqualTo(503);
    assertThat(overloaded.errorMessage())
        .isEqualTo("data plane 'dp-fake' answered 503: upstream overloaded");
    Response limited = rest.post(promptPath(project), admin, "{\"prompt\":\"ratelimited\"}");
    assertThat(limited.status()).isEqualTo(429);
    assertThat(limited.headers().firstValue("retry-after")).hasValue("7");
    assertThat(limited.errorMessage()).contains("Rate limit reached");
    // A failed prompt does not keep its idempotency key: the retry runs.
    Response failed =
        rest.post(
            promptPath(project),
            admin,
            "{\"prompt\":\"overloaded\",\"idempotency_key\":\"fail-1\"}");
    assertThat(failed.status()).isEqualTo(503);
    Response retried =
        rest.post(
            promptPath(project),
            admin,
            "{\"prompt\":\"overloaded\",\"idempotency_key\":\"fail-1\"}");
    assertThat(retried.status()).isEqualTo(503);
  }

  @Test
  void idempotencyKeysReplayRefuseAndSerialize() {
    String body = "{\"prompt\":\"once\",\"idempotency_key\":\"idem-1\"}";
    int before = fake.calls.get();
    Response first = ok(rest.post(promptPath(project), admin, body));
    Response replay = ok(rest.post(promptPath(project), admin, body));
    assertThat(replay.json()).isEqualTo(first.json());
    assertThat(fake.calls.get()).isEqualTo(before + 1);
    // gRPC sees the same stored answer.
    PromptResponse overGrpc =
        cp.grpc(InferenceIngressServiceGrpc.InferenceIngressServiceBlockingStub.class, admin)
            .prompt(
                PromptRequest.newBuilder()
                    .setCustomerId(customer)
                    .setProjectId(project)
                    .setPrompt("once")
                    .setIdempotencyKey("idem-1")
                    .build());
    assertThat(overGrpc.getCompletion()).isEqualTo(first.text("completion"));
    assertThat(fake.calls.get()).isEqualTo(before + 1);

    Response different =
        rest.post(
            promptPath(project),
            admin,
            "{\"prompt\":\"something else\",\"idempotency_key\":\"idem-1\"}");
    assertThat(different.status()).isEqualTo(422);
    assertThat(different.errorMessage())
        .startsWith("idempotency_key 'idem-1' was used for a different prompt");

    // While the first is running: 409; afterwards: its answer.
    fake.hold();
    CompletableFuture<java.net.http.HttpResponse<String>> running =
        sendAsync(promptPath(project), "{\"prompt\":\"slow\",\"idempotency_key\":\"idem-2\"}");
    await().atMost(Duration.ofSeconds(20)).until(() -> fake.held.get() == 1);
    Response conflict =
        rest.post(
            promptPath(project), admin, "{\"prompt\":\"slow\",\"idempotency_key\":\"idem-2\"}");
    assertThat(conflict.status()).isEqualTo(409);
    assertThat(conflict.errorMessage())
        .isEqualTo(
            "a prompt with idempotency_key 'idem-2' is still running (expected a retry after it finishes)");
    fake.release();
    assertThat(running.join().statusCode()).isEqualTo(200);
    assertThat(
            ok(rest.post(
                    promptPath(project),
                    admin,
                    "{\"prompt\":\"slow\",\"idempotency_key\":\"idem-2\"}"))
                .text("completion"))
        .isEqualTo("echo: slow");
  }

  @Test
  void expiredKeysAreReusableAndAbandonedRunsAreTakenOver() throws Exception {
    ok(
        rest.post(
            promptPath(project), admin, "{\"prompt\":\"day one\",\"idempotency_key\":\"idem-3\"}"));
    // 24 hours later (moved in the database rather than waited for): the key is free again.
    sql(
        "update prompt_idempotency set expires_at = now() - interval '1 second' where idempotency_key = 'idem-3'");
    Response reused =
        ok(
            rest.post(
                promptPath(project),
                admin,
                "{\"prompt\":\"day two\",\"idempotency_key\":\"idem-3\"}"));
    assertThat(reused.text("completion")).isEqualTo("echo: day two");

    // A run whose control plane died mid-call leaves a 'running' row; after a while the same
    // request takes the key over instead of answering 409 for a day.
    String principal =
        ok(rest.get("/v1/me", admin)).json().path("principal").path("principal_id").asText();
    String hash = Prompts.hash(principal, keyId, "openai/gpt-4o", "orphan");
    sql(
        "insert into prompt_idempotency (project_id, idempotency_key, request_hash, status,"
            + " created_at, expires_at) values ('"
            + project
            + "', 'idem-4', '"
            + hash
            + "', 'running', now() - interval '1 minute', now() + interval '1 hour')");
    String orphan = "{\"prompt\":\"orphan\",\"idempotency_key\":\"idem-4\"}";
    assertThat(rest.post(promptPath(project), admin, orphan).status()).isEqualTo(409);
    sql(
        "update prompt_idempotency set created_at = now() - interval '10 minutes' where idempotency_key = 'idem-4'");
    int before = fake.calls.get();
    assertThat(ok(rest.post(promptPath(project), admin, orphan)).text("completion"))
        .isEqualTo("echo: orphan");
    assertThat(fake.calls.get()).isEqualTo(before + 1);
  }

  static void sql(String statement) throws Exception {
    try (var c = cp.dataSource().getConnection();
        var s = c.createStatement()) {
      s.execute(statement);
    }
  }

  @Test
  void hundredConcurrentCallsWithOneKeyMakeOneUpstreamCall() {
    fake.hold();
    int before = fake.calls.get();
    String body = "{\"prompt\":\"slow crowd\",\"idempotency_key\":\"crowd\"}";
    List<CompletableFuture<java.net.http.HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      calls.add(sendAsync(promptPath(project), body));
    }
    // Everyone but the winner is told the prompt is running.
    await()
        .atMost(Duration.ofSeconds(60))
        .until(
            () ->
                calls.stream().filter(c -> c.isDone() && c.join().statusCode() == 409).count()
                    == 99);
    fake.release();
    CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).join();
    List<Integer> statuses = calls.stream().map(c -> c.join().statusCode()).toList();
    assertThat(statuses).filteredOn(s -> s == 200).hasSize(1);
    assertThat(statuses).filteredOn(s -> s == 409).hasSize(99);
    assertThat(fake.calls.get()).isEqualTo(before + 1);
  }

  static final HttpClient HTTP = HttpClient.newHttpClient();

  static CompletableFuture<java.net.http.HttpResponse<String>> sendAsync(String path, String body) {
    return HTTP.sendAsync(
        HttpRequest.newBuilder(URI.create(cp.baseUrl() + path))
            .timeout(Duration.ofSeconds(60))
            .header("Authorization", "Bearer " + admin)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
  }

  /** Speaks the data plane's chat completions and checks the MP JWT like the data plane does. */
  static final class FakeDataplane {
    final Server server;
    final JWKSet jwks;
    final AtomicInteger calls = new AtomicInteger();
    final AtomicInteger held = new AtomicInteger();
    final AtomicReference<String> lastModel = new AtomicReference<>("");
    final AtomicReference<String> lastJti = new AtomicReference<>("");
    volatile CompletableFuture<Void> gate = CompletableFuture.completedFuture(null);
    volatile String dataplaneId = "";

    FakeDataplane(JWKSet jwks) {
      this.jwks = jwks;
      server =
          Server.builder()
              .http(0)
              .service(
                  "/v1/chat/completions",
                  (ctx, req) -> HttpResponse.of(req.aggregate().thenCompose(this::handle)))
              .build();
      server.start().join();
    }

    String baseUrl() {
      return "http://127.0.0.1:" + server.activeLocalPort();
    }

    void hold() {
      held.set(0);
      gate = new CompletableFuture<>();
    }

    void release() {
      gate.complete(null);
    }

    private CompletableFuture<HttpResponse> handle(AggregatedHttpRequest req) {
      String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION, "");
      String jti;
      try {
        SignedJWT jwt = SignedJWT.parse(auth.substring("Bearer ".length()));
        var key = jwks.getKeyByKeyId(jwt.getHeader().getKeyID()).toECKey();
        if (!jwt.verify(new ECDSAVerifier(key))
            || !jwt.getJWTClaimsSet().getAudience().contains(MpJwt.AUDIENCE)
            || !dataplaneId.equals(jwt.getJWTClaimsSet().getStringClaim(MpJwt.CLAIM_DATAPLANE_ID))
            || jwt.getJWTClaimsSet().getExpirationTime().toInstant().isBefore(Instant.now())) {
          return error(401, "invalid token", "authentication_error");
        }
        jti = jwt.getJWTClaimsSet().getJWTID();
      } catch (Exception e) {
        return error(401, "invalid token", "authentication_error");
      }
      calls.incrementAndGet();
      JsonNode body;
      try {
        body = JSON.readTree(req.contentUtf8());
      } catch (Exception e) {
        return error(400, "bad json", "invalid_request_error");
      }
      String model = body.path("model").asText();
      String prompt = body.path("messages").path(0).path("content").asText();
      lastModel.set(model);
      lastJti.set(jti);
      if (prompt.equals("overloaded")) {
        return error(503, "upstream overloaded", "server_error");
      }
      if (prompt.equals("ratelimited")) {
        return CompletableFuture.completedFuture(
            HttpResponse.of(
                ResponseHeaders.builder(HttpStatus.TOO_MANY_REQUESTS)
                    .contentType(MediaType.JSON_UTF_8)
                    .set(HttpHeaderNames.RETRY_AFTER, "7")
                    .build(),
                com.linecorp.armeria.common.HttpData.ofUtf8(
                    "{\"error\":{\"message\":\"Rate limit reached for requests\",\"type\":\"rate_limit_error\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}")));
      }
      ObjectNode out = JSON.createObjectNode();
      out.put("id", "chatcmpl-1").put("object", "chat.completion").put("created", 1);
      out.put("model", model.substring(model.indexOf('/') + 1));
      ObjectNode choice = out.putArray("choices").addObject();
      choice.put("index", 0).put("finish_reason", "stop");
      choice.putObject("message").put("role", "assistant").put("content", "echo: " + prompt);
      out.putObject("usage")
          .put("prompt_tokens", 12)
          .put("completion_tokens", 5)
          .put("total_tokens", 17);
      HttpResponse ok =
          HttpResponse.of(
              ResponseHeaders.builder(HttpStatus.OK)
                  .contentType(MediaType.JSON_UTF_8)
                  .set(
                      "x-agentrouter-provider", model.substring(0, Math.max(0, model.indexOf('/'))))
                  .set("x-agentrouter-dataplane", dataplaneId)
                  .build(),
              com.linecorp.armeria.common.HttpData.ofUtf8(out.toString()));
      if (prompt.startsWith("slow")) {
        held.incrementAndGet();
        return gate.thenApply(v -> ok);
      }
      return CompletableFuture.completedFuture(ok);
    }

    private static CompletableFuture<HttpResponse> error(int status, String message, String type) {
      return CompletableFuture.completedFuture(
          HttpResponse.of(
              HttpStatus.valueOf(status),
              MediaType.JSON_UTF_8,
              "{\"error\":{\"message\":\""
                  + message
                  + "\",\"type\":\""
                  + type
                  + "\",\"param\":null,\"code\":null}}"));
    }
  }

  static String projectsPath(String c) {
    return "/v1/customers/" + c + "/projects";
  }

  static String keysPath(String p) {
    return "/v1/customers/" + customer + "/projects/" + p + "/keys";
  }

  static String promptPath(String p) {
    return "/v1/customers/" + customer + "/projects/" + p + "/prompts";
  }

  static Response ok(Response r) {
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r;
  }
}
