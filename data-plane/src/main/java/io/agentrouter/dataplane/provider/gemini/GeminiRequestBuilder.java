package io.agentrouter.dataplane.provider.gemini;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Builds one Gemini {@code GenerateContentRequest} from an OpenAI chat-completions request. Single
 * use.
 *
 * <p>Gemini's shape: the system prompt is {@code systemInstruction}; turns are {@code user} or
 * {@code model}, consecutive turns of one role are merged (so parallel tool results land in one
 * turn, as Gemini wants one functionResponse per functionCall of the previous turn); tool results
 * are {@code functionResponse} parts named after the function, which OpenAI only gives by call id,
 * so the name is looked up from the assistant turn that made the call.
 */
final class GeminiRequestBuilder {

  /**
   * The keys of Gemini's {@code Schema} (an OpenAPI 3.0 subset). JSON Schema keys outside it
   * ({@code additionalProperties}, {@code $schema}, {@code strict}, ...) make Gemini refuse the
   * request, so they are dropped.
   */
  private static final Set<String> SCHEMA_KEYS =
      Set.of(
          "type",
          "format",
          "title",
          "description",
          "nullable",
          "enum",
          "maxItems",
          "minItems",
          "properties",
          "required",
          "minProperties",
          "maxProperties",
          "minLength",
          "maxLength",
          "pattern",
          "example",
          "anyOf",
          "propertyOrdering",
          "default",
          "items",
          "minimum",
          "maximum");

  /** Google's documented stand-in for a thought signature the history does not have. */
  static final String SKIP_SIGNATURE = "skip_thought_signature_validator";

  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private final ObjectMapper mapper;
  private final ArrayNode systemParts = JSON.arrayNode();
  private final List<ObjectNode> contents = new ArrayList<>();

  /** OpenAI tool-call id to function name, from the assistant turns seen so far. */
  private final Map<String, String> functionNames = new HashMap<>();

