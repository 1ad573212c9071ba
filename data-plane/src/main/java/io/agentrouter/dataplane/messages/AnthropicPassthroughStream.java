package io.agentrouter.dataplane.messages;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agentrouter.dataplane.provider.ProviderError;
import io.agentrouter.dataplane.provider.ProviderTranslator;
import io.agentrouter.dataplane.provider.StreamTranslator;
import io.agentrouter.dataplane.provider.TokenUsage;
import java.io.IOException;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * An Anthropic stream relayed event for event. Reads usage from {@code message_start} and {@code
 * message_delta} (cumulative), ends at {@code message_stop}, and turns an {@code error} event into
 * a provider error, so the relay can still fall back before anything reached the client.
 */
final class AnthropicPassthroughStream implements StreamTranslator {
  private final ObjectMapper mapper;
  private final ProviderTranslator provider;
  private TokenUsage usage = TokenUsage.ZERO;
  private boolean finished;
  private @Nullable ProviderError error;

  AnthropicPassthroughStream(ObjectMapper mapper, ProviderTranslator provider) {
    this.mapper = mapper;
    this.provider = provider;
  }

  @Override
  public List<ObjectNode> onEvent(@Nullable String event, String data) {
    JsonNode node;
    try {
      node = mapper.readTree(data);
    } catch (IOException e) {
      node = null;
    }
    if (!(node instanceof ObjectNode o)) {
      error = provider.error(502, data);
      return List.of();
    }
    switch (o.path("type").asText()) {
      case "message_start" -> usage = AnthropicWire.usage(o.path("message").path("usage"), usage);
      case "message_delta" -> usage = AnthropicWire.usage(o.path("usage"), usage);
      case "message_stop" -> finished = true;
      case "error" -> {
        String type = o.path("error").path("type").asText("api_error");
        int status =
            switch (type) {
              case "overloaded_error" -> 529;
              case "rate_limit_error" -> 429;
              case "invalid_request_error" -> 400;
              default -> 500;
            };
        error = provider.error(status, data);
        return List.of();
      }
      default -> {
        // content blocks and pings pass as they are
      }
    }
    return List.of(o);
  }

  @Override
  public boolean finished() {
    return finished;
  }

  @Override
  public TokenUsage usage() {
    return usage;
  }

  @Override
  public @Nullable ProviderError error() {
    return error;
  }
}
