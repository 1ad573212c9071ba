package io.agentrouter.dataplane.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.agentrouter.common.config.Limits;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;

/** What checks do when Redis cannot be reached at all; needs no Redis. */
class RedisFallbackTest {
  final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  RedisRateLimiter limiter(RedisLimiterSettings.FailureMode mode) {
    String url = "redis://127.0.0.1:" + TestRedis.freePort();
    return new RedisRateLimiter(
        new RedisLimiterSettings(
            url,
            "eu-west",
            "ar-test",
            mode,
            2,
            Duration.ofMillis(20),
            Duration.ofSeconds(1),
            Duration.ofMinutes(10),
            Duration.ofMinutes(1)),
        registry,
        nanos::get);
  }

  @Test
  void failOpenAdmitsByLocalBucketsOfTheLimitOverN() {
    try (RedisRateLimiter l = limiter(RedisLimiterSettings.FailureMode.OPEN)) {
      UUID key = UUID.randomUUID();
      Limits limits = new Limits(10, 0, 0);
      int admitted = 0;
      for (int i = 0; i < 8; i++) {
        LimitDecision d =
            l.acquire(key, limits, 0).toCompletableFuture().orTimeout(5, TimeUnit.SECONDS).join();
        if (d.allowed()) {
          admitted++;
        }
      }
      // Two data planes in the region: this one holds 10 / 2.
      assertThat(admitted).isEqualTo(5);
      assertThat(l.degraded()).isTrue();
      assertThat(fallbacks()).isEqualTo(8);
      assertThat(
              registry.find("agentrouter.ratelimit.redis.fallbacks").tag("mode", "open").counters())
          .isNotEmpty();
      // Local slots are given back locally.
      l.release(key, limits, 0, 0);
    }
  }

  @Test
  void failClosedRefusesUntilRedisAnswers() {
    try (RedisRateLimiter l = limiter(RedisLimiterSettings.FailureMode.CLOSED)) {
      CompletableFuture<LimitDecision> f =
          l.acquire(UUID.randomUUID(), new Limits(10, 0, 0), 0).toCompletableFuture();
      Assertions.assertThatThrownBy(() -> f.orTimeout(5, TimeUnit.SECONDS).join())
          .isInstanceOf(CompletionException.class)
          .hasMessageContaining("AGENTROUTER_REDIS_FAILURE_MODE is closed");
      assertThat(fallbacks()).isEqualTo(1);
    }
  }

  @Test
  void keysNameTheRegionAndKeyIdNeverASecret() {
    try (RedisRateLimiter l = limiter(RedisLimiterSettings.FailureMode.OPEN)) {
      UUID key = UUID.fromString("00000000-0000-0000-0000-000000000001");
      assertThat(l.keyName(key, "req"))
          .isEqualTo("ar-test:rl:{eu-west:00000000-0000-0000-0000-000000000001}:req");
    }
  }

  @Test
  void settingsComeFromTheEnvironmentAndNameBadValues() {
    RedisLimiterSettings d = RedisLimiterSettings.fromEnv(name -> null);
    assertThat(d.url()).isNull();
    assertThat(d.failureMode()).isEqualTo(RedisLimiterSettings.FailureMode.OPEN);
    assertThat(d.timeout()).isEqualTo(Duration.ofMillis(20));
    assertThat(d.regionDataplanes()).isEqualTo(2);
    Assertions.assertThatThrownBy(
            () ->
                RedisLimiterSettings.fromEnv(
                    n -> n.equals("AGENTROUTER_REDIS_FAILURE_MODE") ? "maybe" : null))
        .hasMessage("AGENTROUTER_REDIS_FAILURE_MODE: 'maybe' (expected: open or closed)");
    Assertions.assertThatThrownBy(
            () ->
                RedisLimiterSettings.fromEnv(
                    n -> n.equals("AGENTROUTER_REGION_DATAPLANES") ? "0" : null))
        .hasMessage("regionDataplanes: 0 (expected: >= 1)");
  }

  @Test
  void breakerSkipsRedisThenProbesOnce() {
    RedisBreaker b = new RedisBreaker(nanos::get, 3, 1_000_000_000L);
    for (int i = 0; i < 3; i++) {
      assertThat(b.tryRedis()).isTrue();
      b.failed();
    }
    assertThat(b.tryRedis()).isFalse();
    nanos.addAndGet(1_000_000_000L);
    assertThat(b.tryRedis()).isTrue();
    assertThat(b.tryRedis()).as("one probe at a time").isFalse();
    assertThat(b.succeeded()).as("the probe ends the outage").isTrue();
    assertThat(b.tryRedis()).isTrue();
  }

  private double fallbacks() {
    return registry.find("agentrouter.ratelimit.redis.fallbacks").counters().stream()
        .mapToDouble(c -> c.count())
        .sum();
  }
}
