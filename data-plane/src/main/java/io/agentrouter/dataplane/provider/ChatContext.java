package io.agentrouter.dataplane.provider;

import static java.util.Objects.requireNonNull;

/**
 * What a translator needs to know about one call.
 *
 * @param requestId our request id, used as the OpenAI {@code id} suffix where the provider gives
 *     none
 * @param target the provider endpoint and credential chosen by the router
 * @param upstreamModel the provider's model name (or Azure deployment) to call
 * @param clientModel the model name to echo back in OpenAI responses
 * @param createdEpochSeconds the {@code created} value for OpenAI responses
 */
public record ChatContext(
    String requestId,
    ProviderTarget target,
    String upstreamModel,
    String clientModel,
    long createdEpochSeconds) {
  public ChatContext {
    requireNonNull(requestId, "requestId");
    requireNonNull(target, "target");
    requireNonNull(upstreamModel, "upstreamModel");
    requireNonNull(clientModel, "clientModel");
  }
}
