package io.agentrouter.dataplane.provider.anthropic;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.dataplane.provider.ChatContext;
import io.agentrouter.dataplane.provider.ProviderError;
import io.agentrouter.dataplane.provider.StreamTranslator;
import io.agentrouter.dataplane.provider.TokenUsage;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Anthropic's SSE events to OpenAI {@code chat.completion.chunk} objects.
 *
 * <p>Event order on the wire: {@code message_start} (input usage), then per content block {@code
 * content_block_start}, {@code content_block_delta}*, {@code content_block_stop}, then {@code
 * message_delta} (stop reason, final output tokens) and {@code message_stop}; {@code ping} may come
 * anywhere and {@code error} may end the stream.
 *
 * <p>No chunk is produced before the first content (text or tool call): the role chunk travels with
 * it. A stream that breaks before that has yielded nothing, so the router can still fall back
 * without the client noticing.
 */
final class AnthropicStreamTranslator implements StreamTranslator {

  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private final ObjectMapper mapper = JsonMapper.builder().build();
  private final ChatContext ctx;

  /** Anthropic content block index to OpenAI tool_calls index. */
  private final Map<Integer, Integer> toolIndexByBlock = new HashMap<>();

  private @Nullable String id;
  private boolean roleSent;
  private boolean finished;
  private @Nullable ProviderError error;
  private long inputTokens;
  private long cacheRead;
  private long cacheWrite;
  private long outputTokens;

