package io.agentrouter.dataplane.provider.openai;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agentrouter.dataplane.provider.ChatContext;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Azure OpenAI: OpenAI's bodies, but the deployment is in the path ({@code
 * /deployments/{deployment}/chat/completions}), the version in the {@code api-version} query
 * parameter and the key in the {@code api-key} header. The provider's base URL ends in {@code
 * /openai}; the catalog's upstream model is the deployment name.
 */
public final class AzureOpenAiTranslator extends OpenAiTranslator {
  /** Used when the provider config names no {@code api_version}. */
  public static final String DEFAULT_API_VERSION = "2024-10-21";

  public AzureOpenAiTranslator() {}

  @Override
  String path(ChatContext ctx, String operation) {
    String version = ctx.target().apiVersion();
    return "/deployments/"
        + URLEncoder.encode(ctx.upstreamModel(), StandardCharsets.UTF_8)
        + operation
        + "?api-version="
        + URLEncoder.encode(
            version == null ? DEFAULT_API_VERSION : version, StandardCharsets.UTF_8);
  }

  @Override
  Map<String, String> headers(ChatContext ctx) {
    return Map.of("api-key", ctx.target().apiKey());
  }

  @Override
  ObjectNode withModel(ChatContext ctx, ObjectNode openAiRequest) {
    ObjectNode body = openAiRequest.objectNode();
    body.setAll(openAiRequest);
    // The deployment in the path decides the model.
    body.remove("model");
    return body;
  }
}
