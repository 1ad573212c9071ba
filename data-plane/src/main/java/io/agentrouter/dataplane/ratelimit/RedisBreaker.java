package io.agentrouter.dataplane.ratelimit;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Decides whether a check asks Redis. After {@code threshold} failures in a row, checks skip Redis
 * for {@code openNanos}; then one probe goes through, and its success closes the breaker again.
 * Lock-free: it is asked on event loops.
 */
final class RedisBreaker {
  private final LongSupplier nanoTime;
  private final int threshold;
  private final long openNanos;
  private final AtomicInteger failures = new AtomicInteger();
  private final AtomicLong openUntil = new AtomicLong(Long.MIN_VALUE);
  private final AtomicBoolean probing = new AtomicBoolean();

  RedisBreaker(LongSupplier nanoTime, int threshold, long openNanos) {
    this.nanoTime = nanoTime;
    this.threshold = threshold;
    this.openNanos = openNanos;
  }

  /** Whether this check may ask Redis; when true, report the outcome with one of the others. */
  boolean tryRedis() {
    if (failures.get() < threshold) {
      return true;
    }
    if (nanoTime.getAsLong() - openUntil.get() < 0) {
      return false;
    }
    // Half-open: exactly one probe at a time.
    return probing.compareAndSet(false, true);
  }

  /** True when this success ends an outage. */
  boolean succeeded() {
    probing.set(false);
    return failures.getAndSet(0) >= threshold;
  }

  void failed() {
    if (failures.incrementAndGet() >= threshold) {
      openUntil.set(nanoTime.getAsLong() + openNanos);
    }
    probing.set(false);
  }

  boolean open() {
    return failures.get() >= threshold;
  }
}
