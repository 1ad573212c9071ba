package io.agentrouter.dataplane.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;

import io.agentrouter.common.config.Limits;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LocalRateLimiterTest {
  final AtomicLong now = new AtomicLong(42);
  final LocalRateLimiter limiter = new LocalRateLimiter(now::get);
  final UUID key = UUID.randomUUID();

  @Test
  void exactlyKOfNPlusKAreRefusedAndTheBucketRefills() {
    Limits l = new Limits(100, 0, 0);
    int denied = 0;
    for (int i = 0; i < 100 + 7; i++) {
      if (!limiter.acquire(key, l, 0).toCompletableFuture().join().allowed()) {
        denied++;
      } else {
        limiter.release(key, l, 0, 0);
      }
    }
    assertThat(denied).isEqualTo(7);
    LimitDecision d = limiter.acquire(key, l, 0).toCompletableFuture().join();
    assertThat(d.deniedBy()).isEqualTo("requests");
    assertThat(d.retryAfterNanos()).isEqualTo(600_000_000L);
    now.addAndGet(600_000_000L);
    assertThat(limiter.acquire(key, l, 0).toCompletableFuture().join().allowed()).isTrue();
  }

  @Test
  void keysDoNotShareBuckets() {
    Limits l = new Limits(1, 0, 0);
    assertThat(limiter.acquire(key, l, 0).toCompletableFuture().join().allowed()).isTrue();
    assertThat(limiter.acquire(UUID.randomUUID(), l, 0).toCompletableFuture().join().allowed())
        .isTrue();
    assertThat(limiter.acquire(key, l, 0).toCompletableFuture().join().allowed()).isFalse();
  }

  @Test
  void usingMoreThanEstimatedDelaysLaterRequests() {
    Limits l = new Limits(0, 1000, 0);
    assertThat(limiter.acquire(key, l, 100).toCompletableFuture().join().allowed()).isTrue();
    limiter.release(key, l, 100, 1500);
    LimitDecision d = limiter.acquire(key, l, 10).toCompletableFuture().join();
    assertThat(d.deniedBy()).isEqualTo("tokens");
    // 500 tokens in debt plus 10 needed, at 1000 per minute.
    assertThat(d.retryAfterNanos()).isEqualTo(30_600_000_000L);
  }

  @Test
  void headersUseOpenAisDurationStyle() {
    assertThat(RateLimit.duration(120_000_000L)).isEqualTo("120ms");
    assertThat(RateLimit.duration(1_500_000_000L)).isEqualTo("1.5s");
    assertThat(RateLimit.duration(12_000_000_000L)).isEqualTo("12s");
    assertThat(RateLimit.duration(360_000_000_000L)).isEqualTo("6m0s");
  }
}
