package io.agentrouter.dataplane.route;

import static java.util.Objects.requireNonNull;

import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.dataplane.config.Target;
import io.agentrouter.dataplane.metrics.GatewayMetrics;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * One breaker per target ({@code provider/model}). After {@code threshold} consecutive failures
 * that say the target is unwell (server errors, timeouts, refused connections, overload) it opens
 * for {@code openFor}; then one probe is let through, and its result closes or reopens it. A
 * provider's {@code Retry-After} also keeps the target out of rotation for that long.
 */
public final class CircuitBreakers {
  private final LongSupplier nanoTime;
  private final int threshold;
  private final long openNanos;
  private final GatewayMetrics metrics;
  private final ConcurrentHashMap<String, Breaker> breakers = new ConcurrentHashMap<>();

  public CircuitBreakers(
      LongSupplier nanoTime, int threshold, Duration openFor, GatewayMetrics metrics) {
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
    if (threshold < 1) {
      throw new IllegalArgumentException("threshold: " + threshold + " (expected: >= 1)");
    }
    this.threshold = threshold;
    this.openNanos = requireNonNull(openFor, "openFor").toNanos();
    this.metrics = requireNonNull(metrics, "metrics");
  }

  /** Whether a request may go to {@code t} now. */
  public boolean allow(Target t) {
    Breaker b = breakers.get(t.id());
    if (b == null) {
      return true;
    }
    boolean ok = b.allow(nanoTime.getAsLong(), openNanos);
    if (!ok) {
      metrics.breaker(t.model().provider(), t.model().model(), "rejected");
    }
    return ok;
  }

  /** Nanoseconds until {@code t} takes requests again; 0 when it does now. */
  public long nanosUntilAvailable(Target t) {
    Breaker b = breakers.get(t.id());
    return b == null ? 0 : b.nanosUntilAvailable(nanoTime.getAsLong());
  }

  public void success(Target t) {
    Breaker b = breakers.get(t.id());
    if (b != null && b.success()) {
      metrics.breaker(t.model().provider(), t.model().model(), "closed");
    }
  }

  public void failure(Target t, ErrorClass errorClass, @Nullable Long retryAfterSeconds) {
    boolean counts =
        switch (errorClass) {
          case SERVER, TIMEOUT, CONNECT, OVERLOADED -> true;
          default -> false;
        };
    if (!counts && retryAfterSeconds == null) {
      return;
    }
    Breaker b = breakers.computeIfAbsent(t.id(), k -> new Breaker());
    long now = nanoTime.getAsLong();
    if (retryAfterSeconds != null && retryAfterSeconds > 0) {
      b.coolDown(now + Math.min(retryAfterSeconds, 3600) * 1_000_000_000L);
      metrics.breaker(t.model().provider(), t.model().model(), "cooled");
    }
    if (counts && b.failure(now, threshold, openNanos)) {
      metrics.breaker(t.model().provider(), t.model().model(), "opened");
    }
  }

  private static final class Breaker {
    private int failures;
    private long openUntil;
    private boolean open;
    private boolean probing;
    private long probeSince;

    synchronized boolean allow(long now, long openNanos) {
      if (now < openUntil) {
        return false;
      }
      if (open) {
        // One probe at a time; a probe that never reported (its client left) expires.
        if (probing && now - probeSince < openNanos) {
          return false;
        }
        probing = true;
        probeSince = now;
      }
      return true;
    }

    synchronized long nanosUntilAvailable(long now) {
      return Math.max(0, openUntil - now);
    }

    /** Returns whether this closed an open breaker. */
    synchronized boolean success() {
      boolean wasOpen = open;
      failures = 0;
      open = false;
      probing = false;
      return wasOpen;
    }

    /** Returns whether this opened the breaker. */
    synchronized boolean failure(long now, int threshold, long openNanos) {
      failures++;
      if (open || failures >= threshold) {
        boolean opened = !open;
        open = true;
        probing = false;
        openUntil = Math.max(openUntil, now + openNanos);
        return opened;
      }
      return false;
    }

    synchronized void coolDown(long until) {
      openUntil = Math.max(openUntil, until);
    }
  }
}
