package io.agentrouter.dataplane.provider.anthropic;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Builds one Anthropic Messages request body from an OpenAI chat-completions request. Single use.
 *
 * <p>Anthropic differs from OpenAI in ways that shape this class: the system prompt is a top-level
 * field, not a message; only {@code user} and {@code assistant} turns exist and two turns of the
 * same role in a row are merged; tool results are {@code tool_result} blocks inside a user turn;
 * {@code max_tokens} is mandatory.
 */
final class AnthropicRequestBuilder {

  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private final ObjectMapper mapper;
  private final ArrayNode system = JSON.arrayNode();
  private final List<ObjectNode> turns = new ArrayList<>();

  AnthropicRequestBuilder(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  ObjectNode build(String model, ObjectNode req) {
    int n = req.path("n").asInt(1);
    if (n != 1) {
      throw new IllegalArgumentException(
          "n: " + n + " is not supported by Anthropic models (expected: 1)");
    }
    JsonNode messages = req.path("messages");
    if (!messages.isArray() || messages.isEmpty()) {
      throw new IllegalArgumentException("messages: must be a non-empty array");
    }
    for (int i = 0; i < messages.size(); i++) {
      addMessage(i, messages.get(i));
    }

    ObjectNode body = JSON.objectNode();
    body.put("model", model);
    body.put("max_tokens", maxTokens(req));
    if (!system.isEmpty()) {
      body.set("system", system);
    }
    ArrayNode out = body.putArray("messages");
    turns.forEach(out::add);

    JsonNode temperature = req.path("temperature");
    if (temperature.isNumber()) {
      // OpenAI accepts 0..2, Anthropic 0..1: clamp rather than have the provider refuse the call.
      body.put("temperature", Math.min(1.0, temperature.asDouble()));
    }
    if (req.path("top_p").isNumber() && !temperature.isNumber()) {
      // Claude Opus 4.1, Sonnet 4.5 and newer refuse both at once ("use only one"); OpenAI
      // clients often send both, so temperature, the one nearly every client means, wins.
      body.put("top_p", req.path("top_p").asDouble());
    }
    JsonNode stop = req.path("stop");
    if (stop.isTextual()) {
      body.putArray("stop_sequences").add(stop.asText());
    } else if (stop.isArray() && !stop.isEmpty()) {
      ArrayNode seqs = body.putArray("stop_sequences");
      stop.forEach(s -> seqs.add(s.asText()));
    }
    if (req.path("stream").asBoolean(false)) {
      body.put("stream", true);
    }
    if (req.path("user").isTextual()) {
      body.putObject("metadata").put("user_id", req.path("user").asText());
    }
    addTools(req, body);
    return body;
  }

  private static int maxTokens(ObjectNode req) {
    JsonNode v = req.path("max_completion_tokens");
    if (!v.isNumber()) {
      v = req.path("max_tokens");
    }
    if (!v.isNumber()) {
      return AnthropicTranslator.DEFAULT_MAX_TOKENS;
    }
    if (v.asInt() < 1) {
      throw new IllegalArgumentException("max_tokens: " + v.asInt() + " (expected: >= 1)");
    }
    return v.asInt();
  }

  private void addMessage(int i, JsonNode msg) {
    String role = msg.path("role").asText("");
    switch (role) {
      case "system", "developer" -> {
        for (JsonNode part : contentParts(msg.path("content"))) {
          String text = part.path("text").asText("");
          if (!text.isEmpty()) {
            system.add(cached(part, JSON.objectNode().put("type", "text").put("text", text)));
          }
        }
      }
      case "user" -> append("user", userBlocks(i, msg.path("content")));
      case "assistant" -> append("assistant", assistantBlocks(i, msg));
      case "tool" -> {
        ObjectNode result = JSON.objectNode();
        result.put("type", "tool_result");
        String id = msg.path("tool_call_id").asText("");
        if (id.isEmpty()) {
          throw new IllegalArgumentException(
              "messages[" + i + "].tool_call_id: missing (expected the id of a tool call)");
        }
        result.put("tool_use_id", id);
        ArrayNode content = result.putArray("content");
        for (JsonNode part : contentParts(msg.path("content"))) {
          String text = part.path("text").asText("");
          if (!text.isEmpty()) {
            content.add(cached(part, JSON.objectNode().put("type", "text").put("text", text)));
          }
        }
        append("user", List.of(result));
      }
      default ->
          throw new IllegalArgumentException(
              "messages["
                  + i
                  + "].role: '"
                  + role
                  + "' (expected one of: system, developer, user, assistant, tool)");
    }
  }

  /** Appends blocks as a turn, merging into the previous turn when it has the same role. */
  private void append(String role, List<ObjectNode> blocks) {
    if (blocks.isEmpty()) {
      return; // Anthropic refuses empty turns; an empty OpenAI message carries nothing anyway.
    }
    ObjectNode last = turns.isEmpty() ? null : turns.get(turns.size() - 1);
    if (last != null && last.path("role").asText().equals(role)) {
      ArrayNode content = (ArrayNode) last.get("content");
      blocks.forEach(content::add);
      return;
    }
    ObjectNode turn = JSON.objectNode();
    turn.put("role", role);
    ArrayNode content = turn.putArray("content");
    blocks.forEach(content::add);
    turns.add(turn);
  }

  private List<ObjectNode> userBlocks(int i, JsonNode content) {
    List<ObjectNode> blocks = new ArrayList<>();
    for (JsonNode part : contentParts(content)) {
      switch (part.path("type").asText("")) {
        case "text" -> {
          String text = part.path("text").asText("");
          if (!text.isEmpty()) {
            blocks.add(cached(part, JSON.objectNode().put("type", "text").put("text", text)));
          }
        }
        case "image_url" ->
            blocks.add(cached(part, image(i, part.path("image_url").path("url").asText(""))));
        case "file" -> blocks.add(cached(part, document(i, part.path("file"))));
        default ->
            throw new IllegalArgumentException(
                "messages["
                    + i
                    + "].content part type '"
                    + part.path("type").asText()
                    + "' is not supported by Anthropic models (expected: text, image_url, file)");
      }
    }
    return blocks;
  }

  private List<ObjectNode> assistantBlocks(int i, JsonNode msg) {
    List<ObjectNode> blocks = new ArrayList<>();
    for (JsonNode part : contentParts(msg.path("content"))) {
      String text = part.path("text").asText(part.path("refusal").asText(""));
      if (!text.isEmpty()) {
        blocks.add(cached(part, JSON.objectNode().put("type", "text").put("text", text)));
      }
    }
    JsonNode calls = msg.path("tool_calls");
    for (int c = 0; c < calls.size(); c++) {
      JsonNode call = calls.get(c);
      ObjectNode use = JSON.objectNode();
      use.put("type", "tool_use");
      use.put("id", call.path("id").asText());
      use.put("name", call.path("function").path("name").asText());
      use.set("input", arguments(i, c, call.path("function").path("arguments")));
      blocks.add(use);
    }
    return blocks;
  }

  private JsonNode arguments(int i, int c, JsonNode arguments) {
    if (arguments.isObject()) {
      return arguments;
    }
    String text = arguments.asText("");
    if (text.isBlank()) {
      return JSON.objectNode(); // a function without parameters
    }
    try {
      JsonNode parsed = mapper.readTree(text);
      if (parsed != null && parsed.isObject()) {
        return parsed;
      }
    } catch (JsonProcessingException e) {
      // reported below
    }
    throw new IllegalArgumentException(
        "messages["
            + i
            + "].tool_calls["
            + c
            + "].function.arguments: not a JSON object (Anthropic needs tool input as an object)");
  }

  /**
   * Copies an Anthropic {@code cache_control} marker a client put on an OpenAI content part (as
   * OpenAI-format gateways accept), so prompt caching works through this endpoint too.
   */
  private static ObjectNode cached(JsonNode part, ObjectNode block) {
    if (part.path("cache_control").isObject()) {
      block.set("cache_control", part.path("cache_control"));
    }
    return block;
  }

  /** OpenAI content is a string or an array of parts; a string becomes one text part. */
  private static List<JsonNode> contentParts(JsonNode content) {
    List<JsonNode> parts = new ArrayList<>();
    if (content.isTextual()) {
      parts.add(JSON.objectNode().put("type", "text").put("text", content.asText()));
    } else if (content.isArray()) {
      content.forEach(parts::add);
    }
    return parts;
  }

  private static ObjectNode image(int i, String url) {
    ObjectNode block = JSON.objectNode();
    block.put("type", "image");
    ObjectNode source = block.putObject("source");
    if (url.startsWith("data:")) {
      DataUrl data = DataUrl.parse(url, "messages[" + i + "] image_url");
      source.put("type", "base64");
      source.put("media_type", data.mediaType());
      source.put("data", data.base64());
    } else if (url.startsWith("https://") || url.startsWith("http://")) {
      source.put("type", "url");
      source.put("url", url);
    } else {
      throw new IllegalArgumentException(
          "messages[" + i + "] image_url: unsupported scheme (expected a data: or http(s) URL)");
    }
    return block;
  }

  private static ObjectNode document(int i, JsonNode file) {
    String data = file.path("file_data").asText("");
    if (!data.startsWith("data:")) {
      throw new IllegalArgumentException(
          "messages["
              + i
              + "] file: only inline file_data is supported by Anthropic models (expected a data:"
              + " URL, file ids are OpenAI's)");
    }
    DataUrl url = DataUrl.parse(data, "messages[" + i + "] file.file_data");
    ObjectNode block = JSON.objectNode();
    block.put("type", "document");
    ObjectNode source = block.putObject("source");
    source.put("type", "base64");
    source.put("media_type", url.mediaType());
    source.put("data", url.base64());
    return block;
  }

  private static void addTools(ObjectNode req, ObjectNode body) {
    JsonNode tools = req.path("tools");
    if (tools.isArray() && !tools.isEmpty()) {
      ArrayNode out = body.putArray("tools");
      for (JsonNode tool : tools) {
        JsonNode fn = tool.path("function");
        ObjectNode t = out.addObject();
        t.put("name", fn.path("name").asText());
        if (fn.path("description").isTextual()) {
          t.put("description", fn.path("description").asText());
        }
        JsonNode params = fn.path("parameters");
        t.set(
            "input_schema",
            params.isObject()
                ? params
                : JSON.objectNode().put("type", "object").set("properties", JSON.objectNode()));
        if (tool.path("cache_control").isObject()) {
          t.set("cache_control", tool.path("cache_control"));
        }
      }
    }
    JsonNode choice = req.path("tool_choice");
    ObjectNode tc = null;
    if (choice.isTextual()) {
      tc =
          switch (choice.asText().toLowerCase(Locale.ROOT)) {
            case "none" -> JSON.objectNode().put("type", "none");
            case "required" -> JSON.objectNode().put("type", "any");
            case "auto" -> JSON.objectNode().put("type", "auto");
            default ->
                throw new IllegalArgumentException(
                    "tool_choice: '"
                        + choice.asText()
                        + "' (expected one of: none, auto, required, or a function)");
          };
    } else if (choice.isObject()) {
      tc =
          JSON.objectNode()
              .put("type", "tool")
              .put("name", choice.path("function").path("name").asText());
    }
    if (req.path("parallel_tool_calls").isBoolean()
        && !req.path("parallel_tool_calls").asBoolean()
        && body.has("tools")) {
      if (tc == null) {
        tc = JSON.objectNode().put("type", "auto");
      }
      if (!"none".equals(tc.path("type").asText())) {
        tc.put("disable_parallel_tool_use", true);
      }
    }
    if (tc != null && body.has("tools")) {
      body.set("tool_choice", tc);
    }
  }

  /** A parsed {@code data:<media type>;base64,<data>} URL. */
  record DataUrl(String mediaType, String base64) {
    static DataUrl parse(String url, String where) {
      int comma = url.indexOf(',');
      String meta = comma < 0 ? "" : url.substring("data:".length(), comma);
      if (comma < 0 || !meta.endsWith(";base64")) {
        throw new IllegalArgumentException(
            where + ": malformed data URL (expected data:<media type>;base64,<data>)");
      }
      String mediaType = meta.substring(0, meta.length() - ";base64".length());
      return new DataUrl(
          mediaType.isEmpty() ? "application/octet-stream" : mediaType, url.substring(comma + 1));
    }
  }
}
