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
import com.linecorp.armeria.common.RequestHeaders;
import com.linecorp.armeria.common.RequestHeadersBuilder;
import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.dataplane.provider.ChatContext;
import io.agentrouter.dataplane.provider.ProviderError;
import io.agentrouter.dataplane.provider.StreamTranslator;
import io.agentrouter.dataplane.provider.TokenUsage;
import io.agentrouter.dataplane.provider.UpstreamCall;
import io.agentrouter.dataplane.provider.gemini.GeminiTranslator;
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

/** Drives {@link FakeGemini} through {@link GeminiTranslator} with a plain HTTP client. */
class FakeGeminiTest {

  @RegisterExtension static final FakeGemini gemini = new FakeGemini();

  private static final ObjectMapper MAPPER = JsonMapper.builder().build();

  private static final String HELLO =
      "{\"messages\":[{\"role\":\"system\",\"content\":\"Be kind.\"},"
          + "{\"role\":\"user\",\"content\":\"Hello there friend\"}]}";

  private final GeminiTranslator translator = new GeminiTranslator();

  @BeforeEach
  void reset() {
    gemini.reset();
  }

  private ChatContext ctx() {
    return new ChatContext("req-1", gemini.target(), "gemini-fake", "gemini", 1_700_000_000L);
  }

  private static ObjectNode request(String json) {
    try {
      return (ObjectNode) MAPPER.readTree(json);
    } catch (Exception e) {
      throw new IllegalArgumentException(e);
    }
  }

  private static HttpRequest http(UpstreamCall call) {
    RequestHeadersBuilder headers = RequestHeaders.builder(HttpMethod.POST, call.path());
    call.headers().forEach(headers::add);
    return HttpRequest.of(headers.build(), HttpData.ofUtf8(call.body().toString()));
  }

  private AggregatedHttpResponse send(UpstreamCall call, Duration timeout) {
    return WebClient.builder(gemini.baseUrl())
        .responseTimeout(timeout)
        .build()
        .execute(http(call))
        .aggregate()
        .join();
  }

  private ObjectNode complete(ObjectNode req) throws Exception {
    AggregatedHttpResponse res = send(translator.chatRequest(ctx(), req), Duration.ofSeconds(10));
    assertThat(res.status().code()).as(res.contentUtf8()).isEqualTo(200);
    return translator.chatResponse(ctx(), MAPPER.readTree(res.contentUtf8()));
  }

  record Streamed(List<ObjectNode> chunks, StreamTranslator translator, boolean broken) {}

