package io.agentrouter.dataplane.messages;

import static io.agentrouter.dataplane.messages.AnthropicWire.JSON;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agentrouter.dataplane.provider.ChatContext;
import java.io.IOException;

/**
 * Anthropic Messages to OpenAI chat and back, for targets that do not speak Messages. What each
 * provider keeps and drops is tabled in docs/providers.md; in short, thinking blocks, {@code
 * cache_control}, server tools and {@code top_k} have no chat equivalent and are dropped, and
 * images in tool results move to a user message right after the tool results (chat tool messages
 * carry text only).
 */
final class ChatBridge {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private ChatBridge() {}

  static ObjectNode toChat(ObjectNode m) {
    ObjectNode c = JSON.objectNode();
    c.put("model", m.path("model").asText());
    ArrayNode msgs = c.putArray("messages");
    String system = text(m.get("system"));
    if (!system.isEmpty()) {
      msgs.addObject().put("role", "system").put("content", system);
    }
    for (JsonNode msg : m.path("messages")) {
      String role = msg.path("role").asText();
      JsonNode content = msg.get("content");
      if (content != null && content.isTextual()) {
        msgs.addObject()
            .put("role", role.equals("assistant") ? "assistant" : "user")
            .put("content", content.asText());
        continue;
      }
      if (role.equals("assistant")) {
        assistant(msgs, content);
      } else {
        user(msgs, content);
      }
    }
    ArrayNode tools = JSON.arrayNode();
    for (JsonNode t : m.path("tools")) {
      String type = t.path("type").asText("custom");
      if (!type.equals("custom") || !t.hasNonNull("name")) {
        continue; // server tools (web search, bash, ...) run at Anthropic only
      }
      ObjectNode f = tools.addObject().put("type", "function").putObject("function");
      f.put("name", t.path("name").asText());
      if (t.hasNonNull("description")) {
        f.put("description", t.path("description").asText());
      }
      f.set("parameters", t.has("input_schema") ? t.get("input_schema") : JSON.objectNode());
    }
    if (!tools.isEmpty()) {
      c.set("tools", tools);
      JsonNode choice = m.path("tool_choice");
      switch (choice.path("type").asText("")) {
        case "any" -> c.put("tool_choice", "required");
        case "none" -> c.put("tool_choice", "none");
        case "tool" ->
            c.putObject("tool_choice")
                .put("type", "function")
                .putObject("function")
                .put("name", choice.path("name").asText());
        default -> {
          // auto is chat's default
        }
      }
      if (choice.path("disable_parallel_tool_use").asBoolean(false)) {
        c.put("parallel_tool_calls", false);
      }
    }
    if (m.has("max_tokens")) {
      c.put("max_tokens", m.path("max_tokens").asLong());
    }
    for (String f : new String[] {"temperature", "top_p"}) {
      if (m.hasNonNull(f)) {
        c.set(f, m.get(f));
      }
    }
    if (m.path("stop_sequences").isArray() && !m.path("stop_sequences").isEmpty()) {
      c.set("stop", m.get("stop_sequences"));
    }
    if (m.path("metadata").hasNonNull("user_id")) {
      c.put("user", m.path("metadata").path("user_id").asText());
    }
    if (m.path("stream").asBoolean(false)) {
      c.put("stream", true);
      c.putObject("stream_options").put("include_usage", true);
    }
    return c;
  }

  private static void assistant(ArrayNode msgs, JsonNode blocks) {
    StringBuilder text = new StringBuilder();
    ArrayNode calls = JSON.arrayNode();
    for (JsonNode b : blocks) {
      switch (b.path("type").asText()) {
        case "text" -> text.append(b.path("text").asText());
        case "tool_use" -> {
          ObjectNode call = calls.addObject();
          call.put("id", b.path("id").asText()).put("type", "function");
          call.putObject("function")
              .put("name", b.path("name").asText())
              .put("arguments", b.path("input").toString());
        }
        default -> {
          // thinking and redacted_thinking carry Anthropic signatures: meaningless elsewhere
        }
      }
    }
    ObjectNode a = msgs.addObject().put("role", "assistant");
    if (text.isEmpty()) {
      a.putNull("content");
    } else {
      a.put("content", text.toString());
    }
    if (!calls.isEmpty()) {
      a.set("tool_calls", calls);
    }
  }

