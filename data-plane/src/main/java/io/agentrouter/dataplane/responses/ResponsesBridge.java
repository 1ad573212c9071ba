package io.agentrouter.dataplane.responses;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agentrouter.dataplane.provider.ChatContext;
import io.agentrouter.dataplane.provider.TokenUsage;
import org.jspecify.annotations.Nullable;

/**
 * Responses API to chat completions and back, for providers without a Responses API. Input items
 * become chat messages ({@code function_call} items join the assistant turn as tool calls, {@code
 * function_call_output} items become tool messages, {@code reasoning} items are dropped); function
 * tools become chat tools, hosted tools (web search, file search, ...) are dropped.
 */
final class ResponsesBridge {
  static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private ResponsesBridge() {}

  static ObjectNode toChat(ObjectNode r) {
    ObjectNode c = JSON.objectNode();
    c.put("model", r.path("model").asText());
    ArrayNode msgs = c.putArray("messages");
    if (r.hasNonNull("instructions")) {
      msgs.addObject().put("role", "system").put("content", r.path("instructions").asText());
    }
    JsonNode input = r.get("input");
    if (input != null && input.isTextual()) {
      msgs.addObject().put("role", "user").put("content", input.asText());
    } else if (input != null) {
      ObjectNode assistant = null;
      for (JsonNode item : input) {
        String type = item.path("type").asText(item.has("role") ? "message" : "");
        switch (type) {
          case "message" -> {
            assistant = message(msgs, item);
          }
          case "function_call" -> {
            if (assistant == null) {
              assistant = msgs.addObject().put("role", "assistant");
              assistant.putNull("content");
            }
            ArrayNode calls =
                assistant.has("tool_calls")
                    ? (ArrayNode) assistant.get("tool_calls")
                    : assistant.putArray("tool_calls");
            ObjectNode call = calls.addObject();
            call.put("id", item.path("call_id").asText()).put("type", "function");
            call.putObject("function")
                .put("name", item.path("name").asText())
                .put("arguments", item.path("arguments").asText("{}"));
          }
          case "function_call_output" -> {
            assistant = null;
            JsonNode out = item.path("output");
            msgs.addObject()
                .put("role", "tool")
                .put("tool_call_id", item.path("call_id").asText())
                .put("content", out.isTextual() ? out.asText() : text(out));
          }
          default -> {
            // reasoning and hosted-tool items have no chat equivalent
          }
        }
      }
    }
    ArrayNode tools = JSON.arrayNode();
    for (JsonNode t : r.path("tools")) {
      if (!t.path("type").asText().equals("function")) {
        continue;
      }
      ObjectNode f = tools.addObject().put("type", "function").putObject("function");
      f.put("name", t.path("name").asText());
      if (t.hasNonNull("description")) {
        f.put("description", t.path("description").asText());
      }
      f.set("parameters", t.has("parameters") ? t.get("parameters") : JSON.objectNode());
      if (t.hasNonNull("strict")) {
        f.set("strict", t.get("strict"));
      }
    }
    if (!tools.isEmpty()) {
      c.set("tools", tools);
      JsonNode choice = r.get("tool_choice");
      if (choice != null && choice.isTextual()) {
        c.put("tool_choice", choice.asText());
      } else if (choice != null && choice.path("type").asText().equals("function")) {
        c.putObject("tool_choice")
            .put("type", "function")
            .putObject("function")
            .put("name", choice.path("name").asText());
      }
      if (r.hasNonNull("parallel_tool_calls")) {
        c.set("parallel_tool_calls", r.get("parallel_tool_calls"));
      }
    }
    if (r.hasNonNull("max_output_tokens")) {
      c.put("max_tokens", r.path("max_output_tokens").asLong());
    }
    for (String f : new String[] {"temperature", "top_p", "user"}) {
      if (r.hasNonNull(f)) {
        c.set(f, r.get(f));
      }
    }
    if (r.path("stream").asBoolean(false)) {
      c.put("stream", true);
      c.putObject("stream_options").put("include_usage", true);
    }
    return c;
  }

  /** Adds a message item; returns it when it is the assistant's, for tool calls to join. */
  private static @Nullable ObjectNode message(ArrayNode msgs, JsonNode item) {
    String role = item.path("role").asText("user");
    if (role.equals("developer")) {
      role = "system";
    }
    ObjectNode m = msgs.addObject().put("role", role);
    JsonNode content = item.get("content");
    if (content == null || content.isTextual()) {
      m.put("content", content == null ? "" : content.asText());
    } else if (role.equals("assistant") || role.equals("system")) {
      m.put("content", text(content));
    } else {
      ArrayNode parts = m.putArray("content");
      for (JsonNode p : content) {
        switch (p.path("type").asText()) {
          case "input_text", "output_text", "text" ->
              parts.addObject().put("type", "text").put("text", p.path("text").asText());
          case "input_image" -> {
            if (p.hasNonNull("image_url")) {
              ObjectNode u = parts.addObject().put("type", "image_url").putObject("image_url");
              u.put("url", p.path("image_url").asText());
              if (p.hasNonNull("detail")) {
                u.put("detail", p.path("detail").asText());
              }
            }
          }
          default -> {
            // files by id and audio need the provider's own storage
          }
        }
      }
    }
    return role.equals("assistant") ? m : null;
  }