  GeminiRequestBuilder(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  ObjectNode build(ObjectNode req) {
    JsonNode messages = req.path("messages");
    if (!messages.isArray() || messages.isEmpty()) {
      throw new IllegalArgumentException("messages: must be a non-empty array");
    }
    for (int i = 0; i < messages.size(); i++) {
      addMessage(i, messages.get(i));
    }
    ObjectNode body = JSON.objectNode();
    ArrayNode out = body.putArray("contents");
    contents.forEach(out::add);
    if (!systemParts.isEmpty()) {
      body.putObject("systemInstruction").set("parts", systemParts);
    }
    addTools(req, body);
    ObjectNode config = generationConfig(req);
    if (!config.isEmpty()) {
      body.set("generationConfig", config);
    }
    return body;
  }

  private void addMessage(int i, JsonNode msg) {
    String role = msg.path("role").asText("");
    switch (role) {
      case "system", "developer" -> {
        for (JsonNode part : contentParts(msg.path("content"))) {
          String text = part.path("text").asText("");
          if (!text.isEmpty()) {
            systemParts.addObject().put("text", text);
          }
        }
      }
      case "user" -> append("user", userParts(i, msg.path("content")));
      case "assistant" -> append("model", modelParts(msg));
      case "tool" -> append("user", List.of(functionResponse(i, msg)));
      default ->
          throw new IllegalArgumentException(
              "messages["
                  + i
                  + "].role: '"
                  + role
                  + "' (expected one of: system, developer, user, assistant, tool)");
    }
  }

  private void append(String role, List<ObjectNode> parts) {
    if (parts.isEmpty()) {
      return; // Gemini refuses a content without parts
    }
    ObjectNode last = contents.isEmpty() ? null : contents.get(contents.size() - 1);
    if (last != null && last.path("role").asText().equals(role)) {
      ArrayNode existing = (ArrayNode) last.get("parts");
      parts.forEach(existing::add);
      return;
    }
    ObjectNode content = JSON.objectNode();
    content.put("role", role);
    ArrayNode out = content.putArray("parts");
    parts.forEach(out::add);
    contents.add(content);
  }

  private List<ObjectNode> userParts(int i, JsonNode content) {
    List<ObjectNode> parts = new ArrayList<>();
    for (JsonNode part : contentParts(content)) {
      switch (part.path("type").asText("")) {
        case "text" -> {
          String text = part.path("text").asText("");
          if (!text.isEmpty()) {
            parts.add(JSON.objectNode().put("text", text));
          }
        }
        case "image_url" -> parts.add(media(i, part.path("image_url").path("url").asText("")));
        case "file" -> {
          String data = part.path("file").path("file_data").asText("");
          if (!data.startsWith("data:")) {
            throw new IllegalArgumentException(
                "messages["
                    + i
                    + "] file: only inline file_data is supported by Gemini models (expected a"
                    + " data: URL, file ids are OpenAI's)");
          }
          parts.add(media(i, data));
        }
        default ->
            throw new IllegalArgumentException(
                "messages["
                    + i
                    + "].content part type '"
                    + part.path("type").asText()
                    + "' is not supported by Gemini models (expected: text, image_url, file)");
      }
    }
    return parts;
  }

  private List<ObjectNode> modelParts(JsonNode msg) {
    List<ObjectNode> parts = new ArrayList<>();
    for (JsonNode part : contentParts(msg.path("content"))) {
      String text = part.path("text").asText(part.path("refusal").asText(""));
      if (!text.isEmpty()) {
        parts.add(JSON.objectNode().put("text", text));
      }
    }
    boolean firstCall = true;
    for (JsonNode call : msg.path("tool_calls")) {
      String id = call.path("id").asText("");
      String name = call.path("function").path("name").asText();
      functionNames.put(id, name);
      ObjectNode part = JSON.objectNode();
      ObjectNode fc = part.putObject("functionCall");
      fc.put("name", name);
      fc.set("args", arguments(call.path("function").path("arguments")));
      int sep = id.indexOf(GeminiTranslator.SIGNATURE_SEPARATOR);
      if (sep >= 0) {
        part.put(
            "thoughtSignature", id.substring(sep + GeminiTranslator.SIGNATURE_SEPARATOR.length()));
      } else if (firstCall) {
        // Gemini 3 refuses a function-calling turn whose first call has no signature; for calls
        // Gemini did not make (another provider's history) Google documents this stand-in.
        part.put("thoughtSignature", SKIP_SIGNATURE);
      }
      firstCall = false;
      parts.add(part);
    }
    return parts;
  }

  private ObjectNode functionResponse(int i, JsonNode msg) {
    String id = msg.path("tool_call_id").asText("");
    String name = functionNames.get(id);
    if (name == null && msg.path("name").isTextual()) {
      name = msg.path("name").asText();
    }
    if (name == null) {
      throw new IllegalArgumentException(
          "messages["
              + i
              + "].tool_call_id: '"
              + id
              + "' matches no tool call of an earlier assistant message (Gemini needs the"
              + " function's name)");
    }
    StringBuilder text = new StringBuilder();
    for (JsonNode part : contentParts(msg.path("content"))) {
      text.append(part.path("text").asText(""));
    }
    ObjectNode part = JSON.objectNode();
    ObjectNode fr = part.putObject("functionResponse");
    fr.put("name", name);
    fr.set("response", responseObject(text.toString()));
    return part;
  }

  /**
   * Gemini wants the function's result as a JSON object; a result that already is one is passed as
   * is, anything else is wrapped as {@code {"content": ...}}.
   */
  private JsonNode responseObject(String text) {
    try {
      JsonNode parsed = mapper.readTree(text);
      if (parsed != null && parsed.isObject()) {
        return parsed;
      }
    } catch (JsonProcessingException e) {
      // not JSON: wrapped below
    }
    return JSON.objectNode().put("content", text);
  }

  private JsonNode arguments(JsonNode arguments) {
    if (arguments.isObject()) {
      return arguments;
    }
    String text = arguments.asText("");
    if (text.isBlank()) {
      return JSON.objectNode();
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
        "tool_calls function.arguments: not a JSON object (Gemini needs call arguments as an"
            + " object)");
  }

  private static List<JsonNode> contentParts(JsonNode content) {
    List<JsonNode> parts = new ArrayList<>();
    if (content.isTextual()) {
      parts.add(JSON.objectNode().put("type", "text").put("text", content.asText()));
    } else if (content.isArray()) {
      content.forEach(parts::add);
    }
    return parts;
  }

  /** A data URL becomes inlineData; an http(s) URL becomes fileData with a guessed type. */
  private static ObjectNode media(int i, String url) {
    ObjectNode part = JSON.objectNode();
    if (url.startsWith("data:")) {
      int comma = url.indexOf(',');
      String meta = comma < 0 ? "" : url.substring("data:".length(), comma);
      if (comma < 0 || !meta.endsWith(";base64")) {
        throw new IllegalArgumentException(
            "messages[" + i + "]: malformed data URL (expected data:<media type>;base64,<data>)");
      }
      String mimeType = meta.substring(0, meta.length() - ";base64".length());
      ObjectNode inline = part.putObject("inlineData");
      inline.put("mimeType", mimeType.isEmpty() ? "application/octet-stream" : mimeType);
      inline.put("data", url.substring(comma + 1));
    } else if (url.startsWith("https://") || url.startsWith("http://")) {
      ObjectNode file = part.putObject("fileData");
      file.put("mimeType", guessMimeType(url));
      file.put("fileUri", url);
    } else {
      throw new IllegalArgumentException(
          "messages[" + i + "] image_url: unsupported scheme (expected a data: or http(s) URL)");
    }
    return part;
  }

  static String guessMimeType(String url) {
    String path = url.toLowerCase(Locale.ROOT);
    int cut = path.indexOf('?');
    if (cut >= 0) {
      path = path.substring(0, cut);
    }
    if (path.endsWith(".png")) {
      return "image/png";
    }
    if (path.endsWith(".webp")) {
      return "image/webp";
    }
    if (path.endsWith(".gif")) {
      return "image/gif";
    }
    if (path.endsWith(".heic")) {
      return "image/heic";
    }
    if (path.endsWith(".heif")) {
      return "image/heif";
    }
    if (path.endsWith(".pdf")) {
      return "application/pdf";
    }
    return "image/jpeg"; // OpenAI's image_url is an image; JPEG is the common case
  }

  private void addTools(ObjectNode req, ObjectNode body) {
    JsonNode tools = req.path("tools");
    if (!tools.isArray() || tools.isEmpty()) {
      return;
    }
    ArrayNode declarations = body.putArray("tools").addObject().putArray("functionDeclarations");
    for (JsonNode tool : tools) {
      JsonNode fn = tool.path("function");
      ObjectNode decl = declarations.addObject();
      decl.put("name", fn.path("name").asText());
      if (fn.path("description").isTextual()) {
        decl.put("description", fn.path("description").asText());
      }
      JsonNode params = fn.path("parameters");
      // Gemini refuses an object schema with no properties; a function without parameters
      // simply has none.
      if (params.isObject() && !params.path("properties").isEmpty()) {
        decl.set("parameters", schema(params));
      }
    }
    JsonNode choice = req.path("tool_choice");
    ObjectNode config = null;
    if (choice.isTextual()) {
      String mode =
          switch (choice.asText().toLowerCase(Locale.ROOT)) {
            case "none" -> "NONE";
            case "required" -> "ANY";
            case "auto" -> "AUTO";
            default ->
                throw new IllegalArgumentException(
                    "tool_choice: '"
                        + choice.asText()
                        + "' (expected one of: none, auto, required, or a function)");
          };
      config = JSON.objectNode().put("mode", mode);
    } else if (choice.isObject()) {
      config = JSON.objectNode().put("mode", "ANY");
      config.putArray("allowedFunctionNames").add(choice.path("function").path("name").asText());
    }
    if (config != null) {
      body.putObject("toolConfig").set("functionCallingConfig", config);
    }
  }

  private static ObjectNode generationConfig(ObjectNode req) {
    ObjectNode config = JSON.objectNode();
    JsonNode max = req.path("max_completion_tokens");
    if (!max.isNumber()) {
      max = req.path("max_tokens");
    }
    if (max.isNumber()) {
      config.put("maxOutputTokens", max.asInt());
    }
    copyNumber(req, "temperature", config, "temperature");
    copyNumber(req, "top_p", config, "topP");
    copyNumber(req, "presence_penalty", config, "presencePenalty");
    copyNumber(req, "frequency_penalty", config, "frequencyPenalty");
    if (req.path("seed").isIntegralNumber()) {
      config.put("seed", req.path("seed").asLong());
    }
    JsonNode stop = req.path("stop");
    if (stop.isTextual()) {
      config.putArray("stopSequences").add(stop.asText());
    } else if (stop.isArray() && !stop.isEmpty()) {
      ArrayNode seqs = config.putArray("stopSequences");
      stop.forEach(s -> seqs.add(s.asText()));
    }
    if (req.path("n").isIntegralNumber() && req.path("n").asInt() != 1) {
      config.put("candidateCount", req.path("n").asInt());
    }
    JsonNode format = req.path("response_format");
    switch (format.path("type").asText("")) {
      case "json_object" -> config.put("responseMimeType", "application/json");
      case "json_schema" -> {
        config.put("responseMimeType", "application/json");
        JsonNode schema = format.path("json_schema").path("schema");
        if (schema.isObject()) {
          config.set("responseSchema", schema(schema));
        }
      }
      default -> {} // "text" or absent: Gemini's default
    }
    return config;
  }

  private static void copyNumber(ObjectNode from, String key, ObjectNode to, String as) {
    JsonNode v = from.path(key);
    if (v.isNumber()) {
      to.set(as, v);
    }
  }

  /** A JSON Schema reduced to the subset Gemini's Schema accepts. */
  static ObjectNode schema(JsonNode in) {
    ObjectNode out = JSON.objectNode();
    in.properties()
        .forEach(
            e -> {
              String key = e.getKey();
              JsonNode v = e.getValue();
              if (!SCHEMA_KEYS.contains(key)) {
                return;
              }
              switch (key) {
                case "type" -> {
                  if (v.isArray()) {
                    // ["string", "null"] is JSON Schema's way to say nullable
                    for (JsonNode t : v) {
                      if ("null".equals(t.asText())) {
                        out.put("nullable", true);
                      } else if (!out.has("type")) {
                        out.put("type", t.asText());
                      }
                    }
                  } else {
                    out.set("type", v);
                  }
                }
                case "properties" -> {
                  ObjectNode props = out.putObject("properties");
                  v.properties().forEach(p -> props.set(p.getKey(), schema(p.getValue())));
                }
                case "items" -> out.set("items", schema(v));
                case "anyOf" -> {
                  ArrayNode any = out.putArray("anyOf");
                  v.forEach(s -> any.add(schema(s)));
                }
                default -> out.set(key, v);
              }
            });
    return out;
  }
}
