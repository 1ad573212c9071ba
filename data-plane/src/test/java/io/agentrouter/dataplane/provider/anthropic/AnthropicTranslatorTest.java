package io.agentrouter.dataplane.provider.anthropic;

import static io.agentrouter.dataplane.provider.anthropic.AnthropicTestSupport.API_KEY;
import static io.agentrouter.dataplane.provider.anthropic.AnthropicTestSupport.ctx;
import static io.agentrouter.dataplane.provider.anthropic.AnthropicTestSupport.json;
import static io.agentrouter.dataplane.provider.anthropic.AnthropicTestSupport.object;
import static io.agentrouter.dataplane.provider.anthropic.AnthropicTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.dataplane.provider.ProviderError;
import io.agentrouter.dataplane.provider.UpstreamCall;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AnthropicTranslatorTest {

  private final AnthropicTranslator translator = new AnthropicTranslator();

  @Test
  void requestCarriesAuthVersionAndPath() {
    UpstreamCall call =
        translator.chatRequest(
            ctx(null), object("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"));

    assertThat(call.path()).isEqualTo("/v1/messages");
    assertThat(call.stream()).isFalse();
    assertThat(call.headers())
        .containsEntry("x-api-key", API_KEY)
        .containsEntry("anthropic-version", "2023-06-01")
        .containsEntry("content-type", "application/json");
    assertThat(call.toString()).doesNotContain(API_KEY);
    JsonNode body = call.body();
    assertThat(body.path("model").asText()).isEqualTo("claude-sonnet-4-5-20250929");
    assertThat(body.path("max_tokens").asInt()).isEqualTo(AnthropicTranslator.DEFAULT_MAX_TOKENS);
    assertThat(body.has("system")).isFalse();
    assertThat(body.has("stream")).isFalse();
    assertThat(body.path("messages"))
        .hasSize(1)
        .first()
        .satisfies(
            m -> {
              assertThat(m.path("role").asText()).isEqualTo("user");
              assertThat(m.path("content").get(0).path("type").asText()).isEqualTo("text");
              assertThat(m.path("content").get(0).path("text").asText()).isEqualTo("Hi");
            });
  }

  @Test
  void targetApiVersionWinsAndStreamAsksForSse() {
    UpstreamCall call =
        translator.chatRequest(
            ctx("2024-10-22"),
            object(
                "{\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"));

    assertThat(call.headers()).containsEntry("anthropic-version", "2024-10-22");
    assertThat(call.headers()).containsEntry("accept", "text/event-stream");
    assertThat(call.stream()).isTrue();
    assertThat(call.body().path("stream").asBoolean()).isTrue();
    assertThat(call.body().has("stream_options")).isFalse();
  }

  @Test
  void fullRequestMapsSystemTurnsImagesToolsAndSampling() {
    JsonNode body =
        translator
            .chatRequest(ctx(null), (ObjectNode) json("openai-request-tools-images.json"))
            .body();

    // system and developer messages become the top-level system blocks, in order
    assertThat(body.path("system")).hasSize(2);
    assertThat(body.path("system").get(0).path("text").asText())
        .isEqualTo("You are a weather assistant.");
    assertThat(body.path("system").get(1).path("text").asText())
        .isEqualTo("Answer in metric units.");
    // a client's cache_control markers reach Anthropic, TTL included
    assertThat(body.path("system").get(0).has("cache_control")).isFalse();
    assertThat(body.path("system").get(1).path("cache_control").path("type").asText())
        .isEqualTo("ephemeral");
    assertThat(body.path("system").get(1).path("cache_control").path("ttl").asText())
        .isEqualTo("1h");

    JsonNode messages = body.path("messages");
    // user, assistant, user (the tool results and the next question merged into one turn)
    assertThat(messages).hasSize(3);

    // two consecutive user messages merged into one turn: text, base64 image, url image, text
    JsonNode first = messages.get(0);
    assertThat(first.path("role").asText()).isEqualTo("user");
    assertThat(first.path("content")).hasSize(4);
    assertThat(first.path("content").get(0).path("text").asText())
        .isEqualTo("What is the weather where this photo was taken?");
    JsonNode base64 = first.path("content").get(1);
    assertThat(base64.path("type").asText()).isEqualTo("image");
    assertThat(base64.path("source").path("type").asText()).isEqualTo("base64");
    assertThat(base64.path("source").path("media_type").asText()).isEqualTo("image/png");
    assertThat(base64.path("source").path("data").asText())
        .isEqualTo("iVBORw0KGgoAAAANSUhEUgAAAAE=");
    JsonNode url = first.path("content").get(2);
    assertThat(url.path("source").path("type").asText()).isEqualTo("url");
    assertThat(url.path("source").path("url").asText())
        .isEqualTo("https://example.com/photos/paris.jpg");
    assertThat(first.path("content").get(3).path("text").asText()).isEqualTo("Be brief.");

    // assistant tool calls become tool_use blocks with parsed input
    JsonNode assistant = messages.get(1);
    assertThat(assistant.path("role").asText()).isEqualTo("assistant");
    assertThat(assistant.path("content")).hasSize(2);
    JsonNode use = assistant.path("content").get(0);
    assertThat(use.path("type").asText()).isEqualTo("tool_use");
    assertThat(use.path("id").asText()).isEqualTo("toolu_01A09q90qw90lq917835lq9");
    assertThat(use.path("name").asText()).isEqualTo("get_weather");
    assertThat(use.path("input").path("city").asText()).isEqualTo("Paris");
    assertThat(use.path("input").path("unit").asText()).isEqualTo("celsius");
    assertThat(assistant.path("content").get(1).path("input").isObject()).isTrue();
    assertThat(assistant.path("content").get(1).path("input")).isEmpty();

    // both tool results first in the next user turn, in call order, then the follow-up text
    JsonNode results = messages.get(2);
    assertThat(results.path("role").asText()).isEqualTo("user");
    assertThat(results.path("content")).hasSize(3);
    JsonNode r0 = results.path("content").get(0);
    assertThat(r0.path("type").asText()).isEqualTo("tool_result");
    assertThat(r0.path("tool_use_id").asText()).isEqualTo("toolu_01A09q90qw90lq917835lq9");
    assertThat(r0.path("content").get(0).path("text").asText())
        .isEqualTo("{\"temperature\":18,\"sky\":\"cloudy\"}");
    assertThat(results.path("content").get(1).path("tool_use_id").asText()).isEqualTo("toolu_01B");
    assertThat(results.path("content").get(1).path("content").get(0).path("text").asText())
        .isEqualTo("14:05");

    assertThat(results.path("content").get(2).path("type").asText()).isEqualTo("text");
    assertThat(results.path("content").get(2).path("text").asText()).isEqualTo("And tomorrow?");

    // max_completion_tokens wins over max_tokens; temperature clamped to Anthropic's range
    assertThat(body.path("max_tokens").asInt()).isEqualTo(512);
    assertThat(body.path("temperature").asDouble()).isEqualTo(1.0);
    // newer Claude models refuse temperature and top_p together: temperature wins
    assertThat(body.has("top_p")).isFalse();
    assertThat(body.path("stop_sequences")).hasSize(2);
    assertThat(body.path("stop_sequences").get(0).asText()).isEqualTo("\n\nHuman:");
    assertThat(body.path("metadata").path("user_id").asText()).isEqualTo("user-42");

    JsonNode tools = body.path("tools");
    assertThat(tools).hasSize(2);
    assertThat(tools.get(0).path("name").asText()).isEqualTo("get_weather");
    assertThat(tools.get(0).path("description").asText()).isEqualTo("Current weather for a city");
    assertThat(tools.get(0).path("input_schema").path("required").get(0).asText())
        .isEqualTo("city");
    assertThat(tools.get(1).path("input_schema").path("type").asText()).isEqualTo("object");
    assertThat(tools.get(0).path("cache_control").path("type").asText()).isEqualTo("ephemeral");
    assertThat(tools.get(1).has("cache_control")).isFalse();
    assertThat(body.path("tool_choice").path("type").asText()).isEqualTo("any");
    assertThat(body.path("tool_choice").path("disable_parallel_tool_use").asBoolean()).isTrue();

    // OpenAI-only fields are not sent
    assertThat(body.has("seed")).isFalse();
    assertThat(body.has("logprobs")).isFalse();
    assertThat(body.has("user")).isFalse();
  }

  @ParameterizedTest
  @CsvSource({
    "'\"none\"', none,",
    "'\"auto\"', auto,",
    "'{\"type\":\"function\",\"function\":{\"name\":\"f\"}}', tool, f"
  })
  void toolChoiceMapping(String openAi, String type, String name) {
    JsonNode body =
        translator
            .chatRequest(
                ctx(null),
                object(
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                        + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
                        + "\"tool_choice\":"
                        + openAi
                        + "}"))
            .body();
    assertThat(body.path("tool_choice").path("type").asText()).isEqualTo(type);
    assertThat(body.path("tool_choice").path("name").asText(null)).isEqualTo(name);
  }

  @Test
  void stopStringAndMaxTokensAlone() {
    JsonNode body =
        translator
            .chatRequest(
                ctx(null),
                object(
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":\"END\","
                        + "\"max_tokens\":33,\"temperature\":0.2}"))
            .body();
    assertThat(body.path("stop_sequences")).hasSize(1);
    assertThat(body.path("stop_sequences").get(0).asText()).isEqualTo("END");
    assertThat(body.path("max_tokens").asInt()).isEqualTo(33);
    assertThat(body.path("temperature").asDouble()).isEqualTo(0.2);
    assertThat(body.has("top_p")).isFalse();

    JsonNode topPOnly =
        translator
            .chatRequest(
                ctx(null),
                object("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_p\":0.3}"))
            .body();
    assertThat(topPOnly.path("top_p").asDouble()).isEqualTo(0.3);
    assertThat(topPOnly.has("temperature")).isFalse();
  }

  @Test
  void untranslatableRequestsAreRefusedWithAClearMessage() {
    assertThatThrownBy(
            () ->
                translator.chatRequest(
                    ctx(null),
                    object("{\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("n: 2")
        .hasMessageContaining("expected: 1");
    assertThatThrownBy(
            () ->
                translator.chatRequest(
                    ctx(null),
                    object(
                        "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\","
                            + "\"function\":{\"name\":\"f\",\"arguments\":\"[1,2]\"}}]}]}")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("tool_calls[0].function.arguments");
    assertThatThrownBy(
            () ->
                translator.chatRequest(
                    ctx(null), object("{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}")))
        .hasMessageContaining("'wizard'");
    assertThatThrownBy(
            () ->
                translator.chatRequest(
                    ctx(null),
                    object(
                        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
                            + "\"image_url\":{\"url\":\"data:image/png,notbase64\"}}]}]}")))
        .hasMessageContaining("malformed data URL");
  }

  @Test
  void textResponseDropsThinkingAndCountsCachedTokensAsPrompt() {
    ObjectNode out = translator.chatResponse(ctx(null), json("response-text.json"));

    assertThat(out.path("id").asText()).isEqualTo("msg_01XFDUDYJgAACzvnptvVoYEL");
    assertThat(out.path("object").asText()).isEqualTo("chat.completion");
    assertThat(out.path("created").asLong()).isEqualTo(1_700_000_000L);
    assertThat(out.path("model").asText()).isEqualTo("claude-sonnet");
    JsonNode choice = out.path("choices").get(0);
    assertThat(choice.path("index").asInt()).isZero();
    assertThat(choice.path("message").path("role").asText()).isEqualTo("assistant");
    assertThat(choice.path("message").path("content").asText()).isEqualTo("Hello! How can I help?");
    assertThat(choice.path("message").has("tool_calls")).isFalse();
    assertThat(choice.path("finish_reason").asText()).isEqualTo("stop");
    JsonNode usage = out.path("usage");
    assertThat(usage.path("prompt_tokens").asLong()).isEqualTo(21 + 1500 + 3000);
    assertThat(usage.path("completion_tokens").asLong()).isEqualTo(12);
    assertThat(usage.path("total_tokens").asLong()).isEqualTo(4521 + 12);
    assertThat(usage.path("prompt_tokens_details").path("cached_tokens").asLong()).isEqualTo(3000);
  }

  @Test
  void toolUseResponseBecomesToolCalls() {
    ObjectNode out = translator.chatResponse(ctx(null), json("response-tool-use.json"));

    JsonNode message = out.path("choices").get(0).path("message");
    assertThat(message.path("content").isNull()).isTrue();
    JsonNode calls = message.path("tool_calls");
    assertThat(calls).hasSize(2);
    assertThat(calls.get(0).path("id").asText()).isEqualTo("toolu_01T1x1fJ34qAmk2tNTrN7Up6");
    assertThat(calls.get(0).path("type").asText()).isEqualTo("function");
    assertThat(calls.get(0).path("function").path("name").asText()).isEqualTo("get_weather");
    assertThat(calls.get(0).path("function").path("arguments").asText())
        .isEqualTo("{\"city\":\"San Francisco, CA\",\"unit\":\"celsius\"}");
    assertThat(calls.get(1).path("function").path("arguments").asText()).isEqualTo("{}");
    assertThat(out.path("choices").get(0).path("finish_reason").asText()).isEqualTo("tool_calls");
    assertThat(out.path("usage").path("prompt_tokens").asLong()).isEqualTo(472);
    assertThat(out.path("usage").path("completion_tokens").asLong()).isEqualTo(89);
    assertThat(out.path("usage").path("prompt_tokens_details").path("cached_tokens").asLong())
        .isZero();
  }

  @ParameterizedTest
  @CsvSource({
    "end_turn, stop",
    "stop_sequence, stop",
    "pause_turn, stop",
    "max_tokens, length",
    "tool_use, tool_calls",
    "refusal, content_filter",
    "model_context_window_exceeded, length"
  })
  void stopReasons(String stopReason, String finishReason) {
    assertThat(AnthropicTranslator.finishReason(stopReason)).isEqualTo(finishReason);
  }

  @Test
  void responseThatIsNotAMessageIsRefused() {
    assertThatThrownBy(() -> translator.chatResponse(ctx(null), object("{\"foo\":1}")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no content array");
  }

  @ParameterizedTest
  @CsvSource({
    "429, error-429-rate-limit.json, RATE_LIMITED",
    "529, error-529-overloaded.json, OVERLOADED",
    "401, error-401-auth.json, AUTH",
    "403, error-403-permission.json, AUTH",
    "400, error-400-invalid.json, BAD_REQUEST",
    "400, error-400-prompt-too-long.json, CONTEXT_WINDOW",
    "400, error-400-credit.json, AUTH",
    "404, error-404-model.json, BAD_REQUEST",
    "500, error-500-api.json, SERVER"
  })
  void recordedErrorsAreClassified(int status, String resource, ErrorClass expected) {
    ProviderError error = translator.error(status, text(resource));

    assertThat(error.errorClass()).isEqualTo(expected);
    assertThat(error.status()).isEqualTo(status);
    assertThat(error.message()).isEqualTo(json(resource).path("error").path("message").asText());
    assertThat(error.retryAfterSeconds()).isNull();
  }

  @ParameterizedTest
  @CsvSource({
    "429, RATE_LIMITED",
    "529, OVERLOADED",
    "503, OVERLOADED",
    "502, SERVER",
    "500, SERVER",
    "401, AUTH",
    "400, BAD_REQUEST",
    "504, TIMEOUT"
  })
  void bodiesThatAreNotAnthropicErrorsFallBackToTheStatus(int status, ErrorClass expected) {
    for (String body : new String[] {"", "<html><body>Bad Gateway</body></html>", "{\"x\":1}"}) {
      ProviderError error = translator.error(status, body);
      assertThat(error.errorClass()).isEqualTo(expected);
      assertThat(error.message()).contains("HTTP " + status).doesNotContain("<html>");
    }
  }

  @Test
  void aBodyEchoingOurRequestNeverLeaksTheKeyIntoTheMessage() {
    // e.g. a misconfigured base URL pointing at a service that echoes request headers
    String echo = "POST /x HTTP/1.1\nx-api-key: " + API_KEY + "\nx-goog-api-key: " + API_KEY;
    for (int status : new int[] {400, 401, 404, 500, 502}) {
      ProviderError error = translator.error(status, echo);
      assertThat(error.message()).doesNotContain(API_KEY);
      assertThat(error.toString()).doesNotContain(API_KEY);
    }
  }
}
