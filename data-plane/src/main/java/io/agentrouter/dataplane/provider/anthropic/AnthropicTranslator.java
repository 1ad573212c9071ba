package io.agentrouter.dataplane.provider.anthropic;

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
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * OpenAI chat completions to and from the Anthropic Messages API ({@code POST /v1/messages}).
 *
 * <p>A request that cannot be expressed in Anthropic's format (e.g. {@code n > 1}, a tool call
 * whose arguments are not a JSON object) is refused with an {@link IllegalArgumentException} whose
 * message is meant for the client (a 400). Fields Anthropic has no counterpart for are dropped; see
 * {@code docs/providers.md}.
 */
public final class AnthropicTranslator implements ProviderTranslator {

  /** The Messages API version sent when the target names none. */
  static final String DEFAULT_API_VERSION = "2023-06-01";

  /**
   * Anthropic requires {@code max_tokens}; OpenAI does not. 4096 fits every Claude model's output
   * limit and keeps budget reservations (prompt + max_tokens) modest.
   */
  static final int DEFAULT_MAX_TOKENS = 4096;

  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private final ObjectMapper mapper = JsonMapper.builder().build();

  public AnthropicTranslator() {}

  @Override
  public UpstreamCall chatRequest(ChatContext ctx, ObjectNode openAiRequest) {
    requireNonNull(ctx, "ctx");
    requireNonNull(openAiRequest, "openAiRequest");
    ObjectNode body = new AnthropicRequestBuilder(mapper).build(ctx.upstreamModel(), openAiRequest);
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("x-api-key", ctx.target().apiKey());
    String version = ctx.target().apiVersion();
    headers.put(
        "anthropic-version", version == null || version.isBlank() ? DEFAULT_API_VERSION : version);
    headers.put("content-type", "application/json");
    boolean stream = body.path("stream").asBoolean(false);
    if (stream) {
      headers.put("accept", "text/event-stream");
    }
    return new UpstreamCall("/v1/messages", headers, body, stream);
  }

  @Override
  public ObjectNode chatResponse(ChatContext ctx, JsonNode upstreamBody) {
    requireNonNull(ctx, "ctx");
    requireNonNull(upstreamBody, "upstreamBody");
    if (!upstreamBody.isObject() || !upstreamBody.path("content").isArray()) {
      throw new IllegalArgumentException(
          "Anthropic response has no content array (expected a Messages API 'message' object,"
              + " got "
              + upstreamBody.getNodeType()
              + ")");
    }
    StringBuilder text = new StringBuilder();
    ArrayNode toolCalls = JSON.arrayNode();
    for (JsonNode block : upstreamBody.path("content")) {
      switch (block.path("type").asText()) {
        case "text" -> text.append(block.path("text").asText());
        case "tool_use" -> {
          ObjectNode call = toolCalls.addObject();
          call.put("id", block.path("id").asText());
          call.put("type", "function");
          ObjectNode fn = call.putObject("function");
          fn.put("name", block.path("name").asText());
          fn.put(
              "arguments",
              writeJson(
                  block.path("input").isMissingNode() ? JSON.objectNode() : block.path("input")));
        }
        // thinking, redacted_thinking and server-side tool blocks have no chat-completions form.
        default -> {}
      }
    }

    ObjectNode out = JSON.objectNode();
    out.put("id", responseId(ctx, upstreamBody.path("id").asText(null)));
    out.put("object", "chat.completion");
    out.put("created", ctx.createdEpochSeconds());
    out.put("model", ctx.clientModel());
    ObjectNode choice = out.putArray("choices").addObject();
    choice.put("index", 0);
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
    choice.put("finish_reason", finishReason(upstreamBody.path("stop_reason").asText(null)));
    out.set("usage", usageJson(usage(upstreamBody.path("usage"))));
    return out;
  }

  @Override
  public StreamTranslator chatStream(ChatContext ctx) {
    requireNonNull(ctx, "ctx");
    return new AnthropicStreamTranslator(ctx);
  }

