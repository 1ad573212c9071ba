package io.agentrouter.dataplane.responses;

import static io.agentrouter.dataplane.responses.ResponsesBridge.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
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
 * A provider's stream, already turned into OpenAI chat chunks by its translator, as Responses
 * events: {@code response.created} and {@code response.in_progress}; per text run an output message
 * ({@code output_item.added}, {@code content_part.added}, {@code output_text.delta}..., {@code
 * output_text.done}, {@code content_part.done}, {@code output_item.done}); per tool call a {@code
 * function_call} item with {@code function_call_arguments.delta|done}; and, when the provider's
 * stream ends, {@code response.completed} (or {@code response.incomplete}) with the output and
 * usage.
 */
final class ResponsesStreamBridge implements StreamTranslator {
  private final ChatContext cc;
  private final StreamTranslator chat;
  private final ArrayNode output = JSON.arrayNode();
  private final Map<Integer, Integer> calls = new HashMap<>();
  private boolean started;
  private boolean ended;
  private int seq;
  private int outputIndex = -1;
  private @Nullable StringBuilder text;
  private @Nullable ObjectNode call;
  private @Nullable StringBuilder args;
  private @Nullable String finish;

  ResponsesStreamBridge(ChatContext cc, StreamTranslator chat) {
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
      String t = delta.path("content").asText("");
      if (!t.isEmpty()) {
        if (text == null) {
          close(out);
          outputIndex++;
          text = new StringBuilder();
          added(out, ResponsesBridge.messageItem(cc, outputIndex, "", "in_progress"));
          ObjectNode e = event(out, "response.content_part.added");
          e.put("item_id", itemId()).put("output_index", outputIndex).put("content_index", 0);
          e.set("part", ResponsesBridge.textPart(""));
        }
        text.append(t);
        ObjectNode e = event(out, "response.output_text.delta");
        e.put("item_id", itemId()).put("output_index", outputIndex).put("content_index", 0);
        e.put("delta", t);
        e.putArray("logprobs");
      }
      for (JsonNode c : delta.path("tool_calls")) {
        int i = c.path("index").asInt(0);
        if (!calls.containsKey(i)) {
          close(out);
          outputIndex++;
          calls.put(i, outputIndex);
          call =
              ResponsesBridge.functionItem(
                  cc,
                  outputIndex,
                  c.path("id").asText("call_" + cc.requestId() + "_" + i),
                  c.path("function").path("name").asText(""),
                  "",
                  "in_progress");
          args = new StringBuilder();
          added(out, call);
        }
        String a = c.path("function").path("arguments").asText("");
        if (!a.isEmpty() && args != null) {
          args.append(a);
          ObjectNode e = event(out, "response.function_call_arguments.delta");
          e.put("item_id", itemId()).put("output_index", outputIndex).put("delta", a);
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
      ObjectNode r =
          ResponsesBridge.response(
              cc, finish == null ? "stop" : finish, output.deepCopy(), chat.usage(), 0);
      String type =
          r.path("status").asText().equals("incomplete")
              ? "response.incomplete"
              : "response.completed";
      event(out, type).set("response", r);
    }
    return out;
  }

  private String itemId() {
    return (call != null ? "fc_" : "msg_") + cc.requestId() + "_" + outputIndex;
  }

  private void start(List<ObjectNode> out) {
    started = true;
    event(out, "response.created")
        .set("response", ResponsesBridge.response(cc, null, JSON.arrayNode(), null, 0));
    event(out, "response.in_progress")
        .set("response", ResponsesBridge.response(cc, null, JSON.arrayNode(), null, 0));
  }

  private void added(List<ObjectNode> out, ObjectNode item) {
    ObjectNode e = event(out, "response.output_item.added");
    e.put("output_index", outputIndex);
    e.set("item", item.deepCopy());
  }

  /** Finishes the open item, if any. */
  private void close(List<ObjectNode> out) {
    if (text != null) {
      String full = text.toString();
      ObjectNode e = event(out, "response.output_text.done");
      e.put("item_id", itemId()).put("output_index", outputIndex).put("content_index", 0);
      e.put("text", full);
      e.putArray("logprobs");
      ObjectNode p = event(out, "response.content_part.done");
      p.put("item_id", itemId()).put("output_index", outputIndex).put("content_index", 0);
      p.set("part", ResponsesBridge.textPart(full));
      ObjectNode item = ResponsesBridge.messageItem(cc, outputIndex, full, "completed");
      done(out, item);
      text = null;
    } else if (call != null && args != null) {
      ObjectNode e = event(out, "response.function_call_arguments.done");
      e.put("item_id", itemId()).put("output_index", outputIndex);
      e.put("name", call.path("name").asText()).put("arguments", args.toString());
      ObjectNode item = call.deepCopy();
      item.put("arguments", args.toString()).put("status", "completed");
      done(out, item);
      call = null;
      args = null;
    }
  }

  private void done(List<ObjectNode> out, ObjectNode item) {
    output.add(item);
    ObjectNode e = event(out, "response.output_item.done");
    e.put("output_index", outputIndex);
    e.set("item", item);
  }

  private ObjectNode event(List<ObjectNode> out, String type) {
    ObjectNode e = JSON.objectNode().put("type", type).put("sequence_number", seq++);
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
