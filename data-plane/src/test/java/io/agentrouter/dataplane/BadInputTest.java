package io.agentrouter.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpObject;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpRequestWriter;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import io.agentrouter.common.usage.UsageOutcome;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/** What clients get for bad input, and what happens when they go away mid-stream. */
class BadInputTest {
  static FakeOpenAi fake;
  static String key = TestGateway.newKey();
  static TestGateway gw;

  @BeforeAll
  static void start() {
    fake = FakeOpenAi.start();
    gw =
        TestGateway.start(
            """
            providers:
              - {name: openai, type: openai, base_url: "%1$s"}
              - {name: groq, type: openai, base_url: "%1$s"}
            models:
              - {provider: openai, model: gpt-4o-mini}
              - {provider: openai, model: llama-3.1-8b}
              - {provider: groq, model: llama-3.1-8b}
            projects: [{id: p}]
            keys: [{token: "%2$s", project: p}]
            """
                .formatted(fake.baseUrl(), key),
            TestGateway.settings().withMaxRequestBytes(64 * 1024));
  }

  @AfterAll
  static void stop() {
    gw.close();
    fake.close();
  }

  @BeforeEach
  void reset() {
    fake.reset();
  }

  @Test
  void malformedJsonIs400InOpenAisShape() {
    AggregatedHttpResponse res = post("/v1/chat/completions", MediaType.JSON, "{\"model\": ");
    assertThat(res.status().code()).isEqualTo(400);
    assertThat(res.contentUtf8())
        .startsWith("{\"error\":{\"message\":")
        .contains("\"type\":\"invalid_request_error\"")
        .contains("\"param\":null")
        .contains("\"code\":null");
    assertThat(
            post("/v1/chat/completions", MediaType.JSON, "{\"model\":\"gpt-4o-mini\"}")
                .contentUtf8())
        .contains("\"param\":\"messages\"");
  }

  @Test
  void wrongContentTypeIs415() {
    AggregatedHttpResponse res =
        post("/v1/chat/completions", MediaType.FORM_DATA, "model=gpt-4o-mini");
    assertThat(res.status().code()).isEqualTo(415);
    assertThat(res.contentUtf8()).contains("application/json");
  }

  @Test
  void bodyOverTheCapIs413EvenWithoutContentLength() {
    String big =
        "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\""
            + "x".repeat(70 * 1024)
            + "\"}]}";
    AggregatedHttpResponse res = post("/v1/chat/completions", MediaType.JSON, big);
    assertThat(res.status().code()).isEqualTo(413);
    assertThat(res.contentUtf8()).contains("\"code\":\"request_too_large\"");

    // Chunked, with no Content-Length: refused once the cap is passed, the rest never read.
    HttpRequestWriter req =
        HttpRequest.streaming(
            RequestHeaders.builder(HttpMethod.POST, "/v1/chat/completions")
                .contentType(MediaType.JSON)
                .add("authorization", "Bearer " + key)
                .build());
    HttpResponse response = gw.web().execute(req);
    byte[] piece = new byte[16 * 1024];
    java.util.Arrays.fill(piece, (byte) ' ');
    for (int i = 0; i < 8; i++) {
      req.tryWrite(HttpData.wrap(piece));
    }
    AggregatedHttpResponse chunked = response.aggregate().join();
    assertThat(chunked.status().code()).isEqualTo(413);
    req.abort();
    assertThat(fake.received()).isEmpty();
  }

  @Test
  void bodyOverTheCapOnTheMessagesRoutesIs413InAnthropicsShape() {
    String big =
        "{\"model\":\"gpt-4o-mini\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\""
            + "x".repeat(70 * 1024)
            + "\"}]}";
    for (String path : new String[] {"/v1/messages", "/v1/messages/count_tokens"}) {
      AggregatedHttpResponse res = post(path, MediaType.JSON, big);
      assertThat(res.status().code()).as(path).isEqualTo(413);
      assertThat(res.contentUtf8())
          .as(path)
          .startsWith("{\"type\":\"error\",\"error\":{")
          .contains("\"type\":\"request_too_large\"");
    }
    // The OpenAI routes keep OpenAI's shape.
    assertThat(post("/v1/chat/completions", MediaType.JSON, big).contentUtf8())
        .startsWith("{\"error\":{\"message\":");
    assertThat(fake.received()).isEmpty();
  }

