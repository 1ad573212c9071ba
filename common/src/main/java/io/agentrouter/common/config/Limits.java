package io.agentrouter.common.config;

/**
 * Rate limits of a key or a project. Zero means unlimited.
 *
 * @param requestsPerMinute requests admitted per minute
 * @param tokensPerMinute prompt plus completion tokens per minute
 * @param concurrentRequests requests in flight at once
 */
public record Limits(long requestsPerMinute, long tokensPerMinute, int concurrentRequests) {
  public static final Limits NONE = new Limits(0, 0, 0);

  public Limits {
    if (requestsPerMinute < 0) {
      throw new IllegalArgumentException(
          "requestsPerMinute: " + requestsPerMinute + " (expected: >= 0, 0 for unlimited)");
    }
    if (tokensPerMinute < 0) {
      throw new IllegalArgumentException(
          "tokensPerMinute: " + tokensPerMinute + " (expected: >= 0, 0 for unlimited)");
    }
    if (concurrentRequests < 0) {
      throw new IllegalArgumentException(
          "concurrentRequests: " + concurrentRequests + " (expected: >= 0, 0 for unlimited)");
    }
  }

  public boolean unlimited() {
    return requestsPerMinute == 0 && tokensPerMinute == 0 && concurrentRequests == 0;
  }
}
