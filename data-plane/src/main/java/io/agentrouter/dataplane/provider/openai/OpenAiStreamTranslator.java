package io.agentrouter.dataplane.provider.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.dataplane.provider.ProviderError;
import io.agentrouter.dataplane.provider.StreamTranslator;
import io.agentrouter.dataplane.provider.TokenUsage;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** OpenAI chunks are already what the client wants: parse, note usage and errors, pass on. */
final class OpenAiStreamTranslator implements StreamTranslator {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private boolean finished;
  private TokenUsage usage = TokenUsage.ZERO;
  private @Nullable ProviderError error;

  @Override
  public List<ObjectNode> onEvent(@Nullable String event, String data) {
    if (data.isEmpty()) {
      return List.of();
    }
    if (data.equals("[DONE]")) {
      finished = true;
      return List.of();
    }
    JsonNode node;
    try {
      node = MAPPER.readTree(data);
    } catch (JsonProcessingException e) {
      error = new ProviderError(ErrorClass.SERVER, 0, "the provider sent a malformed chunk", null);
      return List.of();
    }
    if (!(node instanceof ObjectNode chunk)) {
      error = new ProviderError(ErrorClass.SERVER, 0, "the provider sent a malformed chunk", null);
      return List.of();
    }
    JsonNode err = chunk.get("error");
    if (err != null && !err.isNull()) {
      error = OpenAiErrors.fromErrorObject(0, err);
      return List.of();
    }
    JsonNode u = chunk.get("usage");
    if (u != null && u.isObject()) {
      usage = OpenAiErrors.usageOf(u);
    }
    return List.of(chunk);
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
