package io.agentrouter.dataplane.provider;

/**
 * Tokens of one call as the provider reported them.
 *
 * @param promptTokens input tokens, cached ones (read and written) included
 * @param completionTokens output tokens
 * @param cachedTokens input tokens read from the provider's prompt cache
 * @param cacheWriteTokens input tokens written to the provider's prompt cache (Anthropic's {@code
 *     cache_creation_input_tokens}), priced above plain input
 */
public record TokenUsage(
    long promptTokens, long completionTokens, long cachedTokens, long cacheWriteTokens) {
  public static final TokenUsage ZERO = new TokenUsage(0, 0, 0, 0);

  /** Usage from a provider without cache writes. */
  public TokenUsage(long promptTokens, long completionTokens, long cachedTokens) {
    this(promptTokens, completionTokens, cachedTokens, 0);
  }

  public long totalTokens() {
    return promptTokens + completionTokens;
  }
}
