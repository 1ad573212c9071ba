package io.agentrouter.dataplane.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.linecorp.armeria.client.WebClient;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import io.agentrouter.common.config.BudgetPosition;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.common.config.KeyStatus;
import io.agentrouter.common.config.Limits;
import io.agentrouter.common.usage.UsageRecord;
import io.agentrouter.dataplane.TestGateway;
import io.agentrouter.dataplane.budget.BudgetLedger;
import io.agentrouter.dataplane.budget.LocalBudgetLedger;
import io.agentrouter.dataplane.budget.SharedBudgetLedger;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import io.agentrouter.dataplane.usage.InMemoryUsageSink;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Budgets shared by two data planes through Redis, as clients see them. Prices make the accounting
 * exact: prompts are free, a completion token costs $1 per million, the fake answers 4 completion
 * tokens and clients ask for {@code max_tokens: 4}, so each call reserves and costs $0.000004.
 */
class SharedBudgetIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  static TestRedis redis;
  static FakeOpenAi fake;

  @BeforeAll
  static void start() {
    redis = TestRedis.start();
    fake = FakeOpenAi.start();
  }

  @AfterAll
  static void stop() {
    fake.close();
    redis.close();
  }

  @Test
  void twoDataPlanesSpendOneBudgetTogetherAndNeverPassIt() {
    String token = TestGateway.newKey();
    RedisLimiterSettings s = settings(redis.url(), RedisLimiterSettings.FailureMode.OPEN);
    // $0.00004 is ten calls in all, whichever data plane serves them.
    try (RedisNode a = node(s, token, "0.00004");
        RedisNode b = node(s, token, "0.00004")) {
      List<CompletableFuture<AggregatedHttpResponse>> calls = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        RedisNode n = i % 2 == 0 ? a : b;
        calls.add(CompletableFuture.supplyAsync(() -> chat(n.client(), token)));
      }
      List<Integer> statuses =
          calls.stream().map(CompletableFuture::join).map(r -> r.status().code()).toList();
      assertThat(statuses.stream().filter(c -> c == 200)).hasSize(10);
      assertThat(statuses.stream().filter(c -> c == 429)).hasSize(20);
      // Usage is recorded as each response ends, a moment after the client has it.
      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(
              () -> assertThat(billed(a).add(billed(b))).isEqualByComparingTo("0.00004"));
      // A later call on either data plane is refused with the shared spend in its message.
      AggregatedHttpResponse refused = chat(b.client(), token);
      assertThat(refused.status().code()).isEqualTo(429);
      assertThat(errorOf(refused).path("code").asText()).isEqualTo("insufficient_quota");
      assertThat(errorOf(refused).path("message").asText()).contains("$0.00004 spent");
    }
  }

  @Test
  void withoutRedisTheOpenPolicyFallsBackToTheLocalLedger() {
    String token = TestGateway.newKey();
    RedisLimiterSettings s =
        settings(
            "redis://127.0.0.1:" + TestRedis.freePort(), RedisLimiterSettings.FailureMode.OPEN);
    try (RedisNode a = node(s, token, "0.00001")) {
      assertThat(chat(a.client(), token).status().code()).isEqualTo(200);
      assertThat(chat(a.client(), token).status().code()).isEqualTo(200);
      AggregatedHttpResponse third = chat(a.client(), token);
      assertThat(third.status().code()).isEqualTo(429);
      assertThat(errorOf(third).path("code").asText()).isEqualTo("insufficient_quota");
      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(() -> assertThat(billed(a)).isEqualByComparingTo("0.000008"));
      assertThat(metrics(a)).containsPattern("agentrouter_budget_redis_fallbacks_total [1-9]");
    }
  }

  @Test
  void withoutRedisTheClosedPolicyRefusesWith503AndSpendsNothing() {
    String token = TestGateway.newKey();
    RedisLimiterSettings s =
        settings(
            "redis://127.0.0.1:" + TestRedis.freePort(), RedisLimiterSettings.FailureMode.CLOSED);
    int before = fake.received().size();
    try (RedisNode a = node(s, token, "0.00001")) {
      AggregatedHttpResponse r = chat(a.client(), token);
      assertThat(r.status().code()).isEqualTo(503);
      assertThat(errorOf(r).path("code").asText()).isEqualTo("budget_unavailable");
      assertThat(fake.received()).hasSize(before);
      assertThat(billed(a)).isEqualByComparingTo("0");
    }
  }

  @Test
  void spendTheControlPlaneRecordedCountsBeforeTheFirstSharedReservation() {
    RedisLimiterSettings s = settings(redis.url(), RedisLimiterSettings.FailureMode.CLOSED);
    Clock clock = Clock.systemUTC();
    String project = "p-" + UUID.randomUUID();
    KeyConfig key =
        new KeyConfig(
            UUID.randomUUID(),
            "0".repeat(64),
            "c",
            project,
            "k",
            KeyStatus.ACTIVE,
            null,
            Limits.NONE,
            new BigDecimal("0.00004"),
            Set.of());
    try (RedisRateLimiter limiter =
        new RedisRateLimiter(s, new SimpleMeterRegistry(), System::nanoTime)) {
      SharedBudgetLedger ledger =
          new SharedBudgetLedger(
              limiter.budgetCounters(),
              new LocalBudgetLedger(clock),
              limiter::degraded,
              false,
              clock,
              new SimpleMeterRegistry());
      // The control plane has recorded $0.000032 this month: two more $0.000004 calls fit.
      ledger.positions(
          List.of(
              new BudgetPosition(
                  project,
                  key.keyId().toString(),
                  YearMonth.now(ZoneOffset.UTC),
                  new BigDecimal("0.000032"))));
      for (int i = 0; i < 2; i++) {
        BudgetLedger.Reservation r =
            ledger.reserve(key, null, new BigDecimal("0.000004")).toCompletableFuture().join();
        assertThat(r.granted()).isTrue();
        ledger.settle(r, new BigDecimal("0.000004"));
      }
      BudgetLedger.Reservation refused =
          ledger.reserve(key, null, new BigDecimal("0.000004")).toCompletableFuture().join();
      assertThat(refused.granted()).isFalse();
      assertThat(refused.deniedScope()).isEqualTo("key");
      assertThat(refused.spentUsd()).isEqualByComparingTo("0.00004");
    }
  }

  private static RedisLimiterSettings settings(String url, RedisLimiterSettings.FailureMode mode) {
    return new RedisLimiterSettings(
        url,
        "default",
        "ar-it-" + UUID.randomUUID().toString().substring(0, 8) + "-shared-budget",
        mode,
        2,
        Duration.ofMillis(500),
        Duration.ofSeconds(1),
        Duration.ofMinutes(10),
        Duration.ofMinutes(1));
  }

  /** A data plane built by the composition root, the key's budget {@code budget} dollars. */
  private static RedisNode node(RedisLimiterSettings redisSettings, String token, String budget) {
    String yaml =
        """
        providers: [{name: openai, type: openai, base_url: "%s"}]
        models: [{provider: openai, model: m, input_usd_per_mtok: 0, output_usd_per_mtok: 1}]
        projects: [{id: p}]
        keys: [{token: "%s", project: p, monthly_budget_usd: %s}]
        """
            .formatted(fake.baseUrl(), token, budget);
    return RedisNode.start(yaml, redisSettings, s -> s);
  }

  private static BigDecimal billed(RedisNode n) {
    return ((InMemoryUsageSink) n.dp().usage())
        .records().stream().map(UsageRecord::costUsd).reduce(BigDecimal.ZERO, BigDecimal::add);
  }

  private static String metrics(RedisNode n) {
    return n.client().get("/internal/metrics").aggregate().join().contentUtf8();
  }

  private static JsonNode errorOf(AggregatedHttpResponse r) {
    try {
      return JSON.readTree(r.contentUtf8()).path("error");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static AggregatedHttpResponse chat(WebClient client, String token) {
    return client
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
