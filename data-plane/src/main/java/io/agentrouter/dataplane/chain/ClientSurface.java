package io.agentrouter.dataplane.chain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.RequestHeaders;
import io.agentrouter.dataplane.provider.ChatContext;
import io.agentrouter.dataplane.provider.ProviderTranslator;
import io.agentrouter.dataplane.provider.StreamTranslator;
import io.agentrouter.dataplane.provider.TokenUsage;
import io.agentrouter.dataplane.provider.UpstreamCall;

/**
 * A wire format clients speak other than OpenAI chat completions (Anthropic Messages, OpenAI
 * Responses). The router relays these exactly as it relays chat (same targets, fallback, breakers,
 * metering); the surface decides, per target, whether the client's body passes through or is
 * bridged through the target's chat translator, and renders answers in the client's format.
 * Stateless; {@link #stream} returns a fresh single-use converter.
 */
public interface ClientSurface {

  /** The upstream call for {@code clientBody} to the target in {@code cc}. */
  UpstreamCall request(
      ChatContext cc, ProviderTranslator provider, ObjectNode clientBody, RequestHeaders headers);

  /** A successful, non-streamed upstream body in the client's format. */
  ObjectNode response(ChatContext cc, ProviderTranslator provider, JsonNode upstreamBody);

  /** A converter from the upstream's SSE events to the client's events (JSON with a "type"). */
  StreamTranslator stream(ChatContext cc, ProviderTranslator provider);

  /** The tokens an answer in the client's format reports. */
  TokenUsage usage(JsonNode clientResponse);

  /** Whether a client event carries content, so the answer can be committed to the client. */
  boolean isContent(ObjectNode event);

  /** Whether a client event ends the answer (the provider said why it stopped). */
  boolean isFinish(ObjectNode event);

  /** One client event framed as SSE. */
  HttpData frame(ObjectNode event);

  /** The SSE error event sent when a committed stream breaks. */
  HttpData streamError(String message);
}
