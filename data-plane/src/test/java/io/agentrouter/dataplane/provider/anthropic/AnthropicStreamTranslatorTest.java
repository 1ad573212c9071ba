package io.agentrouter.dataplane.provider.anthropic;

import static io.agentrouter.dataplane.provider.anthropic.AnthropicTestSupport.ctx;
import static io.agentrouter.dataplane.provider.anthropic.AnthropicTestSupport.sse;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.dataplane.provider.StreamTranslator;
import io.agentrouter.dataplane.provider.TokenUsage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AnthropicStreamTranslatorTest {

  private final AnthropicTranslator translator = new AnthropicTranslator();

  private static List<ObjectNode> feed(StreamTranslator stream, String resource) {
    List<ObjectNode> chunks = new ArrayList<>();
    for (AnthropicTestSupport.Sse e : sse(resource)) {
      chunks.addAll(stream.onEvent(e.event(), e.data()));
    }
    return chunks;
  }

  @Test
  void textStreamBecomesRoleContentFinishAndUsageChunks() {
    StreamTranslator stream = translator.chatStream(ctx(null));
    List<ObjectNode> chunks = feed(stream, "stream-text.sse");

    assertThat(chunks).hasSize(4);
    for (ObjectNode chunk : chunks) {
      assertThat(chunk.path("id").asText()).isEqualTo("msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY");
      assertThat(chunk.path("object").asText()).isEqualTo("chat.completion.chunk");
      assertThat(chunk.path("created").asLong()).isEqualTo(1_700_000_000L);
      assertThat(chunk.path("model").asText()).isEqualTo("claude-sonnet");
    }
    JsonNode first = chunks.get(0).path("choices").get(0);
    assertThat(first.path("index").asInt()).isZero();
    assertThat(first.path("delta").path("role").asText()).isEqualTo("assistant");
    assertThat(first.path("delta").path("content").asText()).isEqualTo("Hello");
    assertThat(first.path("finish_reason").isNull()).isTrue();
    JsonNode second = chunks.get(1).path("choices").get(0);
    assertThat(second.path("delta").has("role")).isFalse();
    assertThat(second.path("delta").path("content").asText()).isEqualTo("!");
    JsonNode finish = chunks.get(2).path("choices").get(0);
    assertThat(finish.path("delta")).isEmpty();
    assertThat(finish.path("finish_reason").asText()).isEqualTo("stop");
    ObjectNode usage = chunks.get(3);
    assertThat(usage.path("choices")).isEmpty();
    assertThat(usage.path("usage").path("prompt_tokens").asLong()).isEqualTo(25 + 10 + 100);
    assertThat(usage.path("usage").path("completion_tokens").asLong()).isEqualTo(15);
    assertThat(usage.path("usage").path("total_tokens").asLong()).isEqualTo(150);
    assertThat(usage.path("usage").path("prompt_tokens_details").path("cached_tokens").asLong())
        .isEqualTo(100);

    assertThat(stream.finished()).isTrue();
    assertThat(stream.error()).isNull();
    assertThat(stream.usage()).isEqualTo(new TokenUsage(135, 15, 100, 10));
  }

  @Test
  void toolUseStreamBecomesIndexedToolCallDeltasAndSkipsThinking() {
    StreamTranslator stream = translator.chatStream(ctx(null));
    List<ObjectNode> chunks = feed(stream, "stream-tool-use.sse");

    // text, call 0 start, 2 argument pieces, call 1 start, 1 argument piece, finish, usage
    assertThat(chunks).hasSize(8);
    JsonNode text = chunks.get(0).path("choices").get(0).path("delta");
    assertThat(text.path("role").asText()).isEqualTo("assistant");
    assertThat(text.path("content").asText()).isEqualTo("Let me check.");

    JsonNode start0 = chunks.get(1).path("choices").get(0).path("delta").path("tool_calls").get(0);
    assertThat(start0.path("index").asInt()).isZero();
    assertThat(start0.path("id").asText()).isEqualTo("toolu_01T1x1fJ34qAmk2tNTrN7Up6");
    assertThat(start0.path("type").asText()).isEqualTo("function");
    assertThat(start0.path("function").path("name").asText()).isEqualTo("get_weather");
    assertThat(start0.path("function").path("arguments").asText()).isEmpty();

    StringBuilder args0 = new StringBuilder();
    for (int i = 2; i <= 3; i++) {
      JsonNode call = chunks.get(i).path("choices").get(0).path("delta").path("tool_calls").get(0);
      assertThat(call.path("index").asInt()).isZero();
      assertThat(call.has("id")).isFalse();
      args0.append(call.path("function").path("arguments").asText());
    }
    assertThat(args0.toString()).isEqualTo("{\"city\": \"San Francisco\"}");

    JsonNode start1 = chunks.get(4).path("choices").get(0).path("delta").path("tool_calls").get(0);
    assertThat(start1.path("index").asInt()).isEqualTo(1);
    assertThat(start1.path("id").asText()).isEqualTo("toolu_02");
    JsonNode args1 = chunks.get(5).path("choices").get(0).path("delta").path("tool_calls").get(0);
    assertThat(args1.path("index").asInt()).isEqualTo(1);
    assertThat(args1.path("function").path("arguments").asText()).isEqualTo("{}");

    assertThat(chunks.get(6).path("choices").get(0).path("finish_reason").asText())
        .isEqualTo("tool_calls");
    assertThat(chunks.get(7).path("usage").path("completion_tokens").asLong()).isEqualTo(89);
    assertThat(stream.usage()).isEqualTo(new TokenUsage(472, 89, 0));
  }

  @Test
  void noChunkBeforeFirstContentSoTheRouterCanStillFallBack() {
    StreamTranslator stream = translator.chatStream(ctx(null));
    List<AnthropicTestSupport.Sse> events = sse("stream-text.sse");

    // message_start, content_block_start (empty text), ping
    for (int i = 0; i < 3; i++) {
      assertThat(stream.onEvent(events.get(i).event(), events.get(i).data())).isEmpty();
    }
    assertThat(stream.finished()).isFalse();
    assertThat(stream.usage().promptTokens()).isEqualTo(135);
  }

  @Test
  void inStreamErrorIsReportedWithItsClass() {
    StreamTranslator stream = translator.chatStream(ctx(null));
    List<ObjectNode> chunks = feed(stream, "stream-error.sse");

    assertThat(chunks).hasSize(1);
    assertThat(chunks.get(0).path("choices").get(0).path("delta").path("content").asText())
        .isEqualTo("Once upon");
    assertThat(stream.finished()).isFalse();
    assertThat(stream.error()).isNotNull();
    assertThat(stream.error().errorClass()).isEqualTo(ErrorClass.OVERLOADED);
    assertThat(stream.error().status()).isZero();
    assertThat(stream.error().message()).isEqualTo("Overloaded");
  }

  @Test
  void malformedEventIsAServerError() {
    StreamTranslator stream = translator.chatStream(ctx(null));

    assertThat(stream.onEvent("content_block_delta", "{\"type\":\"content_block_delta\","))
        .isEmpty();
    assertThat(stream.error()).isNotNull();
    assertThat(stream.error().errorClass()).isEqualTo(ErrorClass.SERVER);
    assertThat(stream.error().message()).contains("content_block_delta");
  }

  @Test
  void emptyAnswerStillEndsWithRoleAndFinishReason() {
    StreamTranslator stream = translator.chatStream(ctx(null));
    stream.onEvent(
        "message_start",
        "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_e\",\"usage\":{\"input_tokens\":3,"
            + "\"output_tokens\":0}}}");
    List<ObjectNode> end =
        stream.onEvent(
            "message_delta",
            "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},"
                + "\"usage\":{\"output_tokens\":0}}");

    JsonNode choice = end.get(0).path("choices").get(0);
    assertThat(choice.path("delta").path("role").asText()).isEqualTo("assistant");
    assertThat(choice.path("finish_reason").asText()).isEqualTo("length");
  }
}
