package io.agentrouter.dataplane.ratelimit;

import org.jspecify.annotations.Nullable;

/**
 * The answer to one admission check, with what the {@code x-ratelimit-*} headers report. Limit
 * values are 0 where that limit is not configured.
 *
 * @param deniedBy {@code requests}, {@code tokens} or {@code concurrency}; null when admitted
 * @param retryAfterNanos when a refused request could succeed
 */
public record LimitDecision(
    @Nullable String deniedBy,
    long retryAfterNanos,
    long limitRequests,
    long remainingRequests,
    long resetRequestsNanos,
    long limitTokens,
    long remainingTokens,
    long resetTokensNanos) {

  public boolean allowed() {
    return deniedBy == null;
  }
}
