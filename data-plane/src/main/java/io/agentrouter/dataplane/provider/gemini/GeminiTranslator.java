package io.agentrouter.dataplane.provider.gemini;

import static java.util.Objects.requireNonNull;

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
import io.agentrouter.dataplane.provider.ProviderTranslator;
import io.agentrouter.dataplane.provider.StreamTranslator;
import io.agentrouter.dataplane.provider.TokenUsage;
import io.agentrouter.dataplane.provider.UpstreamCall;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * OpenAI chat completions to and from Google Gemini ({@code models/{model}:generateContent} and
 * {@code :streamGenerateContent?alt=sse}).
 *
 * <p>The key travels in the {@code x-goog-api-key} header, never in the URL, so it cannot leak into
 * access logs. A request that Gemini cannot express is refused with an {@link
 * IllegalArgumentException} whose message is meant for the client (a 400).
 *
 * <p>Gemini has no tool-call ids: ids are made from our request id, the candidate and the call's
 * position. A {@code thoughtSignature} Gemini attached to a call rides along in that id (after
 * {@value #SIGNATURE_SEPARATOR}) so the next turn can hand it back, as thinking models require.
 */
public final class GeminiTranslator implements ProviderTranslator {

  /** API version used when the target names none. */
  static final String DEFAULT_API_VERSION = "v1beta";

  /** Separates our tool-call id from a Gemini thought signature carried in it. */
  static final String SIGNATURE_SEPARATOR = "~ts~";

  private static final Pattern MODEL = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private final ObjectMapper mapper = JsonMapper.builder().build();

  public GeminiTranslator() {}

  @Override
  public UpstreamCall chatRequest(ChatContext ctx, ObjectNode openAiRequest) {
    requireNonNull(ctx, "ctx");
    requireNonNull(openAiRequest, "openAiRequest");
    String model = ctx.upstreamModel();
    if (model.startsWith("models/")) {
      model = model.substring("models/".length());
    }
    if (!MODEL.matcher(model).matches()) {
      // The name goes into the URL path; refuse anything that could change the path or query.
      throw new IllegalArgumentException(
          "Gemini model '"
              + ctx.upstreamModel()
              + "' is not a valid model name (expected letters, digits, '.', '_' or '-')");
    }
    boolean stream = openAiRequest.path("stream").asBoolean(false);
    ObjectNode body = new GeminiRequestBuilder(mapper).build(openAiRequest);
    String version = ctx.target().apiVersion();
    if (version == null || version.isBlank()) {
      version = DEFAULT_API_VERSION;
    }
    String path =
        "/"
            + version
            + "/models/"
            + model
            + (stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("x-goog-api-key", ctx.target().apiKey());
    headers.put("content-type", "application/json");
    if (stream) {
      headers.put("accept", "text/event-stream");
    }
    return new UpstreamCall(path, headers, body, stream);
  }

  @Override
  public ObjectNode chatResponse(ChatContext ctx, JsonNode upstreamBody) {
    requireNonNull(ctx, "ctx");
    requireNonNull(upstreamBody, "upstreamBody");
    if (!upstreamBody.isObject()) {
      throw new IllegalArgumentException(
          "Gemini response is not a JSON object (expected a GenerateContentResponse, got "
              + upstreamBody.getNodeType()
              + ")");
    }
    ObjectNode out = JSON.objectNode();
    out.put("id", responseId(ctx, upstreamBody));
    out.put("object", "chat.completion");
    out.put("created", ctx.createdEpochSeconds());
    out.put("model", ctx.clientModel());
    ArrayNode choices = out.putArray("choices");
    JsonNode candidates = upstreamBody.path("candidates");
    for (int pos = 0; pos < candidates.size(); pos++) {
      JsonNode candidate = candidates.get(pos);
      int index = candidate.path("index").asInt(pos);
      StringBuilder text = new StringBuilder();
      ArrayNode toolCalls = JSON.arrayNode();
      for (JsonNode part : candidate.path("content").path("parts")) {
        if (part.path("thought").asBoolean(false)) {
          continue; // thought summaries are not part of the answer
        }
        if (part.path("text").isTextual()) {
          text.append(part.path("text").asText());
        } else if (part.path("functionCall").isObject()) {
          toolCalls.add(toolCall(mapper, ctx, index, toolCalls.size(), part));
        }
      }
      ObjectNode choice = choices.addObject();
      choice.put("index", index);
      ObjectNode message = choice.putObject("message");
      message.put("role", "assistant");
      if (text.isEmpty() && !toolCalls.isEmpty()) {
        message.putNull("content");
      } else {
        message.put("content", text.toString());
      }
      message.putNull("refusal");
      if (!toolCalls.isEmpty()) {
        message.set("tool_calls", toolCalls);
      }
      choice.putNull("logprobs");
      choice.put(
          "finish_reason",
          finishReason(candidate.path("finishReason").asText(null), !toolCalls.isEmpty()));
    }
    if (candidates.isEmpty() && upstreamBody.path("promptFeedback").has("blockReason")) {
      // Gemini answers a blocked prompt with 200 and no candidates. The contract gives
      // chatResponse no error path, so answer as OpenAI does for filtered output.
      ObjectNode choice = choices.addObject();
      choice.put("index", 0);
      ObjectNode message = choice.putObject("message");
      message.put("role", "assistant");
      message.putNull("content");
      message.putNull("refusal");
      choice.putNull("logprobs");
      choice.put("finish_reason", "content_filter");
    }
    out.set("usage", usageJson(upstreamBody.path("usageMetadata")));
    return out;
  }

  @Override
  public StreamTranslator chatStream(ChatContext ctx) {
    requireNonNull(ctx, "ctx");
    return new GeminiStreamTranslator(ctx, mapper);
  }

  @Override
  public ProviderError error(int status, String body) {
    requireNonNull(body, "body");
    JsonNode root = parseQuietly(body);
    if (root.isArray() && !root.isEmpty()) {
      root = root.get(0); // streamGenerateContent without alt=sse wraps everything in an array
    }
    String blockReason = root.path("promptFeedback").path("blockReason").asText(null);
    if (blockReason != null) {
      return blocked(status, blockReason);
    }
    JsonNode error = root.path("error");
    String message = error.path("message").asText("");
    if (message.isEmpty()) {
      // Not Gemini's error shape: never echo it, it could carry anything.
      message = "Gemini answered HTTP " + status + " without an error message";
    }
    return new ProviderError(
        classify(status, error.path("status").asText(""), message, error.path("details")),
        status,
        message,
        retryAfterSeconds(error.path("details")));
  }

  static ProviderError blocked(int status, String blockReason) {
    return new ProviderError(
        ErrorClass.CONTENT_POLICY,
        status,
        "Gemini blocked the prompt (blockReason " + blockReason + ")",
        null);
  }

  static ErrorClass classify(int status, String grpcStatus, String message, JsonNode details) {
    String lower = message.toLowerCase(Locale.ROOT);
    for (JsonNode detail : details) {
      if ("API_KEY_INVALID".equals(detail.path("reason").asText())) {
        return ErrorClass.AUTH; // Gemini reports a bad key as 400 INVALID_ARGUMENT
      }
    }
    if (lower.contains("api key not valid") || lower.contains("api key expired")) {
      return ErrorClass.AUTH;
    }
    switch (grpcStatus) {
      case "RESOURCE_EXHAUSTED":
        return ErrorClass.RATE_LIMITED;
      case "UNAVAILABLE":
        return ErrorClass.OVERLOADED;
      case "PERMISSION_DENIED", "UNAUTHENTICATED":
        return ErrorClass.AUTH;
      case "DEADLINE_EXCEEDED":
        return ErrorClass.TIMEOUT;
      case "INVALID_ARGUMENT", "FAILED_PRECONDITION", "NOT_FOUND", "OUT_OF_RANGE":
        return isTokenLimit(lower) ? ErrorClass.CONTEXT_WINDOW : ErrorClass.BAD_REQUEST;
      case "INTERNAL", "UNKNOWN", "DATA_LOSS":
        return ErrorClass.SERVER;
      default:
        break;
    }
    if (status == 429) {
      return ErrorClass.RATE_LIMITED;
    }
    if (status == 503) {
      return ErrorClass.OVERLOADED;
    }
    if (status == 401 || status == 403) {
      return ErrorClass.AUTH;
    }
    if (status == 408 || status == 504) {
      return ErrorClass.TIMEOUT;
    }
    if (status >= 400 && status < 500) {
      return isTokenLimit(lower) ? ErrorClass.CONTEXT_WINDOW : ErrorClass.BAD_REQUEST;
    }
    return ErrorClass.SERVER;
  }

  private static boolean isTokenLimit(String lowerMessage) {
    return lowerMessage.contains("exceeds the maximum number of tokens")
        || (lowerMessage.contains("token count") && lowerMessage.contains("exceeds"))
        || lowerMessage.contains("context window");
  }

  /** {@code google.rpc.RetryInfo.retryDelay} is a duration string such as {@code "37s"}. */
  static @Nullable Long retryAfterSeconds(JsonNode details) {
    for (JsonNode detail : details) {
      String delay = detail.path("retryDelay").asText("");
      if (delay.endsWith("s")) {
        try {
          return new BigDecimal(delay.substring(0, delay.length() - 1))
              .setScale(0, RoundingMode.CEILING)
              .longValueExact();
        } catch (NumberFormatException | ArithmeticException e) {
          return null;
        }
      }
    }
    return null;
  }

  static String finishReason(@Nullable String reason, boolean hasToolCalls) {
    if (reason == null) {
      return hasToolCalls ? "tool_calls" : "stop";
    }
    return switch (reason) {
      case "MAX_TOKENS" -> "length";
      case "SAFETY",
          "RECITATION",
          "BLOCKLIST",
          "PROHIBITED_CONTENT",
          "SPII",
          "IMAGE_SAFETY",
          "IMAGE_PROHIBITED_CONTENT" ->
          "content_filter";
      // Gemini ends a function-calling turn with STOP; OpenAI clients look for tool_calls.
      default -> hasToolCalls ? "tool_calls" : "stop";
    };
  }

  /**
   * promptTokenCount already includes cached tokens; thinking tokens are billed as output, as
   * OpenAI counts reasoning tokens in completion_tokens.
   */
  static TokenUsage usage(JsonNode meta) {
    long prompt = meta.path("promptTokenCount").asLong(0);
    long output =
        meta.path("candidatesTokenCount").asLong(0) + meta.path("thoughtsTokenCount").asLong(0);
    return new TokenUsage(prompt, output, meta.path("cachedContentTokenCount").asLong(0));
  }

  /** OpenAI's usage object; thinking tokens also show as {@code reasoning_tokens}, as OpenAI's. */
  static ObjectNode usageJson(JsonNode meta) {
    ObjectNode node = usageJson(usage(meta));
    node.putObject("completion_tokens_details")
        .put("reasoning_tokens", meta.path("thoughtsTokenCount").asLong(0));
    return node;
  }

  static ObjectNode usageJson(TokenUsage usage) {
    ObjectNode node = JSON.objectNode();
    node.put("prompt_tokens", usage.promptTokens());
    node.put("completion_tokens", usage.completionTokens());
    node.put("total_tokens", usage.totalTokens());
    node.putObject("prompt_tokens_details").put("cached_tokens", usage.cachedTokens());
    return node;
  }

  static String responseId(ChatContext ctx, JsonNode body) {
    String id = body.path("responseId").asText("");
    return id.isEmpty() ? "chatcmpl-" + ctx.requestId() : "chatcmpl-" + id;
  }

  /** One functionCall part as a whole OpenAI tool call (Gemini never splits a call). */
  static ObjectNode toolCall(
      ObjectMapper mapper, ChatContext ctx, int candidate, int position, JsonNode part) {
    JsonNode fn = part.path("functionCall");
    ObjectNode call = JSON.objectNode();
    String id = fn.path("id").asText("");
    if (id.isEmpty()) {
      id = "call_" + ctx.requestId() + "_" + candidate + "_" + position;
    }
    String signature = part.path("thoughtSignature").asText("");
    if (!signature.isEmpty()) {
      id = id + SIGNATURE_SEPARATOR + signature;
    }
    call.put("id", id);
    call.put("type", "function");
    ObjectNode function = call.putObject("function");
    function.put("name", fn.path("name").asText());
    JsonNode args = fn.path("args");
    function.put("arguments", writeJson(mapper, args.isObject() ? args : JSON.objectNode()));
    return call;
  }

  private static String writeJson(ObjectMapper mapper, JsonNode node) {
    try {
      return mapper.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a JSON tree could not be written", e);
    }
  }

  private JsonNode parseQuietly(String body) {
    if (body.isBlank()) {
      return JSON.missingNode();
    }
    try {
      JsonNode node = mapper.readTree(body);
      return node == null ? JSON.missingNode() : node;
    } catch (JsonProcessingException e) {
      return JSON.missingNode();
    }
  }
}
