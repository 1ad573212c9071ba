package io.agentrouter.dataplane.provider.gemini;

import static io.agentrouter.dataplane.provider.gemini.GeminiTestSupport.API_KEY;
import static io.agentrouter.dataplane.provider.gemini.GeminiTestSupport.ctx;
import static io.agentrouter.dataplane.provider.gemini.GeminiTestSupport.json;
import static io.agentrouter.dataplane.provider.gemini.GeminiTestSupport.object;
import static io.agentrouter.dataplane.provider.gemini.GeminiTestSupport.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.dataplane.provider.ChatContext;
import io.agentrouter.dataplane.provider.ProviderError;
import io.agentrouter.dataplane.provider.ProviderTarget;
import io.agentrouter.dataplane.provider.ProviderType;
import io.agentrouter.dataplane.provider.UpstreamCall;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class GeminiTranslatorTest {

  private final GeminiTranslator translator = new GeminiTranslator();

  private static final String HI = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";

  @Test
  void keyTravelsInAHeaderNeverInTheUrl() {
    UpstreamCall call = translator.chatRequest(ctx(null), object(HI));

    assertThat(call.path()).isEqualTo("/v1beta/models/gemini-2.5-flash:generateContent");
    assertThat(call.path()).doesNotContain(API_KEY).doesNotContain("key=");
    assertThat(call.headers())
        .containsEntry("x-goog-api-key", API_KEY)
        .containsEntry("content-type", "application/json");
    assertThat(call.stream()).isFalse();
    assertThat(call.toString()).doesNotContain(API_KEY);
    JsonNode body = call.body();
    assertThat(body.path("contents")).hasSize(1);
    assertThat(body.path("contents").get(0).path("role").asText()).isEqualTo("user");
    assertThat(body.path("contents").get(0).path("parts").get(0).path("text").asText())
        .isEqualTo("Hi");
    assertThat(body.has("systemInstruction")).isFalse();
    assertThat(body.has("generationConfig")).isFalse();
    assertThat(body.has("stream")).isFalse();
  }

  @Test
  void streamUsesStreamGenerateContentWithSseAndTheTargetsApiVersion() {
    UpstreamCall call =
        translator.chatRequest(
            ctx("v1"),
            object("{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"));

    assertThat(call.path()).isEqualTo("/v1/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
    assertThat(call.stream()).isTrue();
    assertThat(call.headers()).containsEntry("accept", "text/event-stream");
  }

  @Test
  void modelNamesThatWouldChangeThePathAreRefused() {
    for (String model : new String[] {"../admin", "gemini?key=x", "a/b", "models/x y"}) {
      ChatContext ctx =
          new ChatContext(
              "r",
              new ProviderTarget("g", ProviderType.GEMINI, "https://g", API_KEY, null),
              model,
              "m",
              1);
      assertThatThrownBy(() -> translator.chatRequest(ctx, object(HI)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'" + model + "'");
    }
    ChatContext prefixed =
        new ChatContext(
            "r",
            new ProviderTarget("g", ProviderType.GEMINI, "https://g", API_KEY, null),
            "models/gemini-2.0-flash-001",
            "m",
            1);
    assertThat(translator.chatRequest(prefixed, object(HI)).path())
        .isEqualTo("/v1beta/models/gemini-2.0-flash-001:generateContent");
  }

  @Test
  void fullRequestMapsSystemTurnsMediaToolsAndGenerationConfig() {
    JsonNode body =
        translator
            .chatRequest(ctx(null), (ObjectNode) json("openai-request-tools-images.json"))
            .body();

    JsonNode system = body.path("systemInstruction").path("parts");
    assertThat(system).hasSize(2);
    assertThat(system.get(0).path("text").asText()).isEqualTo("You are a weather assistant.");
    assertThat(system.get(1).path("text").asText()).isEqualTo("Answer in metric units.");

    JsonNode contents = body.path("contents");
    assertThat(contents).hasSize(3);

    JsonNode user = contents.get(0);
    assertThat(user.path("role").asText()).isEqualTo("user");
    assertThat(user.path("parts")).hasSize(3);
    assertThat(user.path("parts").get(1).path("inlineData").path("mimeType").asText())
        .isEqualTo("image/png");
    assertThat(user.path("parts").get(1).path("inlineData").path("data").asText())
        .isEqualTo("iVBORw0KGgoAAAANSUhEUgAAAAE=");
    assertThat(user.path("parts").get(2).path("fileData").path("mimeType").asText())
        .isEqualTo("image/webp");
    assertThat(user.path("parts").get(2).path("fileData").path("fileUri").asText())
        .isEqualTo("https://example.com/photos/paris.webp?size=large");

    JsonNode model = contents.get(1);
    assertThat(model.path("role").asText()).isEqualTo("model");
    assertThat(model.path("parts")).hasSize(3);
    assertThat(model.path("parts").get(0).path("text").asText()).isEqualTo("Checking.");
    JsonNode call0 = model.path("parts").get(1);
    assertThat(call0.path("functionCall").path("name").asText()).isEqualTo("get_weather");
    assertThat(call0.path("functionCall").path("args").path("city").asText()).isEqualTo("Paris");
    // the thought signature Gemini gave in an earlier turn goes back with its call
    assertThat(call0.path("thoughtSignature").asText()).isEqualTo("CiQBjz1rX2signature==");
    JsonNode call1 = model.path("parts").get(2);
    assertThat(call1.path("functionCall").path("args")).isEmpty();
    assertThat(call1.has("thoughtSignature")).isFalse();

    // tool results (named from the calls) and the follow-up merge into one user turn
    JsonNode results = contents.get(2);
    assertThat(results.path("role").asText()).isEqualTo("user");
    assertThat(results.path("parts")).hasSize(3);
    JsonNode fr0 = results.path("parts").get(0).path("functionResponse");
    assertThat(fr0.path("name").asText()).isEqualTo("get_weather");
    assertThat(fr0.path("response").path("temperature").asInt()).isEqualTo(18);
    assertThat(fr0.path("response").path("sky").asText()).isEqualTo("cloudy");
    JsonNode fr1 = results.path("parts").get(1).path("functionResponse");
    assertThat(fr1.path("name").asText()).isEqualTo("get_time");
    assertThat(fr1.path("response").path("content").asText()).isEqualTo("14:05");
    assertThat(results.path("parts").get(2).path("text").asText()).isEqualTo("And tomorrow?");

    JsonNode decls = body.path("tools").get(0).path("functionDeclarations");
    assertThat(decls).hasSize(2);
    JsonNode weather = decls.get(0);
    assertThat(weather.path("name").asText()).isEqualTo("get_weather");
    assertThat(weather.path("description").asText()).isEqualTo("Current weather for a city");
    JsonNode params = weather.path("parameters");
    assertThat(params.has("$schema")).isFalse();
    assertThat(params.has("additionalProperties")).isFalse();
    assertThat(params.path("type").asText()).isEqualTo("object");
    assertThat(params.path("required").get(0).asText()).isEqualTo("city");
    assertThat(params.path("properties").path("city").path("description").asText())
        .isEqualTo("City name");
    JsonNode days = params.path("properties").path("days");
    assertThat(days.path("type").asText()).isEqualTo("integer");
    assertThat(days.path("nullable").asBoolean()).isTrue();
    assertThat(days.path("minimum").asInt()).isEqualTo(1);
    // a function without parameters declares none (Gemini refuses empty object schemas)
    assertThat(decls.get(1).has("parameters")).isFalse();

    JsonNode fcc = body.path("toolConfig").path("functionCallingConfig");
    assertThat(fcc.path("mode").asText()).isEqualTo("ANY");
    assertThat(fcc.path("allowedFunctionNames").get(0).asText()).isEqualTo("get_weather");

    JsonNode config = body.path("generationConfig");
    assertThat(config.path("maxOutputTokens").asInt()).isEqualTo(256);
    assertThat(config.path("temperature").asDouble()).isEqualTo(1.3);
    assertThat(config.path("topP").asDouble()).isEqualTo(0.95);
    assertThat(config.path("stopSequences").get(0).asText()).isEqualTo("END");
    assertThat(config.path("candidateCount").asInt()).isEqualTo(2);
    assertThat(config.path("seed").asLong()).isEqualTo(42);
    assertThat(config.path("presencePenalty").asDouble()).isEqualTo(0.5);
    assertThat(config.path("responseMimeType").asText()).isEqualTo("application/json");
    JsonNode schema = config.path("responseSchema");
    assertThat(schema.path("properties").path("summary").path("type").asText()).isEqualTo("string");
    assertThat(schema.path("properties").path("tags").path("items").path("type").asText())
        .isEqualTo("string");
    assertThat(schema.has("additionalProperties")).isFalse();
  }

  @Test
  void firstCallOfATurnWithoutSignatureGetsGooglesStandIn() {
    JsonNode parts =
        translator
            .chatRequest(
                ctx(null),
                object(
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
                        + "{\"role\":\"assistant\",\"tool_calls\":["
                        + "{\"id\":\"toolu_1\",\"function\":{\"name\":\"a\",\"arguments\":\"{}\"}},"
                        + "{\"id\":\"toolu_2\",\"function\":{\"name\":\"b\",\"arguments\":\"{}\"}}]},"
                        + "{\"role\":\"tool\",\"tool_call_id\":\"toolu_1\",\"content\":\"1\"},"
                        + "{\"role\":\"tool\",\"tool_call_id\":\"toolu_2\",\"content\":\"2\"}]}"))
            .body()
            .path("contents")
            .get(1)
            .path("parts");
    assertThat(parts.get(0).path("thoughtSignature").asText())
        .isEqualTo("skip_thought_signature_validator");
    assertThat(parts.get(1).has("thoughtSignature")).isFalse();
  }

  @ParameterizedTest
  @CsvSource({"'\"none\"', NONE", "'\"auto\"', AUTO", "'\"required\"', ANY"})
  void toolChoiceModes(String openAi, String mode) {
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
    assertThat(body.path("toolConfig").path("functionCallingConfig").path("mode").asText())
        .isEqualTo(mode);
  }

  @Test
  void jsonObjectFormatAndMaxCompletionTokens() {
    JsonNode config =
        translator
            .chatRequest(
                ctx(null),
                object(
                    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                        + "\"response_format\":{\"type\":\"json_object\"},"
                        + "\"max_completion_tokens\":77,\"max_tokens\":5}"))
            .body()
            .path("generationConfig");
    assertThat(config.path("responseMimeType").asText()).isEqualTo("application/json");
    assertThat(config.has("responseSchema")).isFalse();
    assertThat(config.path("maxOutputTokens").asInt()).isEqualTo(77);
  }

  @Test
  void toolResultForAnUnknownCallIsRefused() {
    assertThatThrownBy(
            () ->
                translator.chatRequest(
                    ctx(null),
                    object(
                        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
                            + "{\"role\":\"tool\",\"tool_call_id\":\"nope\",\"content\":\"1\"}]}")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'nope'")
        .hasMessageContaining("function's name");
  }

  @Test
  void textResponseWithTwoCandidatesThoughtsAndCachedTokens() {
    ObjectNode out = translator.chatResponse(ctx(null), json("response-text.json"));

    assertThat(out.path("id").asText()).isEqualTo("chatcmpl-mE4laJ2rKZWsz7IP5oLRmQc");
    assertThat(out.path("object").asText()).isEqualTo("chat.completion");
    assertThat(out.path("created").asLong()).isEqualTo(1_700_000_000L);
    assertThat(out.path("model").asText()).isEqualTo("gemini-flash");
    JsonNode choices = out.path("choices");
    assertThat(choices).hasSize(2);
    assertThat(choices.get(0).path("index").asInt()).isZero();
    assertThat(choices.get(0).path("message").path("role").asText()).isEqualTo("assistant");
    assertThat(choices.get(0).path("message").path("content").asText())
        .isEqualTo("Hello! How can I help?");
    assertThat(choices.get(0).path("finish_reason").asText()).isEqualTo("stop");
    assertThat(choices.get(1).path("index").asInt()).isEqualTo(1);
    assertThat(choices.get(1).path("message").path("content").asText())
        .isEqualTo("Hi there, this answer was cut");
    assertThat(choices.get(1).path("finish_reason").asText()).isEqualTo("length");
    JsonNode usage = out.path("usage");
    assertThat(usage.path("prompt_tokens").asLong()).isEqualTo(4021);
    assertThat(usage.path("completion_tokens").asLong()).isEqualTo(14 + 100);
    assertThat(usage.path("total_tokens").asLong()).isEqualTo(4021 + 114);
    assertThat(usage.path("prompt_tokens_details").path("cached_tokens").asLong()).isEqualTo(4000);
    assertThat(usage.path("completion_tokens_details").path("reasoning_tokens").asLong())
        .isEqualTo(100);
  }

  @Test
  void functionCallsBecomeToolCallsWithGeneratedIdsCarryingTheSignature() {
    ObjectNode out = translator.chatResponse(ctx(null), json("response-function-call.json"));

    JsonNode choice = out.path("choices").get(0);
    assertThat(out.path("id").asText()).isEqualTo("chatcmpl-req-123");
    assertThat(choice.path("finish_reason").asText()).isEqualTo("tool_calls");
    assertThat(choice.path("message").path("content").isNull()).isTrue();
    JsonNode calls = choice.path("message").path("tool_calls");
    assertThat(calls).hasSize(2);
    assertThat(calls.get(0).path("id").asText()).isEqualTo("call_req-123_0_0~ts~CiQBjz1rX2sig==");
    assertThat(calls.get(0).path("type").asText()).isEqualTo("function");
    assertThat(calls.get(0).path("function").path("name").asText()).isEqualTo("get_weather");
    assertThat(calls.get(0).path("function").path("arguments").asText())
        .isEqualTo("{\"city\":\"Paris\",\"days\":2}");
    assertThat(calls.get(1).path("id").asText()).isEqualTo("call_req-123_0_1");
    assertThat(calls.get(1).path("function").path("arguments").asText()).isEqualTo("{}");
    assertThat(out.path("usage").path("prompt_tokens").asLong()).isEqualTo(120);
    assertThat(out.path("usage").path("completion_tokens").asLong()).isEqualTo(22);
  }

  @Test
  void toolCallIdsRoundTripIntoTheNextRequest() {
    ObjectNode response = translator.chatResponse(ctx(null), json("response-function-call.json"));
    JsonNode calls = response.path("choices").get(0).path("message").path("tool_calls");
    ObjectNode next = object("{\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"}]}");
    ObjectNode assistant = next.withArray("messages").addObject();
    assistant.put("role", "assistant");
    assistant.set("tool_calls", calls);
    next.withArray("messages")
        .addObject()
        .put("role", "tool")
        .put("tool_call_id", calls.get(0).path("id").asText())
        .put("content", "sunny");

    JsonNode contents = translator.chatRequest(ctx(null), next).body().path("contents");
    JsonNode part = contents.get(1).path("parts").get(0);
    assertThat(part.path("thoughtSignature").asText()).isEqualTo("CiQBjz1rX2sig==");
    assertThat(part.path("functionCall").path("args").path("days").asInt()).isEqualTo(2);
    assertThat(contents.get(2).path("parts").get(0).path("functionResponse").path("name").asText())
        .isEqualTo("get_weather");
  }

  @Test
  void blockedPromptAnswersContentFilterAndClassifiesAsContentPolicy() {
    ObjectNode out = translator.chatResponse(ctx(null), json("response-blocked.json"));
    assertThat(out.path("choices")).hasSize(1);
    assertThat(out.path("choices").get(0).path("finish_reason").asText())
        .isEqualTo("content_filter");
    assertThat(out.path("choices").get(0).path("message").path("content").isNull()).isTrue();
    assertThat(out.path("usage").path("prompt_tokens").asLong()).isEqualTo(9);

    ProviderError error = translator.error(200, text("response-blocked.json"));
    assertThat(error.errorClass()).isEqualTo(ErrorClass.CONTENT_POLICY);
    assertThat(error.message()).contains("SAFETY");
  }

  @ParameterizedTest
  @CsvSource({
    "STOP, false, stop",
    "STOP, true, tool_calls",
    "MAX_TOKENS, false, length",
    "SAFETY, false, content_filter",
    "RECITATION, false, content_filter",
    "BLOCKLIST, false, content_filter",
    "PROHIBITED_CONTENT, false, content_filter",
    "SPII, false, content_filter",
    "MALFORMED_FUNCTION_CALL, false, stop",
    "OTHER, false, stop"
  })
  void finishReasons(String gemini, boolean toolCalls, String openAi) {
    assertThat(GeminiTranslator.finishReason(gemini, toolCalls)).isEqualTo(openAi);
  }

  @ParameterizedTest
  @CsvSource({
    "429, error-429-quota.json, RATE_LIMITED",
    "503, error-503-unavailable.json, OVERLOADED",
    "400, error-400-api-key.json, AUTH",
    "403, error-403-permission.json, AUTH",
    "400, error-400-invalid.json, BAD_REQUEST",
    "400, error-400-token-limit.json, CONTEXT_WINDOW",
    "500, error-500-internal.json, SERVER",
    "404, error-404-model.json, BAD_REQUEST",
    "401, error-401-array.json, AUTH"
  })
  void recordedErrorsAreClassified(int status, String resource, ErrorClass expected) {
    ProviderError error = translator.error(status, text(resource));

    assertThat(error.errorClass()).isEqualTo(expected);
    assertThat(error.status()).isEqualTo(status);
    JsonNode root = json(resource);
    JsonNode err = (root.isArray() ? root.get(0) : root).path("error");
    assertThat(error.message()).isEqualTo(err.path("message").asText());
  }

  @Test
  void retryInfoBecomesRetryAfterRoundedUp() {
    assertThat(translator.error(429, text("error-429-quota.json")).retryAfterSeconds())
        .isEqualTo(38L);
    assertThat(translator.error(503, text("error-503-unavailable.json")).retryAfterSeconds())
        .isNull();
  }

  @ParameterizedTest
  @CsvSource({
    "429, RATE_LIMITED",
    "503, OVERLOADED",
    "502, SERVER",
    "403, AUTH",
    "400, BAD_REQUEST",
    "504, TIMEOUT"
  })
  void bodiesThatAreNotGeminiErrorsFallBackToTheStatus(int status, ErrorClass expected) {
    for (String body : new String[] {"", "<html>Bad Gateway</html>", "{\"x\":1}", "[]"}) {
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
