package io.agentrouter.dataplane.provider.openai;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.dataplane.provider.ChatContext;
import io.agentrouter.dataplane.provider.ProviderTarget;
import io.agentrouter.dataplane.provider.ProviderType;
import io.agentrouter.dataplane.provider.StreamTranslator;
import io.agentrouter.dataplane.provider.UpstreamCall;
import org.junit.jupiter.api.Test;

class OpenAiTranslatorTest {
  static final ObjectMapper JSON = new ObjectMapper();
  final OpenAiTranslator openAi = new OpenAiTranslator();

  ChatContext ctx(ProviderType type, String key, String version) {
    return new ChatContext(
        "req_1",
        new ProviderTarget("p", type, "http://x", key, version),
        "upstream-m",
        "alias",
        1L);
  }

  @Test
  void streamsAlwaysAskForUsageAndKeepTheClientsOtherOptions() throws Exception {
    ObjectNode req =
        (ObjectNode)
            JSON.readTree(
                "{\"model\":\"alias\",\"stream\":true,\"stream_options\":{\"include_usage\":false,\"x\":1},\"messages\":[]}");
    UpstreamCall call = openAi.chatRequest(ctx(ProviderType.OPENAI, "k", null), req);
    assertThat(call.stream()).isTrue();
    assertThat(call.path()).isEqualTo("/chat/completions");
    assertThat(call.headers()).containsEntry("authorization", "Bearer k");
    assertThat(call.body().path("model").asText()).isEqualTo("upstream-m");
    assertThat(call.body().path("stream_options").toString())
        .isEqualTo("{\"include_usage\":true,\"x\":1}");
    // The client's request is not modified (a fallback reuses it).
    assertThat(req.path("model").asText()).isEqualTo("alias");
    assertThat(req.path("stream_options").path("include_usage").asBoolean()).isFalse();
    // Local servers without a key get no Authorization header.
    assertThat(openAi.chatRequest(ctx(ProviderType.OPENAI, "", null), req).headers()).isEmpty();
  }

  @Test
  void azurePutsTheDeploymentInThePath() throws Exception {
    ObjectNode req = (ObjectNode) JSON.readTree("{\"model\":\"alias\",\"input\":\"x\"}");
    UpstreamCall call =
        new AzureOpenAiTranslator()
            .embeddingsRequest(ctx(ProviderType.AZURE_OPENAI, "az", null), req);
    assertThat(call.path()).isEqualTo("/deployments/upstream-m/embeddings?api-version=2024-10-21");
    assertThat(call.headers()).containsExactlyEntriesOf(java.util.Map.of("api-key", "az"));
    assertThat(call.body().has("model")).isFalse();
  }

  @Test
  void errorsAreClassified() {
    assertThat(
            openAi.error(
                400,
                "{\"error\":{\"message\":\"too long\",\"type\":\"invalid_request_error\",\"code\":\"context_length_exceeded\"}}"))
        .satisfies(
            e -> {
              assertThat(e.errorClass()).isEqualTo(ErrorClass.CONTEXT_WINDOW);
              assertThat(e.message()).isEqualTo("too long");
            });
    assertThat(
            openAi
                .error(400, "{\"error\":{\"message\":\"no\",\"code\":\"content_filter\"}}")
                .errorClass())
        .isEqualTo(ErrorClass.CONTENT_POLICY);
    assertThat(openAi.error(429, "").errorClass()).isEqualTo(ErrorClass.RATE_LIMITED);
    assertThat(openAi.error(401, "<html>").errorClass()).isEqualTo(ErrorClass.AUTH);
    assertThat(openAi.error(529, "overloaded").errorClass()).isEqualTo(ErrorClass.OVERLOADED);
    assertThat(openAi.error(500, "oops").errorClass()).isEqualTo(ErrorClass.SERVER);
    assertThat(openAi.error(422, "{}").errorClass()).isEqualTo(ErrorClass.BAD_REQUEST);
    // Ollama's shape.
    assertThat(openAi.error(404, "{\"error\":\"model 'x' not found\"}").message())
        .isEqualTo("model 'x' not found");
  }

  @Test
  void streamTranslatorTracksUsageErrorsAndTheEnd() {
    StreamTranslator st = openAi.chatStream(ctx(ProviderType.OPENAI, "k", null));
    assertThat(st.onEvent(null, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}"))
        .hasSize(1);
    st.onEvent(
        null,
        "{\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"prompt_tokens_details\":{\"cached_tokens\":3}}}");
    assertThat(st.usage().totalTokens()).isEqualTo(7);
    assertThat(st.usage().cachedTokens()).isEqualTo(3);
    assertThat(st.finished()).isFalse();
    assertThat(st.onEvent(null, "[DONE]")).isEmpty();
    assertThat(st.finished()).isTrue();

    StreamTranslator broken = openAi.chatStream(ctx(ProviderType.OPENAI, "k", null));
    assertThat(broken.onEvent(null, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}"))
        .isEmpty();
    assertThat(broken.error().errorClass()).isEqualTo(ErrorClass.SERVER);
    StreamTranslator garbage = openAi.chatStream(ctx(ProviderType.OPENAI, "k", null));
    garbage.onEvent(null, "{not json");
    assertThat(garbage.error()).isNotNull();
  }
}