  /** Sends a streamed call; a plain subscriber keeps what arrived before a cut. */
  private Streamed stream(UpstreamCall call) {
    StringBuilder received = new StringBuilder();
    CompletableFuture<Boolean> done = new CompletableFuture<>();
    WebClient.of(gemini.baseUrl())
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

  private static String content(List<ObjectNode> chunks, int index) {
    StringBuilder sb = new StringBuilder();
    for (ObjectNode c : chunks) {
      for (JsonNode choice : c.path("choices")) {
        if (choice.path("index").asInt() == index) {
          sb.append(choice.path("delta").path("content").asText(""));
        }
      }
    }
    return sb.toString();
  }

  private static ObjectNode streaming(String json) {
    ObjectNode req = request(json);
    req.put("stream", true);
    return req;
  }

  @Test
  void echoesCountsTokensAndRecordsTheKeyInTheHeaderOnly() throws Exception {
    gemini.cachedTokens(64);
    ObjectNode out = complete(request(HELLO));

    assertThat(out.path("choices").get(0).path("message").path("content").asText())
        .isEqualTo("echo: Hello there friend");
    assertThat(out.path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
    assertThat(out.path("id").asText()).startsWith("chatcmpl-fake-gemini-");
    // prompt: "Be kind." (2) + "Hello there friend" (3) + 64 cached; output: 4 words
    JsonNode usage = out.path("usage");
    assertThat(usage.path("prompt_tokens").asLong()).isEqualTo(5 + 64);
    assertThat(usage.path("completion_tokens").asLong()).isEqualTo(4);
    assertThat(usage.path("prompt_tokens_details").path("cached_tokens").asLong()).isEqualTo(64);

    FakeGemini.Request seen = gemini.lastRequest();
    assertThat(seen.path()).isEqualTo("/v1beta/models/gemini-fake:generateContent");
    assertThat(seen.path()).doesNotContain("key=");
    assertThat(seen.headers()).containsEntry("x-goog-api-key", FakeGemini.API_KEY);
    assertThat(seen.body().path("systemInstruction").path("parts").get(0).path("text").asText())
        .isEqualTo("Be kind.");
    assertThat(seen.body().path("contents").get(0).path("role").asText()).isEqualTo("user");
  }

  @Test
  void streamsWithSseAndUsage() {
    Streamed s = stream(translator.chatRequest(ctx(), streaming(HELLO)));

    assertThat(s.broken()).isFalse();
    assertThat(gemini.lastRequest().path())
        .isEqualTo("/v1beta/models/gemini-fake:streamGenerateContent?alt=sse");
    assertThat(content(s.chunks(), 0)).isEqualTo("echo: Hello there friend");
    assertThat(s.translator().finished()).isTrue();
    assertThat(s.translator().usage()).isEqualTo(new TokenUsage(5, 4, 0));
    ObjectNode last = s.chunks().get(s.chunks().size() - 1);
    assertThat(last.path("choices")).isEmpty();
    assertThat(last.path("usage").path("total_tokens").asLong()).isEqualTo(9);
  }

  @Test
  void severalCandidatesStreamSideBySide() throws Exception {
    String req =
        "{\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"hi you\"}],\"max_tokens\":50}";
    ObjectNode whole = complete(request(req));
    assertThat(whole.path("choices")).hasSize(2);
    assertThat(whole.path("choices").get(1).path("message").path("content").asText())
        .isEqualTo("echo[1]: hi you");

    Streamed s = stream(translator.chatRequest(ctx(), streaming(req)));
    assertThat(content(s.chunks(), 0)).isEqualTo("echo: hi you");
    assertThat(content(s.chunks(), 1)).isEqualTo("echo[1]: hi you");
    assertThat(s.translator().finished()).isTrue();
    assertThat(s.translator().usage().completionTokens()).isEqualTo(6);
  }

  @Test
  void toolLoopCallsTheFunctionThenReadsItsResult() throws Exception {
    String tools =
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"parameters\":"
            + "{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\"}}}}}]";
    String first =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"capital of France\"}]," + tools + "}";
    ObjectNode out = complete(request(first));
    JsonNode message = out.path("choices").get(0).path("message");
    assertThat(out.path("choices").get(0).path("finish_reason").asText()).isEqualTo("tool_calls");
    JsonNode call = message.path("tool_calls").get(0);
    assertThat(call.path("id").asText()).isEqualTo("call_req-1_0_0");
    assertThat(call.path("function").path("name").asText()).isEqualTo("lookup");
    assertThat(
            MAPPER
                .readTree(call.path("function").path("arguments").asText())
                .path("query")
                .asText())
        .isEqualTo("capital of France");

    ObjectNode next = request(first);
    next.withArray("messages").add(message);
    next.withArray("messages")
        .addObject()
        .put("role", "tool")
        .put("tool_call_id", call.path("id").asText())
        .put("content", "Paris");
    Streamed s = stream(translator.chatRequest(ctx(), streaming(next.toString())));
    assertThat(content(s.chunks(), 0)).isEqualTo("tool result: {\"content\":\"Paris\"}");
    JsonNode sent = gemini.lastRequest().body().path("contents");
    assertThat(sent.get(1).path("role").asText()).isEqualTo("model");
    assertThat(sent.get(1).path("parts").get(0).path("functionCall").path("name").asText())
        .isEqualTo("lookup");
    assertThat(sent.get(2).path("parts").get(0).path("functionResponse").path("name").asText())
        .isEqualTo("lookup");
  }

  @Test
  void maxOutputTokensCutsTheAnswer() throws Exception {
    ObjectNode out =
        complete(
            request(
                "{\"messages\":[{\"role\":\"user\",\"content\":\"a b c d\"}],\"max_tokens\":3}"));
    assertThat(out.path("choices").get(0).path("message").path("content").asText())
        .isEqualTo("echo: a b");
    assertThat(out.path("choices").get(0).path("finish_reason").asText()).isEqualTo("length");
  }

  @Test
  void statusFaultsCarryGooglesErrorBody() {
    gemini.enqueue(
        FakeGemini.Fault.rateLimited(12),
        FakeGemini.Fault.status(503),
        FakeGemini.Fault.status(500));
    UpstreamCall call = translator.chatRequest(ctx(), request(HELLO));

    AggregatedHttpResponse limited = send(call, Duration.ofSeconds(10));
    assertThat(limited.status().code()).isEqualTo(429);
    ProviderError rate = translator.error(429, limited.contentUtf8());
    assertThat(rate.errorClass()).isEqualTo(ErrorClass.RATE_LIMITED);
    assertThat(rate.retryAfterSeconds()).isEqualTo(12L);
    assertThat(translator.error(503, send(call, Duration.ofSeconds(10)).contentUtf8()).errorClass())
        .isEqualTo(ErrorClass.OVERLOADED);
    assertThat(translator.error(500, send(call, Duration.ofSeconds(10)).contentUtf8()).errorClass())
        .isEqualTo(ErrorClass.SERVER);
    assertThat(send(call, Duration.ofSeconds(10)).status().code()).isEqualTo(200);
    assertThat(gemini.requests()).hasSize(4);
  }

  @Test
  void wrongKeyIsRefusedAsGoogleDoes() {
    UpstreamCall good = translator.chatRequest(ctx(), request(HELLO));
    Map<String, String> headers = new HashMap<>(good.headers());
    headers.put("x-goog-api-key", "AIzaWrong");
    AggregatedHttpResponse res =
        send(new UpstreamCall(good.path(), headers, good.body(), false), Duration.ofSeconds(10));
    assertThat(res.status().code()).isEqualTo(400);
    assertThat(translator.error(400, res.contentUtf8()).errorClass()).isEqualTo(ErrorClass.AUTH);
  }

  @Test
  void blockedPromptIsContentPolicyStreamedOrNot() throws Exception {
    gemini.enqueue(FakeGemini.Fault.blocked("SAFETY"), FakeGemini.Fault.blocked("SAFETY"));
    ObjectNode out = complete(request(HELLO));
    assertThat(out.path("choices").get(0).path("finish_reason").asText())
        .isEqualTo("content_filter");

    Streamed s = stream(translator.chatRequest(ctx(), streaming(HELLO)));
    assertThat(s.chunks()).isEmpty();
    assertThat(s.translator().error().errorClass()).isEqualTo(ErrorClass.CONTENT_POLICY);
  }

  @Test
  void delayAndHang() {
    gemini.enqueue(FakeGemini.Fault.delay(Duration.ofMillis(300)), FakeGemini.Fault.hang());
    UpstreamCall call = translator.chatRequest(ctx(), request(HELLO));
    long start = System.nanoTime();
    assertThat(send(call, Duration.ofSeconds(10)).status().code()).isEqualTo(200);
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .isGreaterThanOrEqualTo(Duration.ofMillis(300));
    assertThatThrownBy(() -> send(call, Duration.ofMillis(200)))
        .isInstanceOf(CompletionException.class)
        .hasCauseInstanceOf(ResponseTimeoutException.class);
  }

  @Test
  void cutStreams() {
    gemini.enqueue(FakeGemini.Fault.cutBeforeContent(), FakeGemini.Fault.cutAfterContent());
    UpstreamCall call = translator.chatRequest(ctx(), streaming(HELLO));

    Streamed before = stream(call);
    assertThat(before.broken()).isTrue();
    assertThat(before.chunks()).isEmpty();

    Streamed after = stream(call);
    assertThat(after.broken()).isTrue();
    assertThat(content(after.chunks(), 0)).isEqualTo("echo:");
    assertThat(after.translator().finished()).isFalse();
  }

  @Test
  void inStreamErrorMalformedEventAndMalformedBody() {
    gemini.enqueue(
        FakeGemini.Fault.streamError(503, "UNAVAILABLE", "The model is overloaded."),
        FakeGemini.Fault.malformed(),
        FakeGemini.Fault.malformed(),
        FakeGemini.Fault.cutBeforeContent());
    UpstreamCall streamed = translator.chatRequest(ctx(), streaming(HELLO));

    Streamed errored = stream(streamed);
    assertThat(content(errored.chunks(), 0)).isEqualTo("echo:");
    assertThat(errored.translator().error().errorClass()).isEqualTo(ErrorClass.OVERLOADED);

    Streamed malformed = stream(streamed);
    assertThat(malformed.chunks()).isEmpty();
    assertThat(malformed.translator().error().errorClass()).isEqualTo(ErrorClass.SERVER);

    UpstreamCall plain = translator.chatRequest(ctx(), request(HELLO));
    AggregatedHttpResponse res = send(plain, Duration.ofSeconds(10));
    assertThat(res.status().code()).isEqualTo(200);
    assertThatThrownBy(() -> MAPPER.readTree(res.contentUtf8())).isInstanceOf(Exception.class);

    assertThatThrownBy(() -> send(plain, Duration.ofSeconds(10)))
        .isInstanceOf(CompletionException.class);
  }

  @Test
  void streamWithoutAltSseAnswersAJsonArray() throws Exception {
    UpstreamCall sse = translator.chatRequest(ctx(), streaming(HELLO));
    UpstreamCall array =
        new UpstreamCall(sse.path().replace("?alt=sse", ""), sse.headers(), sse.body(), false);
    AggregatedHttpResponse res = send(array, Duration.ofSeconds(10));
    JsonNode events = MAPPER.readTree(res.contentUtf8());
    assertThat(events.isArray()).isTrue();
    StreamTranslator st = translator.chatStream(ctx());
    List<ObjectNode> chunks = new ArrayList<>();
    for (JsonNode e : events) {
      chunks.addAll(st.onEvent(null, e.toString()));
    }
    assertThat(content(chunks, 0)).isEqualTo("echo: Hello there friend");
    assertThat(st.finished()).isTrue();
  }

  @Test
  void invalidRequestsAreRefusedAsGeminiDoes() {
    UpstreamCall good = translator.chatRequest(ctx(), request(HELLO));
    AggregatedHttpResponse res =
        send(
            new UpstreamCall(good.path(), good.headers(), request("{\"contents\":[]}"), false),
            Duration.ofSeconds(10));
    assertThat(res.status().code()).isEqualTo(400);
    ProviderError error = translator.error(400, res.contentUtf8());
    assertThat(error.errorClass()).isEqualTo(ErrorClass.BAD_REQUEST);
    assertThat(error.message()).contains("contents is not specified");
  }

  @Test
  void slowStreamDeliversEverythingPaced() {
    gemini.enqueue(FakeGemini.Fault.slowStream(Duration.ofMillis(40)));
    long start = System.nanoTime();
    Streamed s = stream(translator.chatRequest(ctx(), streaming(HELLO)));

    assertThat(content(s.chunks(), 0)).isEqualTo("echo: Hello there friend");
    assertThat(s.translator().finished()).isTrue();
    // four events, three pauses between them
    assertThat(Duration.ofNanos(System.nanoTime() - start))
        .isGreaterThanOrEqualTo(Duration.ofMillis(120));
  }

  @Test
  void slowStreamNoticesAClientThatGoesAway() {
    gemini.enqueue(FakeGemini.Fault.slowStream(Duration.ofMillis(200)));
    CompletableFuture<String> firstData = new CompletableFuture<>();
    WebClient.of(gemini.baseUrl())
        .execute(http(translator.chatRequest(ctx(), streaming(HELLO))))
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

    assertThat(firstData.orTimeout(5, TimeUnit.SECONDS).join()).startsWith("data: ");
    await().atMost(Duration.ofSeconds(2)).until(() -> gemini.cancellations() == 1);
  }
}
