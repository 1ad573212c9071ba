package io.agentrouter.dataplane.provider.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.dataplane.provider.ProviderError;
import io.agentrouter.dataplane.provider.TokenUsage;

/** Classifies OpenAI-shaped error answers and reads OpenAI usage objects. */
final class OpenAiErrors {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private OpenAiErrors() {}

  static ProviderError classify(int status, String body) {
    JsonNode error = null;
    try {
      JsonNode root = MAPPER.readTree(body);
      if (root != null && root.path("error").isObject()) {
        error = root.get("error");
      } else if (root != null && root.path("error").isTextual()) {
        // Some compatible servers (Ollama) answer {"error": "message"}.
        return new ProviderError(classOf(status, "", ""), status, root.get("error").asText(), null);
      }
    } catch (Exception e) {
      // Not JSON: classify by status alone.
    }
    if (error == null) {
      return new ProviderError(
          classOf(status, "", ""), status, "the provider answered HTTP " + status, null);
    }
    return fromErrorObject(status, error);
  }

  static ProviderError fromErrorObject(int status, JsonNode error) {
    String code = error.path("code").asText("");
    String type = error.path("type").asText("");
    String message = error.path("message").asText("");
    if (message.isEmpty()) {
      message = "the provider answered HTTP " + status;
    }
    return new ProviderError(classOf(status, code, type), status, message, null);
  }

  static ErrorClass classOf(int status, String code, String type) {
    if (code.equals("context_length_exceeded") || code.equals("string_above_max_length")) {
      return ErrorClass.CONTEXT_WINDOW;
    }
    if (code.equals("content_filter")
        || code.equals("content_policy_violation")
        || type.equals("content_filter")) {
      return ErrorClass.CONTENT_POLICY;
    }
    if (status == 0) {
      // An error event inside a stream: OpenAI sends server_error / rate_limit types there.
      return type.contains("rate_limit") ? ErrorClass.RATE_LIMITED : ErrorClass.SERVER;
    }
    if (status == 429) {
      return ErrorClass.RATE_LIMITED;
    }
    if (status == 401 || status == 403) {
      return ErrorClass.AUTH;
    }
    if (status == 408 || status == 504) {
      return ErrorClass.TIMEOUT;
    }
    if (status == 503 || status == 529) {
      return ErrorClass.OVERLOADED;
    }
    if (status >= 500) {
      return ErrorClass.SERVER;
    }
    return ErrorClass.BAD_REQUEST;
  }

  static TokenUsage usageOf(JsonNode usage) {
    long prompt = usage.path("prompt_tokens").asLong(usage.path("input_tokens").asLong(0));
    long completion = usage.path("completion_tokens").asLong(usage.path("output_tokens").asLong(0));
    long cached = usage.path("prompt_tokens_details").path("cached_tokens").asLong(0);
    return new TokenUsage(prompt, completion, cached);
  }
}
