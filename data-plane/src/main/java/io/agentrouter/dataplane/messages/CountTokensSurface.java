package io.agentrouter.dataplane.messages;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.RequestHeaders;
import io.agentrouter.dataplane.chain.ClientSurface;
import io.agentrouter.dataplane.provider.ChatContext;
import io.agentrouter.dataplane.provider.ProviderTranslator;
import io.agentrouter.dataplane.provider.ProviderType;
import io.agentrouter.dataplane.provider.StreamTranslator;
import io.agentrouter.dataplane.provider.TokenUsage;
import io.agentrouter.dataplane.provider.UpstreamCall;

/**
 * Anthropic's {@code POST /v1/messages/count_tokens}, relayed to Anthropic targets as the client
 * sent it (model replaced). Counting is free, so it meters no tokens. Routes whose first target is
 * not Anthropic never get here: {@link CountTokensService} answers them with an estimate.
 */
public final class CountTokensSurface implements ClientSurface {

  public CountTokensSurface() {}

  @Override
  public UpstreamCall request(
      ChatContext cc, ProviderTranslator provider, ObjectNode body, RequestHeaders headers) {
    if (cc.target().type() != ProviderType.ANTHROPIC) {
      throw new IllegalArgumentException(
          "count_tokens reaches Anthropic providers only, not '"
              + cc.target().name()
              + "' ("
              + cc.target().type()
              + ")");
    }
    ObjectNode copy = body.objectNode();
    copy.setAll(body);
    copy.remove("stream");
    return AnthropicWire.passthrough(cc, "/v1/messages/count_tokens", copy, headers, false);
  }

  @Override
  public ObjectNode response(ChatContext cc, ProviderTranslator provider, JsonNode upstream) {
    if (!(upstream instanceof ObjectNode o) || !upstream.path("input_tokens").isNumber()) {
      throw new IllegalArgumentException(
          "upstream answer has no input_tokens (expected: {\"input_tokens\": n})");
    }
    return o;
  }

  @Override
  public StreamTranslator stream(ChatContext cc, ProviderTranslator provider) {
    throw new UnsupportedOperationException("count_tokens does not stream");
  }

  @Override
  public TokenUsage usage(JsonNode clientResponse) {
    return TokenUsage.ZERO;
  }

  @Override
  public boolean isContent(ObjectNode event) {
    return false;
  }

  @Override
  public boolean isFinish(ObjectNode event) {
    return false;
  }

  @Override
  public HttpData frame(ObjectNode event) {
    throw new UnsupportedOperationException("count_tokens does not stream");
  }

  @Override
  public HttpData streamError(String message) {
    throw new UnsupportedOperationException("count_tokens does not stream");
  }
}
