package io.agentrouter.it;

import static io.agentrouter.it.Planes.log;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.rpc.Status;
import com.linecorp.armeria.client.grpc.GrpcClients;
import com.openai.client.OpenAIClient;
import com.openai.errors.OpenAIServiceException;
import com.openai.models.ChatModel;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import io.agentrouter.controlplane.testing.Rest;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import io.agentrouter.proto.dataplane.v1.ConfigRequest;
import io.agentrouter.proto.dataplane.v1.ConfigResponse;
import io.agentrouter.proto.dataplane.v1.DataplaneSyncServiceGrpc;
import io.agentrouter.proto.dataplane.v1.RegisterRequest;
import io.agentrouter.proto.dataplane.v1.RegisterResponse;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A control plane and two data planes in managed mode: keys created and revoked over REST reach
 * both data planes within 5 s; a budget runs out on a data plane; registration refuses wrong and
 * reused tokens; a nacked snapshot is visible to operators.
 */
@ExtendWith(SecretWatch.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ManagedModeIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final long SYNC_BOUND_MS = 5_000;

  private Planes planes;
  private FakeOpenAi openAi;
  private Planes.Tenant tenant;
  private Planes.Registration reg1;
  private Planes.Registration reg2;
  private ManagedDataPlane dp1;
  private ManagedDataPlane dp2;
  private Planes.Key key;

  @BeforeAll
  void start() throws Exception {
    planes = Planes.start();
    openAi = FakeOpenAi.start();
    tenant = planes.tenant("acme", openAi.baseUrl(), "smart", "openai/gpt-4o-mini");
    reg1 = planes.register("dp-eu-1");
    reg2 = planes.register("dp-eu-2");
    dp1 = planes.startDataPlane(reg1, planes.newDir("dp1"), reg1.token());
    dp2 = planes.startDataPlane(reg2, planes.newDir("dp2"), reg2.token());
    await("both data planes serve a snapshot")
        .atMost(Duration.ofSeconds(60))
        .until(() -> dp1.configVersion() != null && dp2.configVersion() != null);
    // Load the SDK's classes now, so the measured latencies are the sync's, not class loading.
    Planes.Key unknown = new Planes.Key("00000000-0000-0000-0000-000000000000", "sk-ar-unknown");
    for (ManagedDataPlane dp : List.of(dp1, dp2)) {
      assertThat(sdkStatus(dp.openAi(unknown.secret()))).isEqualTo(401);
    }
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
  @Order(1)
  void aKeyCreatedOverRestWorksOnBothDataPlanesWithinFiveSeconds() {
    key = planes.createKey(tenant, "backend", null);
    long created = System.nanoTime();
    Map<String, Long> latency = untilBoth(clients(key.secret()), created, 200);
    log.info(
        "it: key created over REST -> first 200 through the OpenAI SDK: dp-eu-1 {} ms, dp-eu-2 {}"
            + " ms (bound {} ms)",
        latency.get("dp-eu-1"),
        latency.get("dp-eu-2"),
        SYNC_BOUND_MS);
    assertThat(latency.values())
        .allSatisfy(ms -> assertThat(ms).isLessThanOrEqualTo(SYNC_BOUND_MS));

    // The answer is the fake provider's, through the route, on both planes.
    for (ManagedDataPlane dp : List.of(dp1, dp2)) {
      ChatCompletion c = chat(dp.openAi(key.secret()), "smart", null);
      assertThat(c.choices().get(0).message().content()).contains("Hello from the fake");
      assertThat(c.usage().orElseThrow().promptTokens()).isEqualTo(10);
    }
    assertThat(openAi.received())
        .allSatisfy(
            r -> assertThat(r.headers().get("authorization")).isEqualTo("Bearer sk-upstream-acme"));
  }

  @Test
  @Order(2)
  void aKeyRevokedOverRestGets401OnBothDataPlanesWithinFiveSeconds() {
    Map<String, OpenAIClient> clients = clients(key.secret());
    planes.revokeKey(tenant, key);
    Map<String, Long> latency = untilBoth(clients, System.nanoTime(), 401);
    log.info(
        "it: key revoked over REST -> first 401: dp-eu-1 {} ms, dp-eu-2 {} ms (bound {} ms)",
        latency.get("dp-eu-1"),
        latency.get("dp-eu-2"),
        SYNC_BOUND_MS);
    assertThat(latency.values())
        .allSatisfy(ms -> assertThat(ms).isLessThanOrEqualTo(SYNC_BOUND_MS));
  }

  @Test
  @Order(3)
  void aBudgetThatRunsOutGets429InsufficientQuota() throws Exception {
    // 200 completion tokens of gpt-4o-mini ($0.60 per million) cost about $0.00012 a request; a
    // $0.0005 budget admits a few, then the reservation no longer fits.
    openAi.reply("word ".repeat(199) + "end");
    try {
      Planes.Key budgeted = planes.createKey(tenant, "budgeted", "0.0005");
      int[] ok = {0};
      HttpResponse<String>[] refused = newResponseHolder();
      // Until the key reaches dp-eu-1 it gets 401; then 200s until the budget no longer fits.
      await("429 on dp-eu-1")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(25))
          .until(
              () -> {
                HttpResponse<String> r = rawChat(dp1, budgeted.secret(), 100);
                if (r.statusCode() == 200) {
                  ok[0]++;
                } else if (r.statusCode() != 401) {
                  refused[0] = r;
                }
                return refused[0] != null || ok[0] > 40;
              });
      log.info("it: budget $0.0005 on dp-eu-1: {} requests served before the 429", ok[0]);
      assertThat(ok[0]).isPositive();
      assertThat(refused[0]).as("a refusal within 40 served requests").isNotNull();
      assertThat(refused[0].statusCode()).as(refused[0].body()).isEqualTo(429);
      JsonNode error = JSON.readTree(refused[0].body()).path("error");
      assertThat(error.path("code").asText()).isEqualTo("insufficient_quota");
      assertThat(error.path("type").asText()).isEqualTo("insufficient_quota");
    } finally {
      openAi.reply("Hello from the fake");
    }
  }

  @Test
  @Order(3)
  void aProjectBudgetCapsAllItsKeysTogetherAndLiftsWhenRemoved() throws Exception {
    // Two keys without budgets of their own share the project's $0.0005 a month.
    openAi.reply("word ".repeat(199) + "end");
    try {
      Planes.Tenant shop = planes.tenant("shop", openAi.baseUrl(), "smart", "openai/gpt-4o-mini");
      Rest.Response capped =
          planes
              .rest()
              .send(
                  "PATCH",
                  shop.path(),
                  planes.adminKey(),
                  Rest.json(Map.of("monthly_budget_usd", "0.0005")));
      assertThat(capped.status()).as(capped.body()).isEqualTo(200);
      assertThat(capped.text("monthly_budget_usd")).isEqualTo("0.0005");
      assertThat(planes.rest().get(shop.path(), planes.adminKey()).text("monthly_budget_usd"))
          .isEqualTo("0.0005");
      List<Planes.Key> keys =
          List.of(planes.createKey(shop, "a", null), planes.createKey(shop, "b", null));
      int[] ok = {0};
      int[] turn = {0};
      HttpResponse<String>[] refused = newResponseHolder();
      await("429 for the project on dp-eu-1")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(25))
          .until(
              () -> {
                HttpResponse<String> r = rawChat(dp1, keys.get(turn[0]++ % 2).secret(), 100);
                if (r.statusCode() == 200) {
                  ok[0]++;
                } else if (r.statusCode() != 401) {
                  refused[0] = r;
                }
                return refused[0] != null || ok[0] > 40;
              });
      log.info("it: project budget $0.0005: {} requests over two keys before the 429", ok[0]);
      assertThat(ok[0]).isPositive();
      assertThat(refused[0]).as("a refusal within 40 served requests").isNotNull();
      assertThat(refused[0].statusCode()).as(refused[0].body()).isEqualTo(429);
      JsonNode error = JSON.readTree(refused[0].body()).path("error");
      assertThat(error.path("code").asText()).isEqualTo("insufficient_quota");
      assertThat(error.path("message").asText()).contains("project");

      // Removing the cap ("" clears it) reaches the data plane and both keys work again.
      Rest.Response lifted =
          planes
              .rest()
              .send(
                  "PATCH",
                  shop.path(),
                  planes.adminKey(),
                  Rest.json(Map.of("monthly_budget_usd", "")));
      assertThat(lifted.status()).as(lifted.body()).isEqualTo(200);
      assertThat(lifted.json().path("monthly_budget_usd").asText()).isEmpty();
      await("the cap lifted on dp-eu-1")
          .atMost(Duration.ofSeconds(SYNC_BOUND_MS / 1000))
          .pollInterval(Duration.ofMillis(50))
          .until(() -> rawChat(dp1, keys.get(0).secret(), 100).statusCode() == 200);
      assertThat(rawChat(dp1, keys.get(1).secret(), 100).statusCode()).isEqualTo(200);

      Rest.Response negative =
          planes
              .rest()
              .send(
                  "PATCH",
                  shop.path(),
                  planes.adminKey(),
                  Rest.json(Map.of("monthly_budget_usd", "-3")));
      assertThat(negative.status()).isEqualTo(400);
      assertThat(negative.body()).contains("monthly_budget_usd");
    } finally {
      openAi.reply("Hello from the fake");
    }
  }

  @Test
  @Order(4)
  void aWrongOrReusedRegistrationTokenIsRefusedAndNothingIsRegistered() {
    int before =
        planes.rest().get("/v1/dataplanes", planes.adminKey()).json().path("dataplanes").size();
    var stub = syncStub(null);
    for (String token : List.of("ar-dpreg-not-a-token", reg1.token(), "garbage")) {
      assertThatThrownBy(
              () -> stub.register(RegisterRequest.newBuilder().setRegistrationToken(token).build()))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e ->
                  assertThat(e.getStatus().getCode())
                      .isEqualTo(io.grpc.Status.Code.UNAUTHENTICATED));
    }
    // A data plane started with the used token stops with a clear message and serves nothing.
    ManagedDataPlane reused =
        ManagedDataPlane.start(planes.controlPlaneUrl(), planes.newDir("reused"), reg1.token(), 0);
    try {
      await().atMost(Duration.ofSeconds(30)).until(() -> !reused.fatal.isEmpty());
      assertThat(reused.fatal.get(0)).contains("refused the registration token");
      assertThat(reused.configVersion()).isNull();
    } finally {
      reused.close();
    }
    int after =
        planes.rest().get("/v1/dataplanes", planes.adminKey()).json().path("dataplanes").size();
    assertThat(after).isEqualTo(before);
    log.info(
        "it: wrong, reused and malformed registration tokens refused; data planes still {}", after);
  }

  @Test
  @Order(5)
  void aNackedSnapshotIsVisibleToOperators() throws Exception {
    Planes.Registration reg = planes.register("dp-eu-nack");
    RegisterResponse registered =
        syncStub(null)
            .register(RegisterRequest.newBuilder().setRegistrationToken(reg.token()).build());
    LinkedBlockingQueue<ConfigResponse> responses = new LinkedBlockingQueue<>();
    StreamObserver<ConfigRequest> out =
        DataplaneSyncServiceGrpc.newStub(
                GrpcClients.builder("gproto+" + planes.controlPlaneUrl())
                    .addHeader("authorization", "Bearer " + registered.getCredential())
                    .build(DataplaneSyncServiceGrpc.DataplaneSyncServiceBlockingStub.class)
                    .getChannel())
            .streamConfig(
                new StreamObserver<>() {
                  @Override
                  public void onNext(ConfigResponse r) {
                    responses.add(r);
                  }

                  @Override
                  public void onError(Throwable t) {}

                  @Override
                  public void onCompleted() {}
                });
    out.onNext(ConfigRequest.getDefaultInstance());
    ConfigResponse first = responses.poll(60, TimeUnit.SECONDS);
    assertThat(first).isNotNull();
    out.onNext(
        ConfigRequest.newBuilder()
            .setResponseNonce(first.getNonce())
            .setErrorDetail(
                Status.newBuilder()
                    .setCode(3)
                    .setMessage(
                        "route 'smart' targets 'openai/gpt-9', which is not in the catalog"))
            .build());
    await("the nack reaches the operator API")
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                planes
                    .dataplane(reg.id())
                    .path("last_nack_version")
                    .asText()
                    .equals(first.getVersion()));
    JsonNode dp = planes.dataplane(reg.id());
    assertThat(dp.path("last_nack_error").asText()).contains("openai/gpt-9");
    log.info(
        "it: nack of version {} visible over REST: last_nack_error='{}'",
        first.getVersion(),
        dp.path("last_nack_error").asText());
    out.onCompleted();
  }

  @SuppressWarnings("unchecked")
  private static HttpResponse<String>[] newResponseHolder() {
    return (HttpResponse<String>[]) new HttpResponse<?>[1];
  }

  private DataplaneSyncServiceGrpc.DataplaneSyncServiceBlockingStub syncStub(String credential) {
    var b = GrpcClients.builder("gproto+" + planes.controlPlaneUrl());
    if (credential != null) {
      b.addHeader("authorization", "Bearer " + credential);
    }
    return b.build(DataplaneSyncServiceGrpc.DataplaneSyncServiceBlockingStub.class);
  }

  /**
   * Polls both data planes with the OpenAI SDK until each answers {@code status}; returns how long
   * each took, in ms from now.
   */
  private Map<String, OpenAIClient> clients(String secret) {
    return Map.of("dp-eu-1", dp1.openAi(secret), "dp-eu-2", dp2.openAi(secret));
  }

  /** From {@code t0} (when the REST call returned) until both answer {@code status}. */
  private Map<String, Long> untilBoth(Map<String, OpenAIClient> dps, long t0, int status) {
    Map<String, Long> first = new LinkedHashMap<>();
    await("status " + status + " on both data planes")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(25))
        .until(
            () -> {
              for (var e : dps.entrySet()) {
                if (!first.containsKey(e.getKey()) && sdkStatus(e.getValue()) == status) {
                  first.put(e.getKey(), (System.nanoTime() - t0) / 1_000_000);
                }
              }
              return first.size() == dps.size();
            });
    return first;
  }

  private static int sdkStatus(OpenAIClient client) {
    try {
      chat(client, "smart", null);
      return 200;
    } catch (OpenAIServiceException e) {
      return e.statusCode();
    }
  }

  private static ChatCompletion chat(OpenAIClient client, String model, Long maxTokens) {
    var b =
        ChatCompletionCreateParams.builder().model(ChatModel.of(model)).addUserMessage("Say hello");
    if (maxTokens != null) {
      b.maxCompletionTokens(maxTokens);
    }
    return client.chat().completions().create(b.build());
  }

  private static HttpResponse<String> rawChat(ManagedDataPlane dp, String apiKey, int maxTokens)
      throws Exception {
    return HttpClient.newHttpClient()
        .send(
            HttpRequest.newBuilder(URI.create(dp.url() + "/v1/chat/completions"))
                .header("authorization", "Bearer " + apiKey)
                .header("content-type", "application/json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"smart\",\"max_tokens\":"
                            + maxTokens
                            + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }
}
