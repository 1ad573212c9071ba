package io.agentrouter.dataplane.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A $1.00 budget spent by 50 concurrent requests through two data planes' counters. */
class RedisBudgetIT {
  private static final Logger log = LoggerFactory.getLogger("MEASURED");
  private static final long LIMIT = 1_000_000;
  private static final long RESERVE = 30_000;
  private static final int CONCURRENT = 50;

  static TestRedis redis;

  @BeforeAll
  static void start() {
    redis = TestRedis.start();
  }

  @AfterAll
  static void stop() {
    redis.close();
  }

  @Test
  void recordedSpendNeverExceedsTheBudget() {
    String prefix = "ar-it-" + UUID.randomUUID().toString().substring(0, 8) + "-budget";
    RedisLimiterSettings s =
        new RedisLimiterSettings(
            redis.url(),
            "default",
            prefix,
            RedisLimiterSettings.FailureMode.CLOSED,
            2,
            Duration.ofSeconds(2),
            Duration.ofSeconds(1),
            Duration.ofMinutes(10),
            Duration.ofMinutes(1));
    String scope = "project:" + UUID.randomUUID() + ":2026-11";
    try (RedisRateLimiter a = new RedisRateLimiter(s, new SimpleMeterRegistry(), System::nanoTime);
        RedisRateLimiter b = new RedisRateLimiter(s, new SimpleMeterRegistry(), System::nanoTime)) {
      List<RedisBudgetCounters> counters = List.of(a.budgetCounters(), b.budgetCounters());
      AtomicInteger held = new AtomicInteger();
      AtomicInteger refused = new AtomicInteger();
      AtomicInteger errors = new AtomicInteger();
      AtomicLong maxSpent = new AtomicLong();
      List<CompletableFuture<Void>> workers = new ArrayList<>();
      for (int w = 0; w < CONCURRENT; w++) {
        workers.add(spend(counters.get(w % 2), scope, held, refused, errors, maxSpent));
      }
      CompletableFuture<Void> all =
          CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new));
      await().atMost(Duration.ofMinutes(2)).until(all::isDone);
      long spent =
          Long.parseLong(redis.sync().hget(prefix + ":budget:{default:" + scope + "}", "spent"));
      log.info(
          "MEASURED budget: limit=$1.00 ({} micro-dollars), {} concurrent requests over 2 data"
              + " planes' counters, reserve {} each, held={}, refused={}, errors={},"
              + " recorded spend={} micro-dollars (max seen while running {}), over budget={}",
          LIMIT,
          CONCURRENT,
          RESERVE,
          held.get(),
          refused.get(),
          errors.get(),
          spent,
          maxSpent.get(),
          spent > LIMIT);
      assertThat(spent).isLessThanOrEqualTo(LIMIT);
      assertThat(maxSpent.get()).isLessThanOrEqualTo(LIMIT);
      assertThat(held.get()).isGreaterThan((int) (LIMIT / RESERVE));
      // Every worker ends by a refusal: the budget is used up, not abandoned.
      assertThat(refused.get()).isEqualTo(CONCURRENT);
    }
  }

  /** Reserves, settles at a cost up to the reservation, and again, until the budget refuses. */
  private static CompletableFuture<Void> spend(
      RedisBudgetCounters c,
      String scope,
      AtomicInteger held,
      AtomicInteger refused,
      AtomicInteger errors,
      AtomicLong maxSpent) {
    return c.reserve(scope, LIMIT, RESERVE)
        .toCompletableFuture()
        .thenCompose(
            r -> {
              if (!r.held()) {
                refused.incrementAndGet();
                return CompletableFuture.<Void>completedFuture(null);
              }
              held.incrementAndGet();
              long actual = ThreadLocalRandom.current().nextLong(RESERVE / 3, RESERVE + 1);
              return c.settle(scope, r.id(), actual)
                  .toCompletableFuture()
                  .thenCompose(
                      spent -> {
                        maxSpent.accumulateAndGet(spent, Math::max);
                        return spend(c, scope, held, refused, errors, maxSpent);
                      });
            })
        .exceptionally(
            e -> {
              errors.incrementAndGet();
              return null;
            });
  }
}
