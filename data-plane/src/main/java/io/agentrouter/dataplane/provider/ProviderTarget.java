package io.agentrouter.dataplane.provider;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;

/**
 * One provider endpoint with its credential.
 *
 * @param name the provider's name in config and in {@code x-agentrouter-provider} (e.g. openai)
 * @param type the wire format it speaks
 * @param baseUrl e.g. {@code https://api.openai.com/v1}, {@code https://api.anthropic.com}, {@code
 *     https://generativelanguage.googleapis.com}; no trailing slash
 * @param apiKey the provider credential; never logged
 * @param apiVersion Azure's {@code api-version} or Anthropic's {@code anthropic-version}; may be
 *     null
 */
public record ProviderTarget(
    String name, ProviderType type, String baseUrl, String apiKey, @Nullable String apiVersion) {
  public ProviderTarget {
    requireNonNull(name, "name");
    requireNonNull(type, "type");
    requireNonNull(baseUrl, "baseUrl");
    requireNonNull(apiKey, "apiKey");
  }

  @Override
  public String toString() {
    return "ProviderTarget[name=" + name + ", type=" + type + ", baseUrl=" + baseUrl + "]";
  }
}
