package io.agentrouter.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Iterator;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/** The error shapes the evidence checks hold each refusal to. */
final class ErrorShapes {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> OPENAI_FIELDS = Set.of("message", "type", "param", "code");

  private ErrorShapes() {}

  /**
   * Null when {@code body} is OpenAI's {@code {"error":{"message","type","param","code"}}} (message
   * and type non-empty strings, param and code present, string or null); else what is wrong.
   */
  static @Nullable String openAiProblem(String body) {
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (IOException e) {
      return "not JSON: " + abbreviate(body);
    }
    if (root == null || !root.isObject() || root.size() != 1 || !root.path("error").isObject()) {
      return "not {\"error\":{...}}: " + abbreviate(body);
    }
    JsonNode error = root.get("error");
    for (Iterator<String> it = error.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!OPENAI_FIELDS.contains(f)) {
        return "unexpected field '" + f + "': " + abbreviate(body);
      }
    }
    for (String f : OPENAI_FIELDS) {
      JsonNode v = error.get(f);
      if (v == null || !(v.isTextual() || v.isNull())) {
        return "field '" + f + "' missing or not a string/null: " + abbreviate(body);
      }
    }
    if (error.get("message").asText("").isEmpty() || error.get("type").asText("").isEmpty()) {
      return "empty message or type: " + abbreviate(body);
    }
    return null;
  }

  /**
   * Null when {@code body} is Anthropic's {@code {"type":"error","error":{"type","message"}}}, the
   * shape of the data plane's Messages routes; else what is wrong.
   */
  static @Nullable String anthropicProblem(String body) {
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (IOException e) {
      return "not JSON: " + abbreviate(body);
    }
    if (root == null
        || !root.path("type").asText().equals("error")
        || !root.path("error").path("type").isTextual()
        || root.path("error").path("message").asText("").isEmpty()) {
      return "not {\"type\":\"error\",\"error\":{type,message}}: " + abbreviate(body);
    }
    return null;
  }

  /**
   * Null when {@code body} is the control plane's REST rendering of a {@code google.rpc.Status}
   * with {@code expectedStatus} (e.g. INVALID_ARGUMENT) and {@code httpCode}; else what is wrong.
   */
  static @Nullable String rpcStatusProblem(String body, String expectedStatus, int httpCode) {
    JsonNode error;
    try {
      error = JSON.readTree(body).path("error");
    } catch (IOException e) {
      return "not JSON: " + abbreviate(body);
    }
    if (!error.isObject()) {
      return "not {\"error\":{...}}: " + abbreviate(body);
    }
    if (error.path("code").asInt() != httpCode
        || !error.path("status").asText().equals(expectedStatus)
        || error.path("message").asText("").isEmpty()) {
      return "expected code "
          + httpCode
          + ", status "
          + expectedStatus
          + " and a message: "
          + abbreviate(body);
    }
    return null;
  }

  static String abbreviate(String s) {
    return s.length() <= 300 ? s : s.substring(0, 300) + "…";
  }
}