  @Override
  public ProviderError error(int status, String body) {
    requireNonNull(body, "body");
    JsonNode error = parseQuietly(body).path("error");
    String type = error.path("type").asText("");
    String message = error.path("message").asText("");
    if (message.isEmpty()) {
      // Not Anthropic's error shape (a proxy's HTML page, an empty body): never echo it, it could
      // carry anything, our own request headers included.
      message = "Anthropic answered HTTP " + status + " without an error message";
    }
    return new ProviderError(classify(status, type, message), status, message, null);
  }

  /**
   * Classifies by Anthropic's error type first (it is also what in-stream errors carry, with no
   * status), then by HTTP status.
   */
  static ErrorClass classify(int status, String type, String message) {
    String lower = message.toLowerCase(Locale.ROOT);
    if (lower.contains("prompt is too long")
        || lower.contains("exceed context limit")
        || lower.contains("context window")) {
      return ErrorClass.CONTEXT_WINDOW;
    }
    if (lower.contains("credit balance")) {
      // Anthropic reports an exhausted account as a 400; another provider can still serve it.
      return ErrorClass.AUTH;
    }
    switch (type) {
      case "rate_limit_error":
        return ErrorClass.RATE_LIMITED;
      case "overloaded_error":
        return ErrorClass.OVERLOADED;
      case "authentication_error", "permission_error", "billing_error":
        return ErrorClass.AUTH;
      case "timeout_error":
        return ErrorClass.TIMEOUT;
      case "api_error":
        return ErrorClass.SERVER;
      case "invalid_request_error", "not_found_error", "request_too_large":
        return ErrorClass.BAD_REQUEST;
      default:
        break;
    }
    if (status == 429) {
      return ErrorClass.RATE_LIMITED;
    }
    if (status == 529 || status == 503) {
      return ErrorClass.OVERLOADED;
    }
    if (status == 401 || status == 402 || status == 403) {
      return ErrorClass.AUTH;
    }
    if (status == 408 || status == 504) {
      return ErrorClass.TIMEOUT;
    }
    if (status >= 400 && status < 500) {
      return ErrorClass.BAD_REQUEST;
    }
    return ErrorClass.SERVER;
  }

  /** Anthropic stop reasons to OpenAI finish reasons. */
  static String finishReason(@Nullable String stopReason) {
    if (stopReason == null) {
      return "stop";
    }
    return switch (stopReason) {
      case "max_tokens", "model_context_window_exceeded" -> "length";
      case "tool_use" -> "tool_calls";
      case "refusal" -> "content_filter";
      // end_turn, stop_sequence, pause_turn and anything newer
      default -> "stop";
    };
  }

  /** Anthropic's input_tokens excludes cached input; OpenAI's prompt_tokens includes it. */
  static TokenUsage usage(JsonNode usage) {
    long input = usage.path("input_tokens").asLong(0);
    long cacheRead = usage.path("cache_read_input_tokens").asLong(0);
    long cacheWrite = usage.path("cache_creation_input_tokens").asLong(0);
    long output = usage.path("output_tokens").asLong(0);
    return new TokenUsage(input + cacheRead + cacheWrite, output, cacheRead);
  }

  static ObjectNode usageJson(TokenUsage usage) {
    ObjectNode node = JSON.objectNode();
    node.put("prompt_tokens", usage.promptTokens());
    node.put("completion_tokens", usage.completionTokens());
    node.put("total_tokens", usage.totalTokens());
    node.putObject("prompt_tokens_details").put("cached_tokens", usage.cachedTokens());
    return node;
  }

  static String responseId(ChatContext ctx, @Nullable String messageId) {
    // Keeping Anthropic's message id lets an operator find the call in the provider's console.
    return messageId == null || messageId.isEmpty() ? "chatcmpl-" + ctx.requestId() : messageId;
  }

  private String writeJson(JsonNode node) {
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
