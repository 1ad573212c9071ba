package io.agentrouter.dataplane.fake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.client.ResponseTimeoutException;
import com.linecorp.armeria.client.WebClient;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpObject;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import com.linecorp.armeria.common.RequestHeadersBuilder;
import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.dataplane.provider.ChatContext;
import io.agentrouter.dataplane.provider.ProviderError;
import io.agentrouter.dataplane.provider.StreamTranslator;
import io.agentrouter.dataplane.provider.TokenUsage;
import io.agentrouter.dataplane.provider.UpstreamCall;
import io.agentrouter.dataplane.provider.anthropic.AnthropicTranslator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/** Drives {@link FakeAnthropic} through {@link AnthropicTranslator} with a plain HTTP client. */
class FakeAnthropicTest {

  @RegisterExtension static final FakeAnthropic anthropic = new FakeAnthropic();

  private static final ObjectMapper MAPPER = JsonMapper.builder().build();

  private final AnthropicTranslator translator = new AnthropicTranslator();

  @BeforeEach
  void reset() {
    anthropic.reset();
  }

  private ChatContext ctx() {
    return new ChatContext("req-1", anthropic.target(), "claude-fake-1", "claude", 1_700_000_000L);
  }

  private static ObjectNode request(String json) {
    try {
      return (ObjectNode) MAPPER.readTree(json);
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }

  private HttpRequest http(UpstreamCall call) {
    RequestHeadersBuilder headers = RequestHeaders.builder(HttpMethod.POST, call.path());
    call.headers().forEach(headers::add);
    return HttpRequest.of(headers.build(), HttpData.ofUtf8(call.body().toString()));
  }

  private AggregatedHttpResponse send(UpstreamCall call, Duration timeout) {
    return WebClient.builder(anthropic.baseUrl())
        .responseTimeout(timeout)
        .build()
        .execute(http(call))
        .aggregate()
        .join();
  }

  /** What a streamed call produced: the chunks, and whether the transport broke. */
  record Streamed(List<ObjectNode> chunks, StreamTranslator translator, boolean broken) {}

  /**
   * Sends a streamed call and feeds what arrived to a fresh stream translator. A plain subscriber,
   * not {@code collect()}: collecting drops what arrived when the stream then fails, and a cut
   * stream is exactly what some tests look at.
   */
  private Streamed stream(UpstreamCall call) {
    StringBuilder received = new StringBuilder();
    CompletableFuture<Boolean> done = new CompletableFuture<>();
    WebClient.of(anthropic.baseUrl())
        .execute(http(call))
        .subscribe(
            new Subscriber<HttpObject>() {
              @Override
              public void onSubscribe(Subscription s) {
                s.request(Long.MAX_VALUE);
              }

              @Override
              public void onNext(HttpObject o) {
                if (o instanceof HttpData d) {
                  received.append(d.toStringUtf8());
                }
              }

              @Override
              public void onError(Throwable t) {
                done.complete(true);
              }

              @Override
              public void onComplete() {
                done.complete(false);
              }
            });
    boolean broken = done.orTimeout(10, TimeUnit.SECONDS).join();
    StreamTranslator st = translator.chatStream(ctx());
    List<ObjectNode> chunks = new ArrayList<>();
    for (String[] event : sseEvents(received.toString())) {
      chunks.addAll(st.onEvent(event[0], event[1]));
    }
    return new Streamed(chunks, st, broken);
  }

  /** A minimal SSE parser: complete events only (an event ends at a blank line). */
  static List<String[]> sseEvents(String text) {
    List<String[]> events = new ArrayList<>();
    @Nullable String event = null;
    StringBuilder data = null;
    String[] lines = text.split("\r?\n", -1);
    // The last element follows the last newline: an unfinished line, never part of an event.
    for (int i = 0; i < lines.length - 1; i++) {
      String line = lines[i];
      if (line.isEmpty()) {
        if (data != null) {
          events.add(new String[] {event, data.toString()});
        }
        event = null;
        data = null;
      } else if (line.startsWith("event:")) {
        event = line.substring(6).strip();
      } else if (line.startsWith("data:")) {
        String v = line.substring(5);
        v = v.startsWith(" ") ? v.substring(1) : v;
        data = data == null ? new StringBuilder(v) : data.append('\n').append(v);
      }
    }
    return events;
  }

  private static String content(List<ObjectNode> chunks) {
    StringBuilder sb = new StringBuilder();
    for (ObjectNode c : chunks) {
      for (JsonNode choice : c.path("choices")) {
        sb.append(choice.path("delta").path("content").asText(""));
      }
    }
    return sb.toString();
  }

  private static final String HELLO =
      "{\"messages\":[{\"role\":\"system\",\"content\":\"Be kind.\"},"
          + "{\"role\":\"user\",\"content\":\"Hello there friend\"}],\"max_tokens\":50}";

  @Test
  void echoesAndCountsTokensAndRecordsTheRequest() throws Exception {
    anthropic.cacheTokens(100, 20);
    UpstreamCall call = translator.chatRequest(ctx(), request(HELLO));
    AggregatedHttpResponse res = send(call, Duration.ofSeconds(10));

    assertThat(res.status().code()).isEqualTo(200);
    ObjectNode out = translator.chatResponse(ctx(), MAPPER.readTree(res.contentUtf8()));
    assertThat(out.path("choices").get(0).path("message").path("content").asText())
        .isEqualTo("echo: Hello there friend");
    assertThat(out.path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
    // input: "Be kind." (2) + "Hello there friend" (3); output: "echo: Hello there friend" (4)
    JsonNode usage = out.path("usage");
    assertThat(usage.path("prompt_tokens").asLong()).isEqualTo(5 + 100 + 20);
    assertThat(usage.path("completion_tokens").asLong()).isEqualTo(4);
    assertThat(usage.path("prompt_tokens_details").path("cached_tokens").asLong()).isEqualTo(100);

    FakeAnthropic.Request seen = anthropic.lastRequest();
    assertThat(seen.method()).isEqualTo("POST");
    assertThat(seen.path()).isEqualTo("/v1/messages");
    assertThat(seen.headers())
        .containsEntry("x-api-key", FakeAnthropic.API_KEY)
        .containsEntry("anthropic-version", "2023-06-01");
    assertThat(seen.headers().get("content-type")).startsWith("application/json");
    assertThat(seen.body().path("model").asText()).isEqualTo("claude-fake-1");
    assertThat(seen.body().path("system").get(0).path("text").asText()).isEqualTo("Be kind.");
    assertThat(seen.body().path("max_tokens").asInt()).isEqualTo(50);
  }

  @Test
  void streamsTheSameAnswerWithUsage() {
    ObjectNode req = request(HELLO);
    req.put("stream", true);
    Streamed s = stream(translator.chatRequest(ctx(), req));

    assertThat(s.broken()).isFalse();
    assertThat(content(s.chunks())).isEqualTo("echo: Hello there friend");
    assertThat(s.chunks().get(0).path("choices").get(0).path("delta").path("role").asText())
        .isEqualTo("assistant");
    ObjectNode last = s.chunks().get(s.chunks().size() - 1);
    assertThat(last.path("choices")).isEmpty();
    assertThat(last.path("usage").path("completion_tokens").asLong()).isEqualTo(4);
    assertThat(s.translator().finished()).isTrue();
    assertThat(s.translator().usage()).isEqualTo(new TokenUsage(5, 4, 0));
  }

  @Test
  void toolLoopCallsTheToolThenReadsItsResult() throws Exception {
    String tools =
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"lookup\","
            + "\"parameters\":{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\"}}}}}]";
    UpstreamCall first =
        translator.chatRequest(
            ctx(),
            request(
                "{\"messages\":[{\"role\":\"user\",\"content\":\"capital of France\"}],"
                    + tools
                    + "}"));
    ObjectNode out =
        translator.chatResponse(
            ctx(), MAPPER.readTree(send(first, Duration.ofSeconds(10)).contentUtf8()));
    JsonNode message = out.path("choices").get(0).path("message");
    assertThat(out.path("choices").get(0).path("finish_reason").asText()).isEqualTo("tool_calls");
    JsonNode call = message.path("tool_calls").get(0);
    assertThat(call.path("function").path("name").asText()).isEqualTo("lookup");
    assertThat(
            MAPPER
                .readTree(call.path("function").path("arguments").asText())
                .path("query")
                .asText())
        .isEqualTo("capital of France");

    ObjectNode next =
        request(
            "{\"messages\":[{\"role\":\"user\",\"content\":\"capital of France\"}]," + tools + "}");
    next.withArray("messages").add(message);
    next.withArray("messages")
        .addObject()
        .put("role", "tool")
        .put("tool_call_id", call.path("id").asText())
        .put("content", "Paris");
    next.put("stream", true);
    Streamed s = stream(translator.chatRequest(ctx(), next));
    assertThat(content(s.chunks())).isEqualTo("tool result: Paris");
    JsonNode sent = anthropic.lastRequest().body().path("messages");
    assertThat(sent.get(1).path("content").get(0).path("type").asText()).isEqualTo("tool_use");
    assertThat(sent.get(2).path("content").get(0).path("tool_use_id").asText())
        .isEqualTo(call.path("id").asText());
  }

  @Test
  void streamedToolCallArrivesInPieces() throws Exception {
    Streamed s =
        stream(
            translator.chatRequest(
                ctx(),
                request(
                    "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"find cats\"}],"
                        + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"search\"}}]}")));
    StringBuilder args = new StringBuilder();
    String id = null;
    for (ObjectNode c : s.chunks()) {
      for (JsonNode tc : c.path("choices").path(0).path("delta").path("tool_calls")) {
        assertThat(tc.path("index").asInt()).isZero();
        if (tc.has("id")) {
          id = tc.path("id").asText();
        }
        args.append(tc.path("function").path("arguments").asText(""));
      }
    }
    assertThat(id).startsWith("toolu_fake_");
    assertThat(MAPPER.readTree(args.toString()).path("query").asText()).isEqualTo("find cats");
    assertThat(s.translator().usage().completionTokens())
        .isEqualTo(FakeAnthropic.countTokens("{\"query\":\"find cats\"}"));
  }

  @Test
  void maxTokensAndStopSequencesCutTheAnswer() throws Exception {
    ObjectNode req =
        request(
            "{\"messages\":[{\"role\":\"user\",\"content\":\"one two three four\"}],"
                + "\"max_tokens\":2}");
    ObjectNode out =
        translator.chatResponse(
            ctx(),
            MAPPER.readTree(
                send(translator.chatRequest(ctx(), req), Duration.ofSeconds(10)).contentUtf8()));
    assertThat(out.path("choices").get(0).path("message").path("content").asText())
        .isEqualTo("echo: one");
    assertThat(out.path("choices").get(0).path("finish_reason").asText()).isEqualTo("length");

    req =
        request(
            "{\"messages\":[{\"role\":\"user\",\"content\":\"one two three\"}],\"stop\":\"three\"}");
    out =
        translator.chatResponse(
            ctx(),
            MAPPER.readTree(
                send(translator.chatRequest(ctx(), req), Duration.ofSeconds(10)).contentUtf8()));
    assertThat(out.path("choices").get(0).path("message").path("content").asText())
        .isEqualTo("echo: one two ");
    assertThat(out.path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
  }

  @Test
  void statusFaultsCarryAnthropicsErrorBody() {
    anthropic.enqueue(
        FakeAnthropic.Fault.status(529),
        FakeAnthropic.Fault.rateLimited(7),
        FakeAnthropic.Fault.status(500));
    UpstreamCall call = translator.chatRequest(ctx(), request(HELLO));

    AggregatedHttpResponse overloaded = send(call, Duration.ofSeconds(10));
    assertThat(overloaded.status().code()).isEqualTo(529);
    assertThat(translator.error(529, overloaded.contentUtf8()).errorClass())
        .isEqualTo(ErrorClass.OVERLOADED);

    AggregatedHttpResponse limited = send(call, Duration.ofSeconds(10));
    assertThat(limited.status().code()).isEqualTo(429);
    assertThat(limited.headers().get("retry-after")).isEqualTo("7");
    ProviderError rate = translator.error(429, limited.contentUtf8());
    assertThat(rate.errorClass()).isEqualTo(ErrorClass.RATE_LIMITED);
    assertThat(rate.message()).contains("rate limit");

    assertThat(translator.error(500, send(call, Duration.ofSeconds(10)).contentUtf8()).errorClass())
        .isEqualTo(ErrorClass.SERVER);
    // the queue is drained: the next call succeeds, and every call was recorded
    assertThat(send(call, Duration.ofSeconds(10)).status().code()).isEqualTo(200);
    assertThat(anthropic.requests()).hasSize(4);
  }

  @Test
  void wrongKeyIsRefusedAsAnthropicDoes() {
    UpstreamCall good = translator.chatRequest(ctx(), request(HELLO));
    Map<String, String> headers = new HashMap<>(good.headers());
    headers.put("x-api-key", "sk-ant-wrong");
    AggregatedHttpResponse res =
        send(new UpstreamCall(good.path(), headers, good.body(), false), Duration.ofSeconds(10));
    assertThat(res.status().code()).isEqualTo(401);
    assertThat(translator.error(401, res.contentUtf8()).errorClass()).isEqualTo(ErrorClass.AUTH);
  }

  @Test
  void delayHoldsTheAnswerBack() {
    anthropic.enqueue(FakeAnthropic.Fault.delay(Duration.ofMillis(300)));
    long start = System.nanoTime();
    AggregatedHttpResponse res =
        send(translator.chatRequest(ctx(), request(HELLO)), Duration.ofSeconds(10));
    assertThat(res.status().code()).isEqualTo(200);
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .isGreaterThanOrEqualTo(Duration.ofMillis(300));
  }

  @Test
  void hangOutlivesTheClientTimeout() {
    anthropic.enqueue(FakeAnthropic.Fault.hang());
    UpstreamCall call = translator.chatRequest(ctx(), request(HELLO));
    assertThatThrownBy(() -> send(call, Duration.ofMillis(200)))
        .isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(ResponseTimeoutException.class);
  }

  @Test
  void streamCutBeforeContentYieldsNothing() {
    anthropic.enqueue(FakeAnthropic.Fault.cutBeforeContent());
    ObjectNode req = request(HELLO);
    req.put("stream", true);
    Streamed s = stream(translator.chatRequest(ctx(), req));

    assertThat(s.broken()).isTrue();
    assertThat(s.chunks()).isEmpty();
    assertThat(s.translator().finished()).isFalse();
    assertThat(s.translator().usage().promptTokens()).isEqualTo(5);
  }

  @Test
  void streamCutAfterContentYieldsThePartialAnswer() {
    anthropic.enqueue(FakeAnthropic.Fault.cutAfterContent());
    ObjectNode req = request(HELLO);
    req.put("stream", true);
    Streamed s = stream(translator.chatRequest(ctx(), req));

    assertThat(s.broken()).isTrue();
    assertThat(content(s.chunks())).isEqualTo("echo:");
    assertThat(s.translator().finished()).isFalse();
    assertThat(s.translator().error()).isNull();
    assertThat(anthropic.cancellations()).isZero();
  }

  @Test
  void nonStreamedCutBreaksTheBody() {
    anthropic.enqueue(FakeAnthropic.Fault.cutBeforeContent());
    UpstreamCall call = translator.chatRequest(ctx(), request(HELLO));
    assertThatThrownBy(() -> send(call, Duration.ofSeconds(10)))
        .isInstanceOf(CompletionException.class);
  }

  @Test
  void inStreamErrorAndMalformedBodies() {
    anthropic.enqueue(
        FakeAnthropic.Fault.streamError("overloaded_error", "Overloaded"),
        FakeAnthropic.Fault.malformed(),
        FakeAnthropic.Fault.malformed());
    ObjectNode req = request(HELLO);
    req.put("stream", true);
    UpstreamCall streamed = translator.chatRequest(ctx(), req);

    Streamed errored = stream(streamed);
    assertThat(content(errored.chunks())).isEqualTo("echo:");
    assertThat(errored.translator().error().errorClass()).isEqualTo(ErrorClass.OVERLOADED);

    Streamed malformed = stream(streamed);
    assertThat(malformed.chunks()).isEmpty();
    assertThat(malformed.translator().error().errorClass()).isEqualTo(ErrorClass.SERVER);

    AggregatedHttpResponse res =
        send(translator.chatRequest(ctx(), request(HELLO)), Duration.ofSeconds(10));
    assertThat(res.status().code()).isEqualTo(200);
    assertThat(res.headers().contentType()).isEqualTo(MediaType.JSON_UTF_8);
    assertThatThrownBy(() -> MAPPER.readTree(res.contentUtf8())).isInstanceOf(Exception.class);
  }

  @Test
  void slowStreamNoticesAClientThatGoesAway() {
    anthropic.enqueue(FakeAnthropic.Fault.slowStream(Duration.ofMillis(200)));
    ObjectNode req = request(HELLO);
    req.put("stream", true);
    CompletableFuture<String> firstData = new CompletableFuture<>();
    WebClient.of(anthropic.baseUrl())
        .execute(http(translator.chatRequest(ctx(), req)))
        .subscribe(
            new Subscriber<HttpObject>() {
              private Subscription subscription;

              @Override
              public void onSubscribe(Subscription s) {
                subscription = s;
                s.request(Long.MAX_VALUE);
              }

              @Override
              public void onNext(HttpObject o) {
                if (o instanceof HttpData d && !firstData.isDone()) {
                  firstData.complete(d.toStringUtf8());
                  subscription.cancel(); // the client hangs up after the first event
                }
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onComplete() {}
            });

    assertThat(firstData.orTimeout(5, TimeUnit.SECONDS).join()).startsWith("event: message_start");
    await().atMost(Duration.ofSeconds(2)).until(() -> anthropic.cancellations() == 1);
  }

  @Test
  void countTokensAnswersTheInputCount() throws Exception {
    UpstreamCall call = translator.chatRequest(ctx(), request(HELLO));
    AggregatedHttpResponse res =
        send(
            new UpstreamCall("/v1/messages/count_tokens", call.headers(), call.body(), false),
            Duration.ofSeconds(10));
    assertThat(res.status().code()).isEqualTo(200);
    assertThat(MAPPER.readTree(res.contentUtf8()).path("input_tokens").asLong()).isEqualTo(5);
    assertThat(anthropic.lastRequest().path()).isEqualTo("/v1/messages/count_tokens");
  }
}
