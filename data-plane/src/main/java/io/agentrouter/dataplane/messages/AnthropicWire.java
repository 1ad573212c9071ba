package io.agentrouter.dataplane.messages;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.RequestHeaders;
import io.agentrouter.dataplane.provider.ChatContext;
import io.agentrouter.dataplane.provider.TokenUsage;
import io.agentrouter.dataplane.provider.UpstreamCall;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Anthropic wire details shared by the Messages and count_tokens surfaces. */
final class AnthropicWire {
  static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  /** Sent when neither the client nor the provider config names a version. */
  static final String DEFAULT_VERSION = "2023-06-01";

  private AnthropicWire() {}

  /**
   * The client's body with only {@code model} replaced, to {@code path} on an Anthropic target. The
   * client's {@code anthropic-version} wins over the provider config's (the client knows the shape
   * it sends); {@code anthropic-beta} is forwarded as the client sent it.
   */
  static UpstreamCall passthrough(
      ChatContext cc, String path, ObjectNode body, RequestHeaders client, boolean stream) {
    ObjectNode out = body.objectNode();
    out.setAll(body);
    out.put("model", cc.upstreamModel());
    Map<String, String> h = new LinkedHashMap<>();
    h.put("x-api-key", cc.target().apiKey());
    String version = client.get("anthropic-version");
    if (version == null || version.isBlank()) {
      version = cc.target().apiVersion();
    }
    h.put("anthropic-version", version == null || version.isBlank() ? DEFAULT_VERSION : version);
    List<String> betas = client.getAll("anthropic-beta");
    if (!betas.isEmpty()) {
      h.put("anthropic-beta", String.join(",", betas));
    }
    h.put("content-type", "application/json");
    if (stream) {
      h.put("accept", "text/event-stream");
    }
    return new UpstreamCall(path, h, out, stream);
  }

  /**
   * Anthropic usage to ours: Anthropic's {@code input_tokens} excludes cache reads and writes, our
   * prompt tokens include both. Fields missing from {@code u} keep their value in {@code prior}
   * ({@code message_delta} repeats only some of them).
   */
  static TokenUsage usage(JsonNode u, TokenUsage prior) {
    long read =
        u.path("cache_read_input_tokens").isNumber()
            ? u.path("cache_read_input_tokens").asLong()
            : prior.cachedTokens();
    long write =
        u.path("cache_creation_input_tokens").isNumber()
            ? u.path("cache_creation_input_tokens").asLong()
            : prior.cacheWriteTokens();
    long input =
        u.path("input_tokens").isNumber()
            ? u.path("input_tokens").asLong()
            : prior.promptTokens() - prior.cachedTokens() - prior.cacheWriteTokens();
    long output =
        u.path("output_tokens").isNumber()
            ? u.path("output_tokens").asLong()
            : prior.completionTokens();
    return new TokenUsage(input + read + write, output, read, write);
  }

  /** Anthropic's error object, {@code {"type":"error","error":{"type","message"}}}. */
  static ObjectNode error(String type, String message) {
    ObjectNode e = JSON.objectNode().put("type", "error");
    e.putObject("error").put("type", type).put("message", message);
    return e;
  }

  /** Anthropic's error type for a status. */
  static String errorType(int status) {
    return switch (status) {
      case 400, 415, 422 -> "invalid_request_error";
      case 401 -> "authentication_error";
      case 403 -> "permission_error";
      case 404 -> "not_found_error";
      case 413 -> "request_too_large";
      case 429 -> "rate_limit_error";
      case 503, 529 -> "overloaded_error";
      default -> status < 500 ? "invalid_request_error" : "api_error";
    };
  }

  /** One SSE event: {@code event: <type>} and the JSON. */
  static HttpData frame(ObjectMapper mapper, ObjectNode event) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try {
      out.write(
          ("event: " + event.path("type").asText() + "\ndata: ").getBytes(StandardCharsets.UTF_8));
      mapper.writeValue(out, event);
      out.write('\n');
      out.write('\n');
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return HttpData.wrap(out.toByteArray());
  }
}