  @Test
  void unknownModelIs404NamingUsableModels() {
    AggregatedHttpResponse res = chat("gpt-5", false);
    assertThat(res.status().code()).isEqualTo(404);
    assertThat(res.contentUtf8())
        .contains("\"code\":\"model_not_found\"")
        .contains("gpt-4o-mini")
        .contains("openai/llama-3.1-8b")
        .contains("groq/llama-3.1-8b");
    AggregatedHttpResponse ambiguous = chat("llama-3.1-8b", false);
    assertThat(ambiguous.status().code()).isEqualTo(400);
    assertThat(ambiguous.contentUtf8()).contains("model_ambiguous").contains("groq/llama-3.1-8b");
    assertThat(chat("groq/llama-3.1-8b", false).status().code()).isEqualTo(200);
  }

  @Test
  void unknownPathAndMethodAreOpenAiShaped() {
    AggregatedHttpResponse res = gw.web().get("/v1/nothing-here").aggregate().join();
    assertThat(res.status().code()).isEqualTo(404);
    assertThat(res.contentUtf8()).contains("\"error\":{").contains("unknown_url");
    AggregatedHttpResponse method = gw.web().get("/v1/chat/completions").aggregate().join();
    assertThat(method.status().code()).isEqualTo(405);
    assertThat(method.contentUtf8()).contains("\"error\":{");
  }

  @Test
  void clientLeavingMidStreamCancelsUpstreamAndIsMetered() {
    fake.enqueue(FakeOpenAi.Fault.slowStream(Duration.ofMillis(50)));
    HttpResponse res = send("gpt-4o-mini", true);
    AtomicBoolean gotContent = new AtomicBoolean();
    res.subscribe(
        new Subscriber<HttpObject>() {
          Subscription s;

          @Override
          public void onSubscribe(Subscription s) {
            this.s = s;
            s.request(Long.MAX_VALUE);
          }

          @Override
          public void onNext(HttpObject o) {
            if (o instanceof HttpData d && d.toStringUtf8().contains("word1")) {
              gotContent.set(true);
              s.cancel();
            }
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onComplete() {}
        });
    await().untilTrue(gotContent);
    long left = System.nanoTime();
    await().atMost(Duration.ofSeconds(1)).until(() -> fake.cancelled() == 1);
    assertThat(System.nanoTime() - left).isLessThan(1_000_000_000L);
    await()
        .untilAsserted(
            () ->
                assertThat(gw.usage())
                    .filteredOn(r -> r.stream() && r.outcome() == UsageOutcome.CLIENT_ABORT)
                    .isNotEmpty());
  }

  static AggregatedHttpResponse chat(String model, boolean stream) {
    return send(model, stream).aggregate().join();
  }

  static HttpResponse send(String model, boolean stream) {
    return gw.web()
        .execute(
            HttpRequest.of(
                RequestHeaders.builder(HttpMethod.POST, "/v1/chat/completions")
                    .contentType(MediaType.JSON)
                    .add("authorization", "Bearer " + key)
                    .build(),
                HttpData.ofUtf8(
                    "{\"model\":\""
                        + model
                        + "\",\"stream\":"
                        + stream
                        + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")));
  }

  static AggregatedHttpResponse post(String path, MediaType type, String body) {
    return gw.web()
        .execute(
            HttpRequest.of(
                RequestHeaders.builder(HttpMethod.POST, path)
                    .contentType(type)
                    .add("authorization", "Bearer " + key)
                    .build(),
                HttpData.ofUtf8(body)))
        .aggregate()
        .join();
  }
}
