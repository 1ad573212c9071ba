package io.agentrouter.dataplane.ratelimit;

import static java.util.Objects.requireNonNull;

import io.agentrouter.common.config.Limits;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * Token buckets in this process, one set per key. A bucket of size N refills at N per minute, so N
 * requests at once pass and the next waits {@code 60 s / N}. The token bucket may go negative after
 * a correction: a request that used more than estimated delays the following ones.
 */
public final class LocalRateLimiter implements RateLimiter {
  private static final long MINUTE_NANOS = 60_000_000_000L;

  private final LongSupplier nanoTime;
  private final ConcurrentHashMap<UUID, KeyBuckets> buckets = new ConcurrentHashMap<>();

  /**
   * @param nanoTime the clock; tests pass a manual one
   */
  public LocalRateLimiter(LongSupplier nanoTime) {
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
  }

  @Override
  public CompletionStage<LimitDecision> acquire(UUID keyId, Limits limits, long estimatedTokens) {
    KeyBuckets b = buckets.computeIfAbsent(keyId, k -> new KeyBuckets(nanoTime.getAsLong()));
    return CompletableFuture.completedFuture(
        b.acquire(limits, Math.max(0, estimatedTokens), nanoTime.getAsLong()));
  }

  @Override
  public void release(UUID keyId, Limits limits, long estimatedTokens, long actualTokens) {
    KeyBuckets b = buckets.get(keyId);
    if (b != null) {
      b.release(
          limits, Math.max(0, estimatedTokens), Math.max(0, actualTokens), nanoTime.getAsLong());
    }
  }

  @Override
  public void retainOnly(Set<UUID> keyIds) {
    buckets.keySet().retainAll(keyIds);
  }

  /** The buckets of one key. Guarded by its own monitor: keys never contend with each other. */
  private static final class KeyBuckets {
    private double requests = Double.NaN;
    private long requestsCapacity;
    private double tokens = Double.NaN;
    private long tokensCapacity;
    private int inFlight;
    private long updatedNanos;

    KeyBuckets(long now) {
      this.updatedNanos = now;
    }

    synchronized LimitDecision acquire(Limits limits, long estimate, long now) {
      refill(limits, now);
      long rpm = limits.requestsPerMinute();
      long tpm = limits.tokensPerMinute();
      // Never ask for more than a full bucket: a request bigger than the limit would wait forever.
      long cost = tpm == 0 ? 0 : Math.min(estimate, tpm);
      String denied = null;
      long retry = 0;
      if (rpm > 0 && requests < 1) {
        denied = "requests";
        retry = nanosUntil(1 - requests, rpm);
      } else if (tpm > 0 && tokens < Math.max(cost, 1)) {
        denied = "tokens";
        retry = nanosUntil(Math.max(cost, 1) - tokens, tpm);
      } else if (limits.concurrentRequests() > 0 && inFlight >= limits.concurrentRequests()) {
        denied = "concurrency";
        // A slot frees when a request ends; there is no better estimate than "soon".
        retry = 1_000_000_000L;
      }
      if (denied == null) {
        if (rpm > 0) {
          requests -= 1;
        }
        if (tpm > 0) {
          tokens -= cost;
        }
        inFlight++;
      }
      return new LimitDecision(
          denied,
          retry,
          rpm,
          rpm == 0 ? 0 : (long) Math.max(0, Math.floor(requests)),
          rpm == 0 ? 0 : nanosUntil(rpm - requests, rpm),
          tpm,
          tpm == 0 ? 0 : (long) Math.max(0, Math.floor(tokens)),
          tpm == 0 ? 0 : nanosUntil(tpm - tokens, tpm));
    }

    synchronized void release(Limits limits, long estimate, long actual, long now) {
      refill(limits, now);
      inFlight = Math.max(0, inFlight - 1);
      long tpm = limits.tokensPerMinute();
      if (tpm > 0) {
        long charged = Math.min(estimate, tpm);
        tokens = Math.min(tpm, tokens - (actual - charged));
      }
    }

    private void refill(Limits limits, long now) {
      long rpm = limits.requestsPerMinute();
      long tpm = limits.tokensPerMinute();
      // A changed limit (new snapshot) starts from a full bucket of the new size.
      if (rpm != requestsCapacity || Double.isNaN(requests)) {
        requestsCapacity = rpm;
        requests = rpm;
      }
      if (tpm != tokensCapacity || Double.isNaN(tokens)) {
        tokensCapacity = tpm;
        tokens = tpm;
      }
      long elapsed = now - updatedNanos;
      if (elapsed > 0) {
        if (rpm > 0) {
          requests = Math.min(rpm, requests + (double) elapsed * rpm / MINUTE_NANOS);
        }
        if (tpm > 0) {
          tokens = Math.min(tpm, tokens + (double) elapsed * tpm / MINUTE_NANOS);
        }
        updatedNanos = now;
      }
    }

    private static long nanosUntil(double missing, long perMinute) {
      if (missing <= 0) {
        return 0;
      }
      return (long) Math.ceil(missing * MINUTE_NANOS / perMinute);
    }
  }
}
