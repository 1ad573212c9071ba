package io.agentrouter.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.JsonValue;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.BadRequestException;
import com.anthropic.errors.NotFoundException;
import com.anthropic.errors.UnauthorizedException;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCountTokensParams;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.anthropic.models.messages.Tool;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import io.agentrouter.common.usage.UsageRecord;
import io.agentrouter.dataplane.fake.FakeAnthropic;
import io.agentrouter.dataplane.fake.FakeGemini;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import java.io.InputStream;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The official Anthropic Java SDK (and recorded Claude Code requests) against the gateway's {@code
 * /v1/messages}: lossless passthrough to Anthropic, bridges to OpenAI and Gemini, count_tokens,
 * usage with cache reads and writes, errors in Anthropic's shape, and fallback.
 */
class AnthropicMessagesTest {
  @RegisterExtension static final FakeAnthropic anthropic = new FakeAnthropic();
  @RegisterExtension static final FakeGemini gemini = new FakeGemini();
  static final ObjectMapper MAPPER = new ObjectMapper();
  static FakeOpenAi openai;
  static TestGateway gw;
  static String key = TestGateway.newKey();
  static AnthropicClient client;

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
              - provider: anthropic
                model: claude-sonnet-4-5
                input_usd_per_mtok: 3
                cached_input_usd_per_mtok: 0.3
                output_usd_per_mtok: 15
              - {provider: openai, model: gpt-4o-mini, input_usd_per_mtok: 0.15, output_usd_per_mtok: 0.6}
              - {provider: gemini, model: gemini-2.5-flash, input_usd_per_mtok: 0.3, output_usd_per_mtok: 2.5}
            routes:
              - alias: claude-or-gpt
                targets:
                  - {provider: anthropic, model: claude-sonnet-4-5, weight: 1}
                  - {provider: openai, model: gpt-4o-mini, weight: 0}
            projects: [{id: p, customer: c}]
            keys: [{token: "%s", project: p}]
            """
                .formatted(anthropic.baseUrl(), openai.baseUrl(), gemini.baseUrl(), key),
            Map.of(
                "ANT_KEY", FakeAnthropic.API_KEY,
                "OAI_KEY", "sk-openai-upstream",
                "GEM_KEY", FakeGemini.API_KEY));
    client = anthropicClient(key);
  }

  static AnthropicClient anthropicClient(String apiKey) {
    return AnthropicOkHttpClient.builder()
        .baseUrl(gw.url())
        .apiKey(apiKey)
        .maxRetries(0)
        .timeout(Duration.ofSeconds(10))
        .build();
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

  private static String text(Message m) {
    StringBuilder sb = new StringBuilder();
    for (ContentBlock b : m.content()) {
      b.text().ifPresent(t -> sb.append(t.text()));
    }
    return sb.toString();
  }

  @Test
  void sdkCallToAnthropicPassesThroughWithBetaHeadersAndOurKeyStaysHere() {
    int before = gw.usage().size();
    Message m =
        client
            .messages()
            .create(
                MessageCreateParams.builder()
                    .model("claude-sonnet-4-5")
                    .maxTokens(100)
                    .system("Be brief.")
                    .addUserMessage("hello there")
                    .putAdditionalHeader("anthropic-beta", "prompt-caching-2024-07-31")
                    .build());

    assertThat(text(m)).isEqualTo("echo: hello there");
    assertThat(m.stopReason()).contains(StopReason.END_TURN);
    FakeAnthropic.Request up = anthropic.lastRequest();
    assertThat(up.path()).isEqualTo("/v1/messages");
    assertThat(up.headers().get("x-api-key")).isEqualTo(FakeAnthropic.API_KEY);
    assertThat(up.headers().get("anthropic-beta")).isEqualTo("prompt-caching-2024-07-31");
    // The SDK's own anthropic-version, not a default of ours.
    assertThat(up.headers().get("anthropic-version")).isNotBlank();
    assertThat(up.raw()).doesNotContain(key);
    UsageRecord u = lastUsage(before + 1);
    assertThat(u.endpoint()).isEqualTo("messages");
    assertThat(u.provider()).isEqualTo("anthropic");
    assertThat(u.promptTokens()).isEqualTo(m.usage().inputTokens()).isEqualTo(4);
    assertThat(u.completionTokens()).isEqualTo(m.usage().outputTokens()).isEqualTo(3);
  }

  @Test
  void streamedUsageIsExactWithCacheReadsAndWritesPricedApart() {
    anthropic.cacheTokens(700, 300);
    int before = gw.usage().size();
    MessageAccumulator acc = MessageAccumulator.create();
    try (StreamResponse<RawMessageStreamEvent> s =
        client
            .messages()
            .createStreaming(
                MessageCreateParams.builder()
                    .model("claude-sonnet-4-5")
                    .maxTokens(100)
                    .addUserMessage("one two three")
                    .build())) {
      s.stream().forEach(acc::accumulate);
    }
    Message m = acc.message();

    assertThat(text(m)).isEqualTo("echo: one two three");
    assertThat(m.usage().cacheReadInputTokens()).contains(700L);
    assertThat(m.usage().cacheCreationInputTokens()).contains(300L);
    UsageRecord u = lastUsage(before + 1);
    assertThat(u.stream()).isTrue();
    assertThat(u.promptTokens()).isEqualTo(3 + 700 + 300);
    assertThat(u.cachedTokens()).isEqualTo(700);
    assertThat(u.cacheWriteTokens()).isEqualTo(300);
    assertThat(u.completionTokens()).isEqualTo(4);
    // 3 plain input at $3, 700 cache reads at $0.30, 300 cache writes at 1.25 x $3, 4 output at $15
    BigDecimal expected =
        new BigDecimal("3")
            .multiply(BigDecimal.valueOf(3))
            .add(new BigDecimal("0.3").multiply(BigDecimal.valueOf(700)))
            .add(new BigDecimal("3.75").multiply(BigDecimal.valueOf(300)))
            .add(new BigDecimal("15").multiply(BigDecimal.valueOf(4)))
            .divide(BigDecimal.valueOf(1_000_000));
    assertThat(u.costUsd()).isEqualByComparingTo(expected);
  }

  @Test
  void recordedClaudeCodeTurnReachesAnthropicUnchangedAndStreamsBackAsSent() throws Exception {
    ObjectNode sent;
    try (InputStream in = getClass().getResourceAsStream("/agent/claude-code-turn.json")) {
      sent = (ObjectNode) MAPPER.readTree(in);
    }
    sent.put("model", "claude-or-gpt");
    AggregatedHttpResponse res =
        gw.web()
            .execute(
                HttpRequest.of(
                    RequestHeaders.builder(HttpMethod.POST, "/v1/messages")
                        .contentType(MediaType.JSON)
                        .add("x-api-key", key)
                        .add("anthropic-version", "2023-06-01")
                        .add(
                            "anthropic-beta",
                            "interleaved-thinking-2025-05-14,extended-cache-ttl-2025-04-11")
                        .build(),
                    HttpData.ofUtf8(MAPPER.writeValueAsString(sent))))
            .aggregate()
            .join();

    assertThat(res.status().code()).isEqualTo(200);
    FakeAnthropic.Request up = anthropic.lastRequest();
    JsonNode received = up.body();
    // Field by field: everything the client sent, with only the model replaced.
    ObjectNode expected = sent.deepCopy();
    expected.put("model", "claude-sonnet-4-5");
    assertThat(received).isEqualTo(expected);
    JsonNode turn = received.path("messages").path(3).path("content");
    assertThat(turn.path(0).path("signature").asText())
        .isEqualTo("EqQBCkYIBxgCKkBsig-second-signature==");
    assertThat(turn.path(1).path("data").asText())
        .isEqualTo("EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlx");
    assertThat(received.path("system").path(1).path("cache_control").path("ttl").asText())
        .isEqualTo("1h");
    assertThat(received.path("tools").path(1).path("cache_control").path("ttl").asText())
        .isEqualTo("5m");
    JsonNode image = received.path("messages").path(4).path("content").path(0).path("content");
    assertThat(image.path(1).path("source").path("media_type").asText()).isEqualTo("image/png");
    assertThat(image.path(1).path("source").path("data").asText()).startsWith("iVBORw0KGgo");
    assertThat(up.headers().get("anthropic-beta"))
        .isEqualTo("interleaved-thinking-2025-05-14,extended-cache-ttl-2025-04-11");
    assertThat(up.headers().get("anthropic-version")).isEqualTo("2023-06-01");
    assertThat(res.contentType().nameWithoutParameters()).isEqualTo("text/event-stream");
    List<String> events = new ArrayList<>();
    for (String line : res.contentUtf8().split("\n")) {
      if (line.startsWith("event: ")) {
        events.add(line.substring(7));
      }
    }
    assertThat(events)
        .startsWith("message_start", "ping", "content_block_start", "content_block_delta")
        .endsWith("content_block_stop", "message_delta", "message_stop");
    StringBuilder text = new StringBuilder();
    for (String line : res.contentUtf8().split("\n")) {
      if (line.startsWith("data: ")) {
        text.append(MAPPER.readTree(line.substring(6)).path("delta").path("text").asText(""));
      }
    }
    assertThat(text.toString().strip()).isEqualTo("tool result: screen captured");
  }

  @Test
  void countTokensPassesThroughToAnthropicAndIsEstimatedElsewhere() {
    long counted =
        client
            .messages()
            .countTokens(
                MessageCountTokensParams.builder()
                    .model("claude-sonnet-4-5")
                    .addUserMessage("count these five words")
                    .build())
            .inputTokens();
    assertThat(counted).isEqualTo(4);
    assertThat(anthropic.lastRequest().path()).isEqualTo("/v1/messages/count_tokens");

    long estimated =
        client
            .messages()
            .countTokens(
                MessageCountTokensParams.builder()
                    .model("gpt-4o-mini")
                    .addUserMessage("count these five words please")
                    .build())
            .inputTokens();
    // ceil(29 characters / 4) + 3 for the one message
    assertThat(estimated).isEqualTo(8 + 3);
    assertThat(openai.received()).isEmpty();
  }

  @Test
  void bridgedToOpenAiWithToolsAndStreaming() {
    Message m =
        client
            .messages()
            .create(
                MessageCreateParams.builder()
                    .model("gpt-4o-mini")
                    .maxTokens(50)
                    .system("Be brief.")
                    .addUserMessage("hi")
                    .build());
    assertThat(text(m)).isEqualTo("Hello from the fake");
    assertThat(m.usage().inputTokens()).isEqualTo(10);
    assertThat(m.usage().outputTokens()).isEqualTo(4);
    JsonNode chat = openai.received().get(0).body();
    assertThat(openai.received().get(0).path()).isEqualTo("/v1/chat/completions");
    assertThat(chat.path("messages").path(0).path("content").asText()).isEqualTo("Be brief.");
    assertThat(chat.path("messages").path(1).path("content").asText()).isEqualTo("hi");
    assertThat(chat.path("max_tokens").asInt()).isEqualTo(50);

    Message tool =
        client
            .messages()
            .create(
                MessageCreateParams.builder()
                    .model("gpt-4o-mini")
                    .maxTokens(50)
                    .addUserMessage("weather?")
                    .addTool(
                        Tool.builder()
                            .name("get_weather")
                            .inputSchema(
                                Tool.InputSchema.builder()
                                    .properties(
                                        JsonValue.from(Map.of("city", Map.of("type", "string"))))
                                    .build())
                            .build())
                    .build());
    assertThat(tool.stopReason()).contains(StopReason.TOOL_USE);
    var use = tool.content().get(0).toolUse().orElseThrow();
    assertThat(use.name()).isEqualTo("get_weather");
    assertThat(use._input().convert(Map.class)).isEqualTo(Map.of("city", "Paris"));
    assertThat(
            openai
                .received()
                .get(1)
                .body()
                .path("tools")
                .path(0)
                .path("function")
                .path("name")
                .asText())
        .isEqualTo("get_weather");

    int before = gw.usage().size();
    MessageAccumulator acc = MessageAccumulator.create();
    try (StreamResponse<RawMessageStreamEvent> s =
        client
            .messages()
            .createStreaming(
                MessageCreateParams.builder()
                    .model("gpt-4o-mini")
                    .maxTokens(50)
                    .addUserMessage("hi")
                    .build())) {
      s.stream().forEach(acc::accumulate);
    }
    Message streamed = acc.message();
    assertThat(text(streamed)).isEqualTo("Hello from the fake");
    assertThat(streamed.usage().outputTokens()).isEqualTo(4);
    assertThat(
            openai
                .received()
                .get(2)
                .body()
                .path("stream_options")
                .path("include_usage")
                .asBoolean())
        .isTrue();
    UsageRecord u = lastUsage(before + 1);
    assertThat(u.promptTokens()).isEqualTo(10);
    assertThat(u.completionTokens()).isEqualTo(4);
  }

  @Test
  void bridgedToGeminiKeepsToolResultImages() throws Exception {
    ObjectNode sent;
    try (InputStream in = getClass().getResourceAsStream("/agent/claude-code-turn.json")) {
      sent = (ObjectNode) MAPPER.readTree(in);
    }
    sent.put("model", "gemini-2.5-flash");
    sent.put("stream", false);
    AggregatedHttpResponse res =
        gw.web()
            .execute(
                HttpRequest.of(
                    RequestHeaders.builder(HttpMethod.POST, "/v1/messages")
                        .contentType(MediaType.JSON)
                        .add("authorization", "Bearer " + key)
                        .build(),
                    HttpData.ofUtf8(MAPPER.writeValueAsString(sent))))
            .aggregate()
            .join();
    assertThat(res.status().code()).isEqualTo(200);
    JsonNode msg = MAPPER.readTree(res.contentUtf8());
    assertThat(msg.path("type").asText()).isEqualTo("message");
    assertThat(msg.path("usage").path("output_tokens").asLong()).isPositive();
    String upstream = gemini.lastRequest().raw();
    assertThat(upstream).contains("iVBORw0KGgo").contains("<project>enforcer</project>");
    assertThat(upstream).doesNotContain("RecordedSignature");
  }

  @Test
  void aStreamBrokenAfterContentEndsWithAnAnthropicErrorEvent() throws Exception {
    anthropic.enqueue(FakeAnthropic.Fault.streamError("overloaded_error", "Overloaded"));
    AggregatedHttpResponse res =
        gw.web()
            .execute(
                HttpRequest.of(
                    RequestHeaders.builder(HttpMethod.POST, "/v1/messages")
                        .contentType(MediaType.JSON)
                        .add("x-api-key", key)
                        .build(),
                    HttpData.ofUtf8(
                        "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":20,\"stream\":true,"
                            + "\"messages\":[{\"role\":\"user\",\"content\":\"a b c\"}]}")))
            .aggregate()
            .join();
    String[] lines = res.contentUtf8().strip().split("\n");
    assertThat(lines[lines.length - 2]).isEqualTo("event: error");
    JsonNode error = MAPPER.readTree(lines[lines.length - 1].substring("data: ".length()));
    assertThat(error.path("type").asText()).isEqualTo("error");
    assertThat(error.path("error").path("type").asText()).isEqualTo("api_error");
    assertThat(error.path("error").path("message").asText()).contains("interrupted");
    assertThat(res.contentUtf8()).doesNotContain("message_stop").doesNotContain("[DONE]");
  }

  @Test
  void streamsBridgedFromGemini() {
    int before = gw.usage().size();
    MessageAccumulator acc = MessageAccumulator.create();
    try (StreamResponse<RawMessageStreamEvent> s =
        client
            .messages()
            .createStreaming(
                MessageCreateParams.builder()
                    .model("gemini-2.5-flash")
                    .maxTokens(50)
                    .addUserMessage("hello gemini")
                    .build())) {
      s.stream().forEach(acc::accumulate);
    }
    Message m = acc.message();
    assertThat(text(m)).isNotEmpty();
    assertThat(m.usage().outputTokens()).isPositive();
    UsageRecord u = lastUsage(before + 1);
    assertThat(u.provider()).isEqualTo("gemini");
    assertThat(u.stream()).isTrue();
    assertThat(u.completionTokens()).isEqualTo(m.usage().outputTokens());
    assertThat(u.promptTokens()).isPositive();
  }

  @Test
  void errorsTakeAnthropicsShape() throws Exception {
    AnthropicClient stranger = anthropicClient("sk-ar-not-a-key");
    assertThatThrownBy(
            () ->
                stranger
                    .messages()
                    .create(
                        MessageCreateParams.builder()
                            .model("claude-sonnet-4-5")
                            .maxTokens(10)
                            .addUserMessage("hi")
                            .build()))
        .isInstanceOf(UnauthorizedException.class);
    assertThatThrownBy(
            () ->
                client
                    .messages()
                    .create(
                        MessageCreateParams.builder()
                            .model("no-such-model")
                            .maxTokens(10)
                            .addUserMessage("hi")
                            .build()))
        .isInstanceOf(NotFoundException.class);

    AggregatedHttpResponse res =
        gw.web()
            .execute(
                HttpRequest.of(
                    RequestHeaders.builder(HttpMethod.POST, "/v1/messages")
                        .contentType(MediaType.JSON)
                        .add("x-api-key", key)
                        .build(),
                    HttpData.ofUtf8(
                        "{\"model\":\"claude-sonnet-4-5\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")))
            .aggregate()
            .join();
    assertThat(res.status().code()).isEqualTo(400);
    JsonNode body = MAPPER.readTree(res.contentUtf8());
    assertThat(body.path("type").asText()).isEqualTo("error");
    assertThat(body.path("error").path("type").asText()).isEqualTo("invalid_request_error");
    assertThat(body.path("error").path("message").asText()).contains("max_tokens");

    anthropic.enqueue(
        FakeAnthropic.Fault.status(400, "invalid_request_error", "messages.0: bad block"));
    assertThatThrownBy(
            () ->
                client
                    .messages()
                    .create(
                        MessageCreateParams.builder()
                            .model("claude-sonnet-4-5")
                            .maxTokens(10)
                            .addUserMessage("hi")
                            .build()))
        .isInstanceOf(BadRequestException.class)
        .hasMessageContaining("bad block");
  }

  @Test
  void fallsBackFromAnthropicToOpenAiBeforeAnythingReachedTheClient() {
    anthropic.enqueue(FakeAnthropic.Fault.status(529, "overloaded_error", "Overloaded"));
    int before = gw.usage().size();
    Message m =
        client
            .messages()
            .create(
                MessageCreateParams.builder()
                    .model("claude-or-gpt")
                    .maxTokens(50)
                    .addUserMessage("hi")
                    .build());
    assertThat(text(m)).isEqualTo("Hello from the fake");
    UsageRecord u = lastUsage(before + 1);
    assertThat(u.attempts()).isEqualTo(2);
    assertThat(u.provider()).isEqualTo("openai");

    anthropic.enqueue(FakeAnthropic.Fault.cutBeforeContent());
    MessageAccumulator acc = MessageAccumulator.create();
    try (StreamResponse<RawMessageStreamEvent> s =
        client
            .messages()
            .createStreaming(
                MessageCreateParams.builder()
                    .model("claude-or-gpt")
                    .maxTokens(50)
                    .addUserMessage("hi")
                    .build())) {
      s.stream().forEach(acc::accumulate);
    }
    assertThat(text(acc.message())).isEqualTo("Hello from the fake");
  }
}
