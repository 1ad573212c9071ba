package io.agentrouter.dataplane.responses;

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
 * An OpenAI Responses stream relayed event for event; the usage comes with {@code
 * response.completed} (or {@code response.incomplete}), which also ends it. An {@code error} or
 * {@code response.failed} event becomes a provider error so the relay can fall back while nothing
 * has reached the client.
 */
final class ResponsesPassthroughStream implements StreamTranslator {
  private final ObjectMapper mapper;
  private final ProviderTranslator provider;
  private TokenUsage usage = TokenUsage.ZERO;
  private boolean finished;
  private @Nullable ProviderError error;

  ResponsesPassthroughStream(ObjectMapper mapper, ProviderTranslator provider) {
    this.mapper = mapper;
    this.provider = provider;
  }

  @Override
  public List<ObjectNode> onEvent(@Nullable String event, String data) {
    if (data.equals("[DONE]")) {
      return List.of();
    }
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
      case "response.completed", "response.incomplete" -> {
        usage = ResponsesSurface.usageOf(o.path("response").path("usage"));
        finished = true;
      }
      case "response.failed" -> {
        JsonNode err = o.path("response").path("error");
        error = provider.error(500, "{\"error\":" + err + "}");
        return List.of();
      }
      case "error" -> {
        error = provider.error(500, "{\"error\":" + o + "}");
        return List.of();
      }
      default -> {
        // everything else passes as it is
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
