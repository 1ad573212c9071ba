package io.agentrouter.dataplane.budget;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import io.agentrouter.common.usage.UsageRecord;
import io.agentrouter.dataplane.TestGateway;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Monthly budgets as a client sees them. Prices make the accounting exact: prompts are free and a
 * completion token costs $1 per million; the fake answers with 4 completion tokens and clients ask
 * for {@code max_tokens: 4}, so each call reserves and costs exactly $0.000004.
 */
class BudgetTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static String config(String baseUrl, String token, String budget) {
    return """
        providers: [{name: openai, type: openai, base_url: "%s"}]
        models: [{provider: openai, model: m, input_usd_per_mtok: 0, output_usd_per_mtok: 1}]
        projects: [{id: p}]
        keys: [{token: "%s", project: p, monthly_budget_usd: %s}]
        """
        .formatted(baseUrl, token, budget);
  }

  @Test
  void aBudgetThatRunsOutGets429InsufficientQuotaWithExactAccounting() throws Exception {
    String token = TestGateway.newKey();
    try (FakeOpenAi fake = FakeOpenAi.start();
        TestGateway gw = TestGateway.start(config(fake.baseUrl(), token, "0.00001"))) {
      assertThat(chat(gw, token).status().code()).isEqualTo(200);
      assertThat(chat(gw, token).status().code()).isEqualTo(200);
      // $0.000008 spent, $0.000002 left: less than the next call's $0.000004.
      AggregatedHttpResponse refused = chat(gw, token);
      assertThat(refused.status().code()).isEqualTo(429);
      JsonNode error = JSON.readTree(refused.contentUtf8()).get("error");
      assertThat(error.get("type").asText()).isEqualTo("insufficient_quota");
      assertThat(error.get("code").asText()).isEqualTo("insufficient_quota");
      assertThat(error.get("message").asText())
          .contains("monthly budget of $0.00001")
          .contains("$0.000008 spent");
      assertThat(fake.received()).hasSize(2);
      // Usage is recorded as each response ends, a moment after the client has it.
      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(() -> assertThat(billed(gw)).isEqualByComparingTo("0.000008"));
    }
  }

  @Test
  void concurrentRequestsNeverOverspend() {
    String token = TestGateway.newKey();
    try (FakeOpenAi fake = FakeOpenAi.start();
        TestGateway gw = TestGateway.start(config(fake.baseUrl(), token, "0.00004"))) {
      List<CompletableFuture<AggregatedHttpResponse>> calls = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        calls.add(CompletableFuture.supplyAsync(() -> chat(gw, token)));
      }
      List<Integer> statuses =
          calls.stream().map(CompletableFuture::join).map(r -> r.status().code()).toList();
      assertThat(statuses.stream().filter(s -> s == 200)).hasSize(10);
      assertThat(statuses.stream().filter(s -> s == 429)).hasSize(20);
      assertThat(fake.received()).hasSize(10);
      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(() -> assertThat(billed(gw)).isEqualByComparingTo("0.00004"));
    }
  }

  @Test
  void keysWithoutBudgetAreNotMetered() {
    String token = TestGateway.newKey();
    try (FakeOpenAi fake = FakeOpenAi.start();
        TestGateway gw =
            TestGateway.start(
                """
                providers: [{name: openai, type: openai, base_url: "%s"}]
                models: [{provider: openai, model: m, output_usd_per_mtok: 1000000}]
                projects: [{id: p}]
                keys: [{token: "%s", project: p}]
                """
                    .formatted(fake.baseUrl(), token))) {
      for (int i = 0; i < 3; i++) {
        assertThat(chat(gw, token).status().code()).isEqualTo(200);
      }
    }
  }

  private static BigDecimal billed(TestGateway gw) {
    return gw.usage().stream().map(UsageRecord::costUsd).reduce(BigDecimal.ZERO, BigDecimal::add);
  }

  static AggregatedHttpResponse chat(TestGateway gw, String token) {
    return gw.web()
        .execute(
            HttpRequest.of(
                RequestHeaders.builder(HttpMethod.POST, "/v1/chat/completions")
                    .contentType(MediaType.JSON)
                    .add("authorization", "Bearer " + token)
                    .build(),
                HttpData.ofUtf8(
                    "{\"model\":\"m\",\"max_tokens\":4,"
                        + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")))
        .aggregate()
        .join();
  }
}
