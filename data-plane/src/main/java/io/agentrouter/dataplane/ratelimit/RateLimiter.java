package io.agentrouter.dataplane.ratelimit;

import io.agentrouter.common.config.Limits;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/**
 * Per-key admission: requests per minute, tokens per minute and requests in flight. Local buckets
 * by default; a shared (Redis) implementation can take its place because the request path only sees
 * this interface and never blocks on it.
 */
public interface RateLimiter {

  /**
   * Admits or refuses one request of {@code keyId} that is expected to use {@code estimatedTokens}.
   * An admitted request must be {@linkplain #release released} exactly once.
   */
  CompletionStage<LimitDecision> acquire(UUID keyId, Limits limits, long estimatedTokens);

  /**
   * Ends an admitted request: frees its concurrency slot and corrects the token bucket by the
   * difference between what it used and what was estimated.
   */
  void release(UUID keyId, Limits limits, long estimatedTokens, long actualTokens);

  /** Forgets keys that are no longer in the active config, to keep memory bounded. */
  default void retainOnly(Set<UUID> keyIds) {}
}