  private static String text(JsonNode parts) {
    StringBuilder sb = new StringBuilder();
    for (JsonNode p : parts) {
      if (p.hasNonNull("text")) {
        sb.append(p.path("text").asText());
      }
    }
    return sb.toString();
  }

  /** A chat.completion as a response object. */
  static ObjectNode toResponse(ChatContext cc, JsonNode chat) {
    JsonNode choice = chat.path("choices").path(0);
    JsonNode msg = choice.path("message");
    ArrayNode output = JSON.arrayNode();
    if (msg.path("content").isTextual() && !msg.path("content").asText().isEmpty()) {
      output.add(messageItem(cc, 0, msg.path("content").asText(), "completed"));
    }
    int i = 0;
    for (JsonNode call : msg.path("tool_calls")) {
      output.add(
          functionItem(
              cc,
              i++,
              call.path("id").asText(),
              call.path("function").path("name").asText(),
              call.path("function").path("arguments").asText(""),
              "completed"));
    }
    JsonNode u = chat.path("usage");
    TokenUsage usage =
        new TokenUsage(
            u.path("prompt_tokens").asLong(0),
            u.path("completion_tokens").asLong(0),
            u.path("prompt_tokens_details").path("cached_tokens").asLong(0));
    return response(
        cc,
        choice.path("finish_reason").asText("stop"),
        output,
        usage,
        u.path("completion_tokens_details").path("reasoning_tokens").asLong(0));
  }

  static ObjectNode messageItem(ChatContext cc, int n, String text, String status) {
    ObjectNode item = JSON.objectNode().put("id", "msg_" + cc.requestId() + "_" + n);
    item.put("type", "message").put("status", status).put("role", "assistant");
    ArrayNode content = item.putArray("content");
    if (status.equals("completed")) {
      content.add(textPart(text));
    }
    return item;
  }

  static ObjectNode textPart(String text) {
    ObjectNode p = JSON.objectNode().put("type", "output_text").put("text", text);
    p.putArray("annotations");
    p.putArray("logprobs");
    return p;
  }

  static ObjectNode functionItem(
      ChatContext cc, int n, String callId, String name, String arguments, String status) {
    ObjectNode item = JSON.objectNode().put("id", "fc_" + cc.requestId() + "_" + n);
    item.put("type", "function_call").put("status", status);
    item.put("call_id", callId).put("name", name).put("arguments", arguments);
    return item;
  }

  /**
   * A response object: {@code finish} null while in progress, else chat's finish reason ({@code
   * length} makes it incomplete).
   */
  static ObjectNode response(
      ChatContext cc,
      @Nullable String finish,
      ArrayNode output,
      @Nullable TokenUsage usage,
      long reasoningTokens) {
    ObjectNode r = JSON.objectNode().put("id", "resp_" + cc.requestId());
    r.put("object", "response").put("created_at", cc.createdEpochSeconds());
    String status =
        finish == null ? "in_progress" : finish.equals("length") ? "incomplete" : "completed";
    r.put("status", status);
    r.putNull("error");
    if (status.equals("incomplete")) {
      r.putObject("incomplete_details").put("reason", "max_output_tokens");
    } else {
      r.putNull("incomplete_details");
    }
    r.putNull("instructions");
    r.putNull("max_output_tokens");
    r.put("model", cc.clientModel());
    r.set("output", output);
    r.put("parallel_tool_calls", true);
    r.putNull("previous_response_id");
    r.putNull("temperature");
    r.put("tool_choice", "auto");
    r.putArray("tools");
    r.putNull("top_p");
    r.putObject("text").putObject("format").put("type", "text");
    r.put("truncation", "disabled");
    r.putObject("metadata");
    if (usage == null) {
      r.putNull("usage");
    } else {
      ObjectNode u = r.putObject("usage");
      u.put("input_tokens", usage.promptTokens());
      u.putObject("input_tokens_details").put("cached_tokens", usage.cachedTokens());
      u.put("output_tokens", usage.completionTokens());
      u.putObject("output_tokens_details").put("reasoning_tokens", reasoningTokens);
      u.put("total_tokens", usage.totalTokens());
    }
    return r;
  }
}
