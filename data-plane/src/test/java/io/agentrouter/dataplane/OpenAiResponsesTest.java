package io.agentrouter.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import com.openai.client.OpenAIClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.UnauthorizedException;
import com.openai.models.responses.FunctionTool;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseFunctionToolCall;
import com.openai.models.responses.ResponseInputItem;
import com.openai.models.responses.ResponseOutputItem;
import com.openai.models.responses.ResponseStreamEvent;
import io.agentrouter.common.usage.UsageRecord;
import io.agentrouter.dataplane.fake.FakeAnthropic;
import io.agentrouter.dataplane.fake.FakeGemini;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The OpenAI Java SDK's Responses client against the gateway's {@code /v1/responses}: passthrough
 * to OpenAI, bridged to Anthropic and Gemini (streaming events, function calls), exact usage,
 * errors in OpenAI's shape, and fallback.
 */
class OpenAiResponsesTest {
  @RegisterExtension static final FakeAnthropic anthropic = new FakeAnthropic();
  @RegisterExtension static final FakeGemini gemini = new FakeGemini();
  static final ObjectMapper MAPPER = new ObjectMapper();
  static FakeOpenAi openai;
  static TestGateway gw;
  static String key = TestGateway.newKey();
  static OpenAIClient client;

  @BeforeAll
  static void start() {
    openai = FakeOpenAi.start();
    gw =
        TestGateway.start(
            """
            providers:
              - {name: anthropic, type: anthropic, base_url: "%s", api_key_env: ANT_KEY}
              - {name: openai, type: openai, base_url: "%s", api_key_env: OAI_KEY}
              - {name: gemini, type: gemini, base_url: "%s", api_key_env: GEM_KEY}
            models:
              - {provider: anthropic, model: claude-sonnet-4-5, input_usd_per_mtok: 3, output_usd_per_mtok: 15}
              - {provider: openai, model: gpt-5, input_usd_per_mtok: 1.25, cached_input_usd_per_mtok: 0.125, output_usd_per_mtok: 10}
              - {provider: gemini, model: gemini-2.5-flash, input_usd_per_mtok: 0.3, output_usd_per_mtok: 2.5}
            routes:
              - alias: gpt-or-claude
                targets:
                  - {provider: openai, model: gpt-5, weight: 1}
                  - {provider: anthropic, model: claude-sonnet-4-5, weight: 0}
            projects: [{id: p, customer: c}]
            keys: [{token: "%s", project: p}]
            """
                .formatted(anthropic.baseUrl(), openai.baseUrl(), gemini.baseUrl(), key),
            Map.of(
                "ANT_KEY", FakeAnthropic.API_KEY,
                "OAI_KEY", "sk-openai-upstream",
                "GEM_KEY", FakeGemini.API_KEY));
    client = gw.openAi(key);
  }

  @AfterAll
  static void stop() {
    gw.close();
    openai.close();
  }

  @BeforeEach
  void reset() {
    anthropic.reset();
    gemini.reset();
    openai.reset();
  }

  private static UsageRecord lastUsage(int count) {
    await().until(() -> gw.usage().size() >= count);
    List<UsageRecord> all = gw.usage();
    return all.get(all.size() - 1);
  }

  private static String text(Response r) {
    StringBuilder sb = new StringBuilder();
    for (ResponseOutputItem item : r.output()) {
      item.message()
          .ifPresent(
              m -> m.content().forEach(c -> c.outputText().ifPresent(t -> sb.append(t.text()))));
    }
    return sb.toString();
  }

  private static FunctionTool weatherTool() {
    return FunctionTool.builder()
        .name("get_weather")
        .description("Weather for a city")
        .parameters(
            FunctionTool.Parameters.builder()
                .putAdditionalProperty("type", JsonValue.from("object"))
                .putAdditionalProperty(
                    "properties", JsonValue.from(Map.of("city", Map.of("type", "string"))))
                .build())
        .strict(false)
        .build();
  }

  /** Streams and returns the events, in order. */
  private static List<ResponseStreamEvent> stream(ResponseCreateParams params) {
    List<ResponseStreamEvent> events = new ArrayList<>();
    try (StreamResponse<ResponseStreamEvent> s = client.responses().createStreaming(params)) {
      s.stream().forEach(events::add);
    }
    return events;
  }