  AnthropicStreamTranslator(ChatContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public List<ObjectNode> onEvent(@Nullable String event, String data) {
    if (finished || error != null) {
      return List.of();
    }
    JsonNode node;
    try {
      node = mapper.readTree(data);
    } catch (JsonProcessingException e) {
      node = null;
    }
    String type = node == null ? null : node.path("type").asText(null);
    if (type == null) {
      type = event;
    }
    if (node == null || !node.isObject()) {
      if ("ping".equals(type)) {
        return List.of();
      }
      error =
          new ProviderError(
              ErrorClass.SERVER,
              0,
              "Anthropic sent a malformed stream event" + (type == null ? "" : " '" + type + "'"),
              null);
      return List.of();
    }
    return switch (type == null ? "" : type) {
      case "message_start" -> messageStart(node.path("message"));
      case "content_block_start" -> blockStart(node);
      case "content_block_delta" -> blockDelta(node);
      case "message_delta" -> messageDelta(node);
      case "message_stop" -> {
        finished = true;
        ObjectNode chunk = chunk();
        chunk.putArray("choices");
        chunk.set("usage", AnthropicTranslator.usageJson(usage()));
        yield List.of(chunk);
      }
      case "error" -> {
        JsonNode err = node.path("error");
        String message = err.path("message").asText("Anthropic stream failed");
        error =
            new ProviderError(
                AnthropicTranslator.classify(0, err.path("type").asText(""), message),
                0,
                message,
                null);
        yield List.of();
      }
      // ping, content_block_stop and event types newer than this code carry nothing for OpenAI
      default -> List.of();
    };
  }

  private List<ObjectNode> messageStart(JsonNode message) {
    id = message.path("id").asText(null);
    readUsage(message.path("usage"));
    return List.of();
  }

  private List<ObjectNode> blockStart(JsonNode node) {
    JsonNode block = node.path("content_block");
    int index = node.path("index").asInt();
    switch (block.path("type").asText("")) {
      case "text" -> {
        String text = block.path("text").asText("");
        return text.isEmpty() ? List.of() : List.of(contentChunk(text));
      }
      case "tool_use" -> {
        int toolIndex = toolIndexByBlock.size();
        toolIndexByBlock.put(index, toolIndex);
        ObjectNode call = JSON.objectNode();
        call.put("index", toolIndex);
        call.put("id", block.path("id").asText());
        call.put("type", "function");
        ObjectNode fn = call.putObject("function");
        fn.put("name", block.path("name").asText());
        fn.put("arguments", "");
        return List.of(toolChunk(call));
      }
      default -> {
        return List.of(); // thinking and server tool blocks have no chat-completions form
      }
    }
  }

  private List<ObjectNode> blockDelta(JsonNode node) {
    JsonNode delta = node.path("delta");
    switch (delta.path("type").asText("")) {
      case "text_delta" -> {
        String text = delta.path("text").asText("");
        return text.isEmpty() ? List.of() : List.of(contentChunk(text));
      }
      case "input_json_delta" -> {
        Integer toolIndex = toolIndexByBlock.get(node.path("index").asInt());
        String partial = delta.path("partial_json").asText("");
        if (toolIndex == null || partial.isEmpty()) {
          return List.of();
        }
        ObjectNode call = JSON.objectNode();
        call.put("index", toolIndex);
        call.putObject("function").put("arguments", partial);
        return List.of(toolChunk(call));
      }
      default -> {
        return List.of(); // thinking_delta, signature_delta, citations_delta
      }
    }
  }

  private List<ObjectNode> messageDelta(JsonNode node) {
    readUsage(node.path("usage"));
    String stopReason = node.path("delta").path("stop_reason").asText(null);
    if (stopReason == null) {
      return List.of();
    }
    ObjectNode chunk = chunk();
    ObjectNode choice = chunk.putArray("choices").addObject();
    choice.put("index", 0);
    ObjectNode delta = choice.putObject("delta");
    if (!roleSent) {
      roleSent = true;
      delta.put("role", "assistant");
      delta.put("content", "");
    }
    choice.putNull("logprobs");
    choice.put("finish_reason", AnthropicTranslator.finishReason(stopReason));
    return List.of(chunk);
  }

  /** message_start carries input usage; message_delta carries cumulative counts, when present. */
  private void readUsage(JsonNode usage) {
    if (usage.path("input_tokens").isNumber()) {
      inputTokens = usage.path("input_tokens").asLong();
    }
    if (usage.path("cache_read_input_tokens").isNumber()) {
      cacheRead = usage.path("cache_read_input_tokens").asLong();
    }
    if (usage.path("cache_creation_input_tokens").isNumber()) {
      cacheWrite = usage.path("cache_creation_input_tokens").asLong();
    }
    if (usage.path("output_tokens").isNumber()) {
      outputTokens = usage.path("output_tokens").asLong();
    }
  }

  private ObjectNode contentChunk(String text) {
    ObjectNode chunk = chunk();
    ObjectNode choice = chunk.putArray("choices").addObject();
    choice.put("index", 0);
    ObjectNode delta = choice.putObject("delta");
    if (!roleSent) {
      roleSent = true;
      delta.put("role", "assistant");
    }
    delta.put("content", text);
    choice.putNull("logprobs");
    choice.putNull("finish_reason");
    return chunk;
  }

  private ObjectNode toolChunk(ObjectNode call) {
    ObjectNode chunk = chunk();
    ObjectNode choice = chunk.putArray("choices").addObject();
    choice.put("index", 0);
    ObjectNode delta = choice.putObject("delta");
    if (!roleSent) {
      roleSent = true;
      delta.put("role", "assistant");
      delta.putNull("content");
    }
    ArrayNode calls = delta.putArray("tool_calls");
    calls.add(call);
    choice.putNull("logprobs");
    choice.putNull("finish_reason");
    return chunk;
  }

  private ObjectNode chunk() {
    ObjectNode chunk = JSON.objectNode();
    chunk.put("id", AnthropicTranslator.responseId(ctx, id));
    chunk.put("object", "chat.completion.chunk");
    chunk.put("created", ctx.createdEpochSeconds());
    chunk.put("model", ctx.clientModel());
    return chunk;
  }

  @Override
  public boolean finished() {
    return finished;
  }

  @Override
  public TokenUsage usage() {
    return new TokenUsage(
        inputTokens + cacheRead + cacheWrite, outputTokens, cacheRead, cacheWrite);
  }

  @Override
  public @Nullable ProviderError error() {
    return error;
  }
}
