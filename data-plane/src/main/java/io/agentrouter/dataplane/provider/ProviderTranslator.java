package io.agentrouter.dataplane.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agentrouter.common.config.ModelKind;

/**
 * Translates between OpenAI's chat-completions wire format (what clients send us) and one
 * provider's wire format. Pure functions over JSON: no I/O, no clock, no shared state, so each
 * translator is tested against recorded provider payloads alone. The HTTP call, SSE framing,
 * timeouts and fallback belong to the router and the upstream client.
 */
public interface ProviderTranslator {

  /**
   * Builds the upstream call for a validated OpenAI chat-completions request. Auth headers for the
   * provider are included (from {@link ChatContext#target()}); the body is the provider's format.
   */
  UpstreamCall chatRequest(ChatContext ctx, ObjectNode openAiRequest);

  /** Converts a successful, non-streamed upstream body into an OpenAI {@code chat.completion}. */
  ObjectNode chatResponse(ChatContext ctx, JsonNode upstreamBody);

  /** A fresh converter for one streamed response. */
  StreamTranslator chatStream(ChatContext ctx);

  /**
   * Classifies a failed upstream answer (status >= 400) and extracts the provider's message. Must
   * accept any body, including non-JSON and empty.
   */
  ProviderError error(int status, String body);

  /** Whether this translator serves {@code kind}; every translator serves chat. */
  default boolean supports(ModelKind kind) {
    return kind == ModelKind.CHAT;
  }

  /** Builds the upstream call for an OpenAI {@code /v1/embeddings} request. */
  default UpstreamCall embeddingsRequest(ChatContext ctx, ObjectNode openAiRequest) {
    throw new UnsupportedOperationException(
        ctx.target().type() + " does not serve embeddings (expected: check supports() first)");
  }

  /** Converts an upstream embeddings answer into OpenAI's {@code list} of embeddings. */
  default ObjectNode embeddingsResponse(ChatContext ctx, JsonNode upstreamBody) {
    throw new UnsupportedOperationException(
        ctx.target().type() + " does not serve embeddings (expected: check supports() first)");
  }

  /** Builds the upstream call for an OpenAI {@code /v1/images/generations} request. */
  default UpstreamCall imagesRequest(ChatContext ctx, ObjectNode openAiRequest) {
    throw new UnsupportedOperationException(
        ctx.target().type() + " does not generate images (expected: check supports() first)");
  }

  /** Converts an upstream image-generation answer into OpenAI's images response. */
  default ObjectNode imagesResponse(ChatContext ctx, JsonNode upstreamBody) {
    throw new UnsupportedOperationException(
        ctx.target().type() + " does not generate images (expected: check supports() first)");
  }
}
