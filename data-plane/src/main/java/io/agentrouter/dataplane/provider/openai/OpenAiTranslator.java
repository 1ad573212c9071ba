package io.agentrouter.dataplane.provider.openai;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agentrouter.common.config.ModelKind;
import io.agentrouter.dataplane.provider.ChatContext;
import io.agentrouter.dataplane.provider.ProviderError;
import io.agentrouter.dataplane.provider.ProviderTranslator;
import io.agentrouter.dataplane.provider.StreamTranslator;
import io.agentrouter.dataplane.provider.UpstreamCall;
import java.util.Map;

/**
 * OpenAI and every API that speaks its wire format (Groq, Mistral, Together, DeepSeek, Ollama,
 * vLLM): the request passes through with the upstream model name, and streams always ask for the
 * usage chunk so the gateway can meter them.
 */
public class OpenAiTranslator implements ProviderTranslator {

  public OpenAiTranslator() {}

  @Override
  public boolean supports(ModelKind kind) {
    return true;
  }

  @Override
  public UpstreamCall chatRequest(ChatContext ctx, ObjectNode openAiRequest) {
    requireNonNull(ctx, "ctx");
    ObjectNode body = withModel(ctx, openAiRequest);
    boolean stream = openAiRequest.path("stream").asBoolean(false);
    if (stream) {
      // The gateway meters streams from the final usage chunk; clients that did not ask for it do
      // not see it (the router drops it).
      ObjectNode options = body.objectNode();
      JsonNode given = openAiRequest.get("stream_options");
      if (given instanceof ObjectNode o) {
        options.setAll(o);
      }
      options.put("include_usage", true);
      body.set("stream_options", options);
    }
    return new UpstreamCall(path(ctx, "/chat/completions"), headers(ctx), body, stream);
  }

  @Override
  public ObjectNode chatResponse(ChatContext ctx, JsonNode upstreamBody) {
    return asObject(upstreamBody, "chat completion");
  }

  @Override
  public StreamTranslator chatStream(ChatContext ctx) {
    return new OpenAiStreamTranslator();
  }

  @Override
  public ProviderError error(int status, String body) {
    return OpenAiErrors.classify(status, body);
  }

  @Override
  public UpstreamCall embeddingsRequest(ChatContext ctx, ObjectNode openAiRequest) {
    return new UpstreamCall(
        path(ctx, "/embeddings"), headers(ctx), withModel(ctx, openAiRequest), false);
  }

  @Override
  public ObjectNode embeddingsResponse(ChatContext ctx, JsonNode upstreamBody) {
    return asObject(upstreamBody, "embeddings response");
  }

  @Override
  public UpstreamCall imagesRequest(ChatContext ctx, ObjectNode openAiRequest) {
    return new UpstreamCall(
        path(ctx, "/images/generations"), headers(ctx), withModel(ctx, openAiRequest), false);
  }

  @Override
  public ObjectNode imagesResponse(ChatContext ctx, JsonNode upstreamBody) {
    return asObject(upstreamBody, "images response");
  }

  /** The path for an operation, relative to the provider's base URL. */
  String path(ChatContext ctx, String operation) {
    return operation;
  }

  Map<String, String> headers(ChatContext ctx) {
    String key = ctx.target().apiKey();
    // Local servers (Ollama, vLLM) often need no key at all.
    return key.isEmpty() ? Map.of() : Map.of("authorization", "Bearer " + key);
  }

  /** A shallow copy with the upstream model name: the client's request is left untouched. */
  ObjectNode withModel(ChatContext ctx, ObjectNode openAiRequest) {
    ObjectNode body = openAiRequest.objectNode();
    body.setAll(openAiRequest);
    body.put("model", ctx.upstreamModel());
    return body;
  }

  static ObjectNode asObject(JsonNode body, String what) {
    if (body instanceof ObjectNode o) {
      return o;
    }
    throw new IllegalArgumentException(
        "upstream " + what + " is a " + body.getNodeType() + " (expected: a JSON object)");
  }
}
