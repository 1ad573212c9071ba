package io.agentrouter.dataplane.responses;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.RequestHeaders;
import io.agentrouter.dataplane.chain.ClientSurface;
import io.agentrouter.dataplane.provider.ChatContext;
import io.agentrouter.dataplane.provider.ProviderTranslator;
import io.agentrouter.dataplane.provider.ProviderType;
import io.agentrouter.dataplane.provider.StreamTranslator;
import io.agentrouter.dataplane.provider.TokenUsage;
import io.agentrouter.dataplane.provider.UpstreamCall;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * OpenAI's Responses API ({@code POST /v1/responses}), as Codex and newer OpenAI clients speak it.
 * To OpenAI and Azure OpenAI targets the client's body passes through with only the model replaced
 * (Azure: the deployment), and the answer and its events come back as sent. To Anthropic and Gemini
 * it is bridged through chat completions: input items to chat messages, function calls to tool
 * calls, and the chat answer (or stream) back to a response object (or Responses events).
 */
public final class ResponsesSurface implements ClientSurface {
  /** Azure's first api-version with the Responses API; used when the provider config has none. */
  static final String AZURE_VERSION = "2025-04-01-preview";

  private final ObjectMapper mapper;

  public ResponsesSurface(ObjectMapper mapper) {
    this.mapper = requireNonNull(mapper, "mapper");
  }

  static boolean openAiFamily(ChatContext cc) {
    ProviderType t = cc.target().type();
    return t == ProviderType.OPENAI || t == ProviderType.AZURE_OPENAI;
  }

  @Override
  public UpstreamCall request(
      ChatContext cc, ProviderTranslator provider, ObjectNode body, RequestHeaders headers) {
    boolean stream = body.path("stream").asBoolean(false);
    if (!openAiFamily(cc)) {
      return provider.chatRequest(cc, ResponsesBridge.toChat(body));
    }
    ObjectNode out = body.objectNode();
    out.setAll(body);
    out.put("model", cc.upstreamModel());
    String key = cc.target().apiKey();
    if (cc.target().type() == ProviderType.AZURE_OPENAI) {
      String v = cc.target().apiVersion();
      String version = v == null || v.compareTo(AZURE_VERSION) < 0 ? AZURE_VERSION : v;
      return new UpstreamCall(
          "/responses?api-version=" + URLEncoder.encode(version, StandardCharsets.UTF_8),
          Map.of("api-key", key),
          out,
          stream);
    }
    return new UpstreamCall(
        "/responses",
        key.isEmpty() ? Map.of() : Map.of("authorization", "Bearer " + key),
        out,
        stream);
  }

  @Override
  public ObjectNode response(ChatContext cc, ProviderTranslator provider, JsonNode upstream) {
    if (openAiFamily(cc)) {
      if (!(upstream instanceof ObjectNode o) || !"response".equals(o.path("object").asText())) {
        throw new IllegalArgumentException(
            "upstream answer is not a response (expected: {\"object\":\"response\",...})");
      }
      return o;
    }
    return ResponsesBridge.toResponse(cc, provider.chatResponse(cc, upstream));
  }

  @Override
  public StreamTranslator stream(ChatContext cc, ProviderTranslator provider) {
    if (openAiFamily(cc)) {
      return new ResponsesPassthroughStream(mapper, provider);
    }
    return new ResponsesStreamBridge(cc, provider.chatStream(cc));
  }

  @Override
  public TokenUsage usage(JsonNode response) {
    return usageOf(response.path("usage"));
  }

  /** Responses usage: input tokens include cached ones, as in our records. */
  static TokenUsage usageOf(JsonNode u) {
    return new TokenUsage(
        u.path("input_tokens").asLong(0),
        u.path("output_tokens").asLong(0),
        u.path("input_tokens_details").path("cached_tokens").asLong(0));
  }

  @Override
  public boolean isContent(ObjectNode event) {
    String type = event.path("type").asText();
    return type.startsWith("response.output_")
        || type.startsWith("response.content_part.")
        || type.startsWith("response.function_call_arguments.")
        || type.startsWith("response.reasoning")
        || isFinish(event);
  }

  @Override
  public boolean isFinish(ObjectNode event) {
    String type = event.path("type").asText();
    return type.equals("response.completed") || type.equals("response.incomplete");
  }

  @Override
  public HttpData frame(ObjectNode event) {
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

  @Override
  public HttpData streamError(String message) {
    ObjectNode e = mapper.createObjectNode().put("type", "error");
    e.put("code", "upstream_error").put("message", message).putNull("param");
    e.put("sequence_number", 0);
    return frame(e);
  }
}
