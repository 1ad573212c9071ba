package io.agentrouter.common.config;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * One upstream provider endpoint and its credential.
 *
 * @param name unique name, used in {@code provider/model} selectors and {@code
 *     x-agentrouter-provider}
 * @param type wire format: {@code openai} (any OpenAI-compatible API), {@code azure_openai}, {@code
 *     anthropic}, {@code gemini}
 * @param baseUrl e.g. {@code https://api.openai.com/v1}; no trailing slash
 * @param apiKey the provider credential (a secret; never printed)
 * @param apiVersion Azure's {@code api-version} or Anthropic's {@code anthropic-version}
 * @param timeout the longest a non-streamed call may take
 * @param firstTokenTimeout the longest a streamed call may take to deliver its first content
 * @param projectId the only project whose requests may use this provider (a tenant's own
 *     credential, BYOK); null for a provider every project may use
 */
public record ProviderConfig(
    String name,
    String type,
    String baseUrl,
    String apiKey,
    @Nullable String apiVersion,
    Duration timeout,
    Duration firstTokenTimeout,
    @Nullable String projectId) {

  /** A provider every project may use. */
  public ProviderConfig(
      String name,
      String type,
      String baseUrl,
      String apiKey,
      @Nullable String apiVersion,
      Duration timeout,
      Duration firstTokenTimeout) {
    this(name, type, baseUrl, apiKey, apiVersion, timeout, firstTokenTimeout, null);
  }

  public ProviderConfig {
    requireNonNull(name, "name");
    requireNonNull(type, "type");
    requireNonNull(baseUrl, "baseUrl");
    requireNonNull(apiKey, "apiKey");
    requireNonNull(timeout, "timeout");
    requireNonNull(firstTokenTimeout, "firstTokenTimeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
    }
    if (firstTokenTimeout.isNegative() || firstTokenTimeout.isZero()) {
      throw new IllegalArgumentException(
          "firstTokenTimeout: " + firstTokenTimeout + " (expected: > 0)");
    }
  }

  @Override
  public String toString() {
    return "ProviderConfig[name="
        + name
        + ", type="
        + type
        + ", baseUrl="
        + baseUrl
        + (projectId == null ? "" : ", projectId=" + projectId)
        + "]";
  }
}