  @Test
  void passesThroughToOpenAiUnchanged() throws Exception {
    int before = gw.usage().size();
    Response r =
        client
            .responses()
            .create(
                ResponseCreateParams.builder()
                    .model("gpt-5")
                    .instructions("Be brief.")
                    .input("hello")
                    .maxOutputTokens(64)
                    .build());
    assertThat(text(r)).isEqualTo("Hello from the fake");
    FakeOpenAi.Received up = openai.received().get(0);
    assertThat(up.path()).isEqualTo("/v1/responses");
    assertThat(up.headers().get("authorization")).isEqualTo("Bearer sk-openai-upstream");
    assertThat(up.body().path("instructions").asText()).isEqualTo("Be brief.");
    assertThat(up.body().path("input").asText()).isEqualTo("hello");
    assertThat(up.body().path("max_output_tokens").asInt()).isEqualTo(64);
    UsageRecord u = lastUsage(before + 1);
    assertThat(u.endpoint()).isEqualTo("responses");
    assertThat(u.promptTokens()).isEqualTo(12);
    assertThat(u.cachedTokens()).isEqualTo(4);
    assertThat(u.completionTokens()).isEqualTo(4);
  }

  @Test
  void streamsFromOpenAiWithExactUsage() {
    int before = gw.usage().size();
    List<ResponseStreamEvent> events =
        stream(ResponseCreateParams.builder().model("gpt-5").input("hello").build());
    StringBuilder text = new StringBuilder();
    events.forEach(e -> e.outputTextDelta().ifPresent(d -> text.append(d.delta())));
    assertThat(text.toString()).isEqualTo("Hello from the fake");
    assertThat(events.get(0).isCreated()).isTrue();
    Response done = events.get(events.size() - 1).completed().orElseThrow().response();
    assertThat(done.usage().orElseThrow().inputTokens()).isEqualTo(12);
    UsageRecord u = lastUsage(before + 1);
    assertThat(u.stream()).isTrue();
    assertThat(u.promptTokens()).isEqualTo(12);
    assertThat(u.cachedTokens()).isEqualTo(4);
    assertThat(u.completionTokens()).isEqualTo(4);
  }

  @Test
  void functionCallsPassThroughFromOpenAi() {
    Response r =
        client
            .responses()
            .create(
                ResponseCreateParams.builder()
                    .model("gpt-5")
                    .input("weather in Paris?")
                    .addTool(weatherTool())
                    .build());
    ResponseFunctionToolCall call = r.output().get(0).functionCall().orElseThrow();
    assertThat(call.name()).isEqualTo("get_weather");
    assertThat(call.arguments()).isEqualTo("{\"city\":\"Paris\"}");
  }

  @Test
  void bridgedToAnthropicAnswersAndStreamsResponses() {
    int before = gw.usage().size();
    Response r =
        client
            .responses()
            .create(
                ResponseCreateParams.builder()
                    .model("claude-sonnet-4-5")
                    .instructions("Be brief.")
                    .input("hello there")
                    .maxOutputTokens(64)
                    .build());
    assertThat(text(r)).isEqualTo("echo: hello there");
    assertThat(r.usage().orElseThrow().inputTokens()).isEqualTo(4);
    assertThat(r.usage().orElseThrow().outputTokens()).isEqualTo(3);
    JsonNode up = anthropic.lastRequest().body();
    assertThat(up.path("system").toString()).contains("Be brief.");
    assertThat(up.path("max_tokens").asInt()).isEqualTo(64);
    assertThat(lastUsage(before + 1).completionTokens()).isEqualTo(3);

    anthropic.cacheTokens(20, 0);
    List<ResponseStreamEvent> events =
        stream(
            ResponseCreateParams.builder()
                .model("claude-sonnet-4-5")
                .input("one two three")
                .build());
    assertThat(events.get(0).isCreated()).isTrue();
    assertThat(events.stream().anyMatch(ResponseStreamEvent::isOutputItemAdded)).isTrue();
    StringBuilder text = new StringBuilder();
    events.forEach(e -> e.outputTextDelta().ifPresent(d -> text.append(d.delta())));
    assertThat(text.toString()).isEqualTo("echo: one two three");
    Response done = events.get(events.size() - 1).completed().orElseThrow().response();
    assertThat(text(done)).isEqualTo("echo: one two three");
    assertThat(done.usage().orElseThrow().inputTokens()).isEqualTo(3 + 20);
    assertThat(done.usage().orElseThrow().inputTokensDetails().cachedTokens()).isEqualTo(20);
    assertThat(done.usage().orElseThrow().outputTokens()).isEqualTo(4);
    UsageRecord u = lastUsage(before + 2);
    assertThat(u.promptTokens()).isEqualTo(23);
    assertThat(u.cachedTokens()).isEqualTo(20);
    assertThat(u.completionTokens()).isEqualTo(4);
  }

