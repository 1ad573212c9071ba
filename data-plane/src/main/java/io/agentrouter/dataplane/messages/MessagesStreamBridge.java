package io.agentrouter.dataplane.messages;

import static io.agentrouter.dataplane.messages.AnthropicWire.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agentrouter.dataplane.provider.ChatContext;
import io.agentrouter.dataplane.provider.ProviderError;
import io.agentrouter.dataplane.provider.StreamTranslator;
import io.agentrouter.dataplane.provider.TokenUsage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A provider's stream, already turned into OpenAI chunks by its translator, as Anthropic events:
 * {@code message_start}, {@code ping}, one content block per text run or tool call ({@code
 * content_block_start|delta|stop}), then {@code message_delta} with the stop reason and the final
 * usage, and {@code message_stop}. The usage goes out when the provider's stream ends, since chat
 * reports it after the finish reason.
 */
final class MessagesStreamBridge implements StreamTranslator {
  private final ChatContext cc;
  private final StreamTranslator chat;
  private boolean started;
  private boolean ended;
  private int index = -1;
  private boolean blockOpen;
  private boolean textOpen;
  private final Map<Integer, Integer> toolBlocks = new HashMap<>();
  private @Nullable String finish;

  MessagesStreamBridge(ChatContext cc, StreamTranslator chat) {
    this.cc = cc;
    this.chat = chat;
  }

  @Override
  public List<ObjectNode> onEvent(@Nullable String event, String data) {
    List<ObjectNode> out = new ArrayList<>(4);
    for (ObjectNode chunk : chat.onEvent(event, data)) {
      if (!started) {
        start(out);
      }
      JsonNode choice = chunk.path("choices").path(0);
      JsonNode delta = choice.path("delta");
      String text = delta.path("content").asText("");
      if (!text.isEmpty()) {
        if (!textOpen) {
          close(out);
          ObjectNode b = open(out);
          b.put("type", "text").put("text", "");
          textOpen = true;
        }
        ObjectNode d = event(out, "content_block_delta").put("index", index).putObject("delta");
        d.put("type", "text_delta").put("text", text);
      }
      for (JsonNode call : delta.path("tool_calls")) {
        int i = call.path("index").asInt(0);
        Integer block = toolBlocks.get(i);
        if (block == null || call.hasNonNull("id") && block != index) {
          close(out);
          ObjectNode b = open(out);
          b.put("type", "tool_use")
              .put("id", call.path("id").asText("toolu_" + cc.requestId() + "_" + i))
              .put("name", call.path("function").path("name").asText(""));
          b.putObject("input");
          toolBlocks.put(i, index);
        }
        String args = call.path("function").path("arguments").asText("");
        if (!args.isEmpty()) {
          ObjectNode d = event(out, "content_block_delta").put("index", index).putObject("delta");
          d.put("type", "input_json_delta").put("partial_json", args);
        }
      }
      if (choice.hasNonNull("finish_reason")) {
        finish = choice.path("finish_reason").asText();
        close(out);
      }
    }
    if (chat.finished() && chat.error() == null && !ended) {
      if (!started) {
        start(out);
      }
      close(out);
      ended = true;
      ObjectNode md = event(out, "message_delta");
      md.putObject("delta")
          .put("stop_reason", ChatBridge.stopReason(finish))
          .putNull("stop_sequence");
      TokenUsage u = chat.usage();
      ObjectNode usage = md.putObject("usage");
      usage.put("input_tokens", Math.max(0, u.promptTokens() - u.cachedTokens()));
      usage.put("output_tokens", u.completionTokens());
      usage.put("cache_creation_input_tokens", 0);
      usage.put("cache_read_input_tokens", u.cachedTokens());
      event(out, "message_stop");
    }
    return out;
  }

  private void start(List<ObjectNode> out) {
    started = true;
    ObjectNode m = event(out, "message_start").putObject("message");
    m.put("id", "msg_" + cc.requestId()).put("type", "message").put("role", "assistant");
    m.put("model", cc.clientModel());
    m.putArray("content");
    m.putNull("stop_reason");
    m.putNull("stop_sequence");
    ObjectNode u = m.putObject("usage");
    u.put("input_tokens", 0).put("output_tokens", 0);
    u.put("cache_creation_input_tokens", 0).put("cache_read_input_tokens", 0);
    event(out, "ping");
  }

  private ObjectNode open(List<ObjectNode> out) {
    index++;
    blockOpen = true;
    return event(out, "content_block_start").put("index", index).putObject("content_block");
  }

  private void close(List<ObjectNode> out) {
    if (blockOpen) {
      event(out, "content_block_stop").put("index", index);
      blockOpen = false;
      textOpen = false;
    }
  }

  private static ObjectNode event(List<ObjectNode> out, String type) {
    ObjectNode e = JSON.objectNode().put("type", type);
    out.add(e);
    return e;
  }

  @Override
  public boolean finished() {
    return ended;
  }

  @Override
  public TokenUsage usage() {
    return chat.usage();
  }

  @Override
  public @Nullable ProviderError error() {
    return chat.error();
  }
}