  private static void user(ArrayNode msgs, JsonNode blocks) {
    ArrayNode parts = JSON.arrayNode();
    for (JsonNode b : blocks) {
      switch (b.path("type").asText()) {
        case "text" -> parts.addObject().put("type", "text").put("text", b.path("text").asText());
        case "image" -> image(parts, b);
        case "document" -> {
          if (b.path("source").path("type").asText().equals("text")) {
            parts
                .addObject()
                .put("type", "text")
                .put("text", b.path("source").path("data").asText());
          }
        }
        case "tool_result" -> {
          JsonNode content = b.get("content");
          StringBuilder text = new StringBuilder();
          if (content != null && content.isTextual()) {
            text.append(content.asText());
          } else if (content != null) {
            for (JsonNode rb : content) {
              if (rb.path("type").asText().equals("text")) {
                if (!text.isEmpty()) {
                  text.append('\n');
                }
                text.append(rb.path("text").asText());
              } else if (rb.path("type").asText().equals("image")) {
                image(parts, rb);
              }
            }
          }
          if (b.path("is_error").asBoolean(false)) {
            text.insert(0, "Error: ");
          }
          msgs.addObject()
              .put("role", "tool")
              .put("tool_call_id", b.path("tool_use_id").asText())
              .put("content", text.toString());
        }
        default -> {
          // other blocks (search results, containers) have no chat equivalent
        }
      }
    }
    if (!parts.isEmpty()) {
      msgs.addObject().put("role", "user").set("content", parts);
    }
  }

  private static void image(ArrayNode parts, JsonNode b) {
    JsonNode src = b.path("source");
    String url =
        switch (src.path("type").asText()) {
          case "base64" ->
              "data:" + src.path("media_type").asText() + ";base64," + src.path("data").asText();
          case "url" -> src.path("url").asText();
          default -> null;
        };
    if (url != null) {
      parts.addObject().put("type", "image_url").putObject("image_url").put("url", url);
    }
  }

  /** A system prompt as plain text: a string, or the text blocks joined. */
  static String text(JsonNode system) {
    if (system == null || system.isNull()) {
      return "";
    }
    if (system.isTextual()) {
      return system.asText();
    }
    StringBuilder sb = new StringBuilder();
    for (JsonNode b : system) {
      if (!sb.isEmpty()) {
        sb.append("\n\n");
      }
      sb.append(b.path("text").asText());
    }
    return sb.toString();
  }

  /** An OpenAI chat.completion as an Anthropic message. */
  static ObjectNode toMessage(ChatContext cc, JsonNode chat) {
    ObjectNode m = JSON.objectNode();
    m.put("id", "msg_" + cc.requestId());
    m.put("type", "message");
    m.put("role", "assistant");
    m.put("model", cc.clientModel());
    ArrayNode content = m.putArray("content");
    JsonNode choice = chat.path("choices").path(0);
    JsonNode msg = choice.path("message");
    if (msg.path("content").isTextual() && !msg.path("content").asText().isEmpty()) {
      content.addObject().put("type", "text").put("text", msg.path("content").asText());
    }
    for (JsonNode call : msg.path("tool_calls")) {
      ObjectNode b = content.addObject().put("type", "tool_use");
      b.put("id", call.path("id").asText())
          .put("name", call.path("function").path("name").asText());
      b.set("input", arguments(call.path("function").path("arguments").asText("")));
    }
    m.put("stop_reason", stopReason(choice.path("finish_reason").asText(null)));
    m.putNull("stop_sequence");
    m.set("usage", usage(chat.path("usage")));
    return m;
  }

  static JsonNode arguments(String json) {
    if (json.isBlank()) {
      return JSON.objectNode();
    }
    try {
      JsonNode n = MAPPER.readTree(json);
      return n instanceof ObjectNode ? n : JSON.objectNode();
    } catch (IOException e) {
      return JSON.objectNode();
    }
  }

  static String stopReason(String finish) {
    if (finish == null) {
      return "end_turn";
    }
    return switch (finish) {
      case "length" -> "max_tokens";
      case "tool_calls", "function_call" -> "tool_use";
      case "content_filter" -> "refusal";
      default -> "end_turn";
    };
  }

  /** OpenAI usage (prompt includes cached) as Anthropic usage (input excludes cached). */
  static ObjectNode usage(JsonNode u) {
    long prompt = u.path("prompt_tokens").asLong(0);
    long cached = u.path("prompt_tokens_details").path("cached_tokens").asLong(0);
    ObjectNode o = JSON.objectNode();
    o.put("input_tokens", Math.max(0, prompt - cached));
    o.put("output_tokens", u.path("completion_tokens").asLong(0));
    o.put("cache_creation_input_tokens", 0);
    o.put("cache_read_input_tokens", cached);
    return o;
  }
}