  @Test
  void bridgedFunctionCallsRoundTripThroughAnthropic() {
    List<ResponseStreamEvent> events =
        stream(
            ResponseCreateParams.builder()
                .model("claude-sonnet-4-5")
                .input("Paris")
                .addTool(weatherTool())
                .build());
    StringBuilder args = new StringBuilder();
    events.forEach(e -> e.functionCallArgumentsDelta().ifPresent(d -> args.append(d.delta())));
    assertThat(args.toString()).isEqualTo("{\"query\":\"Paris\"}");
    Response done = events.get(events.size() - 1).completed().orElseThrow().response();
    ResponseFunctionToolCall call = done.output().get(0).functionCall().orElseThrow();
    assertThat(call.name()).isEqualTo("get_weather");
    assertThat(call.arguments()).isEqualTo("{\"query\":\"Paris\"}");

    // The next turn carries the call and its output back.
    Response next =
        client
            .responses()
            .create(
                ResponseCreateParams.builder()
                    .model("claude-sonnet-4-5")
                    .addTool(weatherTool())
                    .inputOfResponse(
                        List.of(
                            ResponseInputItem.ofEasyInputMessage(
                                com.openai.models.responses.EasyInputMessage.builder()
                                    .role(com.openai.models.responses.EasyInputMessage.Role.USER)
                                    .content("Paris")
                                    .build()),
                            ResponseInputItem.ofFunctionCall(call),
                            ResponseInputItem.ofFunctionCallOutput(
                                ResponseInputItem.FunctionCallOutput.builder()
                                    .callId(call.callId())
                                    .output("sunny")
                                    .build())))
                    .build());
    assertThat(text(next)).isEqualTo("tool result: sunny");
    JsonNode up = anthropic.lastRequest().body();
    assertThat(up.path("messages").path(1).path("content").path(0).path("type").asText())
        .isEqualTo("tool_use");
    assertThat(up.path("messages").path(2).path("content").path(0).path("tool_use_id").asText())
        .isEqualTo(call.callId());
  }

  @Test
  void bridgedToGemini() {
    Response r =
        client
            .responses()
            .create(
                ResponseCreateParams.builder().model("gemini-2.5-flash").input("hello").build());
    assertThat(text(r)).isNotEmpty();
    assertThat(r.usage().orElseThrow().outputTokens()).isPositive();
    assertThat(gemini.lastRequest().raw()).contains("hello");
  }

  @Test
  void errorsTakeOpenAisShapeAndFallbackWorks() throws Exception {
    assertThatThrownBy(
            () ->
                gw.openAi("sk-ar-not-a-key")
                    .responses()
                    .create(ResponseCreateParams.builder().model("gpt-5").input("hi").build()))
        .isInstanceOf(UnauthorizedException.class);
    AggregatedHttpResponse res =
        gw.web()
            .execute(
                HttpRequest.of(
                    RequestHeaders.builder(HttpMethod.POST, "/v1/responses")
                        .contentType(MediaType.JSON)
                        .add("authorization", "Bearer " + key)
                        .build(),
                    HttpData.ofUtf8("{\"model\":\"gpt-5\"}")))
            .aggregate()
            .join();
    assertThat(res.status().code()).isEqualTo(400);
    assertThat(MAPPER.readTree(res.contentUtf8()).path("error").path("type").asText())
        .isEqualTo("invalid_request_error");

    openai.enqueue(FakeOpenAi.Fault.status(503));
    int before = gw.usage().size();
    Response r =
        client
            .responses()
            .create(ResponseCreateParams.builder().model("gpt-or-claude").input("hi").build());
    assertThat(text(r)).isEqualTo("echo: hi");
    UsageRecord u = lastUsage(before + 1);
    assertThat(u.attempts()).isEqualTo(2);
    assertThat(u.provider()).isEqualTo("anthropic");
  }
}
