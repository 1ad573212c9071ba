package io.agentrouter.dataplane.provider.gemini;

import static io.agentrouter.dataplane.provider.gemini.GeminiTestSupport.ctx;
import static io.agentrouter.dataplane.provider.gemini.GeminiTestSupport.sse;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.dataplane.provider.StreamTranslator;
import io.agentrouter.dataplane.provider.TokenUsage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class GeminiStreamTranslatorTest {

  private final GeminiTranslator translator = new GeminiTranslator();

  private static List<ObjectNode> feed(StreamTranslator stream, String resource) {
    List<ObjectNode> chunks = new ArrayList<>();
    for (GeminiTestSupport.Sse e : sse(resource)) {
      chunks.addAll(stream.onEvent(e.event(), e.data()));
    }
    return chunks;
  }

  @Test
  void textStreamBecomesChunksEndingWithFinishAndUsage() {
    StreamTranslator stream = translator.chatStream(ctx(null));
    List<ObjectNode> chunks = feed(stream, "stream-text.sse");

    // Hello, " world", "!", finish, usage
    assertThat(chunks).hasSize(5);
    for (ObjectNode chunk : chunks) {
      assertThat(chunk.path("id").asText()).isEqualTo("chatcmpl-Hz4laPyXIs2n1dkP0bfN0Qg");
      assertThat(chunk.path("object").asText()).isEqualTo("chat.completion.chunk");
      assertThat(chunk.path("model").asText()).isEqualTo("gemini-flash");
      assertThat(chunk.path("created").asLong()).isEqualTo(1_700_000_000L);
    }
    JsonNode first = chunks.get(0).path("choices").get(0);
    assertThat(first.path("delta").path("role").asText()).isEqualTo("assistant");
    assertThat(first.path("delta").path("content").asText()).isEqualTo("Hello");
    assertThat(first.path("finish_reason").isNull()).isTrue();
    assertThat(chunks.get(1).path("choices").get(0).path("delta").has("role")).isFalse();
    assertThat(chunks.get(1).path("choices").get(0).path("delta").path("content").asText())
        .isEqualTo(" world");
    assertThat(chunks.get(2).path("choices").get(0).path("delta").path("content").asText())
        .isEqualTo("!");
    JsonNode finish = chunks.get(3).path("choices").get(0);
    assertThat(finish.path("delta")).isEmpty();
    assertThat(finish.path("finish_reason").asText()).isEqualTo("stop");
    JsonNode usage = chunks.get(4);
    assertThat(usage.path("choices")).isEmpty();
    assertThat(usage.path("usage").path("prompt_tokens").asLong()).isEqualTo(1200);
    assertThat(usage.path("usage").path("completion_tokens").asLong()).isEqualTo(33);
    assertThat(usage.path("usage").path("total_tokens").asLong()).isEqualTo(1233);
    assertThat(usage.path("usage").path("prompt_tokens_details").path("cached_tokens").asLong())
        .isEqualTo(1024);
    assertThat(
            usage.path("usage").path("completion_tokens_details").path("reasoning_tokens").asLong())
        .isEqualTo(30);

    assertThat(stream.finished()).isTrue();
    assertThat(stream.error()).isNull();
    assertThat(stream.usage()).isEqualTo(new TokenUsage(1200, 33, 1024));
  }

  @Test
  void functionCallsArriveWholeWithIndexesAndIds() {
    StreamTranslator stream = translator.chatStream(ctx(null));
    List<ObjectNode> chunks = feed(stream, "stream-function-call.sse");

    assertThat(chunks).hasSize(4);
    JsonNode d0 = chunks.get(0).path("choices").get(0).path("delta");
    assertThat(d0.path("role").asText()).isEqualTo("assistant");
    assertThat(d0.path("content").isNull()).isTrue();
    JsonNode c0 = d0.path("tool_calls").get(0);
    assertThat(c0.path("index").asInt()).isZero();
    assertThat(c0.path("id").asText()).isEqualTo("call_req-123_0_0~ts~CiQBsig==");
    assertThat(c0.path("type").asText()).isEqualTo("function");
    assertThat(c0.path("function").path("name").asText()).isEqualTo("get_weather");
    assertThat(c0.path("function").path("arguments").asText()).isEqualTo("{\"city\":\"Paris\"}");
    JsonNode c1 = chunks.get(1).path("choices").get(0).path("delta").path("tool_calls").get(0);
    assertThat(c1.path("index").asInt()).isEqualTo(1);
    assertThat(c1.path("id").asText()).isEqualTo("call_req-123_0_1");
    assertThat(chunks.get(2).path("choices").get(0).path("finish_reason").asText())
        .isEqualTo("tool_calls");
    assertThat(chunks.get(3).path("usage").path("completion_tokens").asLong()).isEqualTo(15);
    assertThat(stream.finished()).isTrue();
  }

  @Test
  void blockedPromptIsAContentPolicyError() {
    StreamTranslator stream = translator.chatStream(ctx(null));
    assertThat(feed(stream, "stream-blocked.sse")).isEmpty();

    assertThat(stream.error()).isNotNull();
    assertThat(stream.error().errorClass()).isEqualTo(ErrorClass.CONTENT_POLICY);
    assertThat(stream.error().message()).contains("PROHIBITED_CONTENT");
    assertThat(stream.finished()).isFalse();
  }

  @Test
  void inStreamErrorAfterContentIsReported() {
    StreamTranslator stream = translator.chatStream(ctx(null));
    List<ObjectNode> chunks = feed(stream, "stream-error.sse");

    assertThat(chunks).hasSize(1);
    assertThat(chunks.get(0).path("choices").get(0).path("delta").path("content").asText())
        .isEqualTo("Once upon");
    assertThat(stream.error()).isNotNull();
    assertThat(stream.error().errorClass()).isEqualTo(ErrorClass.OVERLOADED);
    assertThat(stream.error().message())
        .isEqualTo("The model is overloaded. Please try again later.");
    assertThat(stream.finished()).isFalse();
  }

  @Test
  void malformedEventIsAServerError() {
    StreamTranslator stream = translator.chatStream(ctx(null));
    assertThat(stream.onEvent(null, "{\"candidates\": [")).isEmpty();
    assertThat(stream.error()).isNotNull();
    assertThat(stream.error().errorClass()).isEqualTo(ErrorClass.SERVER);
  }

  @Test
  void twoCandidatesStreamOnTheirOwnIndexesAndFinishTogether() {
    StreamTranslator stream = translator.chatStream(ctx(null));
    List<ObjectNode> first =
        stream.onEvent(
            null,
            "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"A\"}],\"role\":\"model\"},"
                + "\"index\":0},{\"content\":{\"parts\":[{\"text\":\"B\"}],\"role\":\"model\"},"
                + "\"index\":1}]}");
    assertThat(first).hasSize(2);
    assertThat(first.get(1).path("choices").get(0).path("index").asInt()).isEqualTo(1);
    assertThat(first.get(1).path("choices").get(0).path("delta").path("role").asText())
        .isEqualTo("assistant");

    List<ObjectNode> half =
        stream.onEvent(null, "{\"candidates\":[{\"finishReason\":\"STOP\",\"index\":0}]}");
    assertThat(half).hasSize(1);
    assertThat(stream.finished()).isFalse();

    List<ObjectNode> last =
        stream.onEvent(
            null,
            "{\"candidates\":[{\"finishReason\":\"MAX_TOKENS\",\"index\":1}],"
                + "\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":2}}");
    assertThat(last).hasSize(2);
    assertThat(last.get(0).path("choices").get(0).path("finish_reason").asText())
        .isEqualTo("length");
    assertThat(stream.finished()).isTrue();
    assertThat(stream.usage()).isEqualTo(new TokenUsage(4, 2, 0));
  }
}
