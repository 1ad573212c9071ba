package io.agentrouter.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import io.agentrouter.common.usage.UsageOutcome;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import io.agentrouter.dataplane.fake.FakeOpenAi.Fault;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fallback matrix: which upstream failures move on to the next target (invisibly to the
 * client), which do not, and what a client sees when a stream breaks after content.
 */
class FallbackTest {
  static FakeOpenAi a;
  static FakeOpenAi b;
  static int closedPort;
  static String key = TestGateway.newKey();
  static TestGateway gw;

  static String config() {
    return """
        providers:
          - {name: a, type: openai, base_url: "%s", timeout_ms: 400, first_token_timeout_ms: 400}
          - {name: b, type: openai, base_url: "%s"}
          - {name: dead, type: openai, base_url: "http://127.0.0.1:%d/v1"}
        models:
          - {provider: a, model: m, input_usd_per_mtok: 1, output_usd_per_mtok: 2}
          - {provider: b, model: m, input_usd_per_mtok: 1, output_usd_per_mtok: 2}
          - {provider: dead, model: m}
        routes:
          - alias: main
            targets: [{provider: a, model: m, weight: 1}, {provider: b, model: m, weight: 0}]
          - alias: refused
            targets: [{provider: dead, model: m, weight: 1}, {provider: b, model: m, weight: 0}]
        projects: [{id: p}]
        keys: [{token: "%s", project: p}]
        """
        .formatted(a.baseUrl(), b.baseUrl(), closedPort, key);
  }

  @BeforeAll
  static void start() throws IOException {
    a = FakeOpenAi.start();
    b = FakeOpenAi.start();
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    gw = TestGateway.start(config());
  }

  @AfterAll
  static void stop() {
    gw.close();
    a.close();
    b.close();
  }

  @BeforeEach
  void reset() {
    a.reset();
    b.reset();
    b.reply("Answer from b");
  }

  static Stream<Arguments> fallsBack() {
    return Stream.of(
        Arguments.of("500", Fault.status(500), false),
        Arguments.of("429", Fault.status(429), false),
        Arguments.of("503", Fault.status(503), false),
        Arguments.of("timeout", Fault.hang(), false),
        Arguments.of("malformed body", Fault.malformed(), false),
        Arguments.of("500 on a stream", Fault.status(500), true),
        Arguments.of("timeout on a stream", Fault.hang(), true),
        Arguments.of("stream cut before content", Fault.cutBeforeContent(), true),
        Arguments.of("malformed stream chunk", Fault.malformed(), true));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fallsBack")
  void failureMovesToTheNextTarget(String name, Fault fault, boolean stream) {
    a.enqueue(fault);
    AggregatedHttpResponse res = chat(gw, "main", stream);
    assertThat(res.status().code()).isEqualTo(200);
    assertThat(res.headers().get("x-agentrouter-provider")).isEqualTo("b");
    if (stream) {
      assertThat(res.contentUtf8()).contains("Answer").contains(" from").contains("data: [DONE]");
      assertThat(res.contentUtf8()).doesNotContain("\"error\"");
    } else {
      assertThat(res.contentUtf8()).contains("Answer from b");
    }
    assertThat(a.received()).hasSize(1);
    assertThat(b.received()).hasSize(1);
    String id = res.headers().get("x-request-id");
    await()
        .untilAsserted(
            () ->
                assertThat(gw.usage())
                    .filteredOn(r -> r.requestId().equals(id))
                    .singleElement()
                    .satisfies(
                        r -> {
                          assertThat(r.attempts()).isEqualTo(2);
                          assertThat(r.provider()).isEqualTo("b");
                          assertThat(r.outcome()).isEqualTo(UsageOutcome.SUCCESS);
                        }));
  }

  @Test
  void refusedConnectionMovesToTheNextTarget() {
    AggregatedHttpResponse res = chat(gw, "refused", false);
    assertThat(res.status().code()).isEqualTo(200);
    assertThat(res.headers().get("x-agentrouter-provider")).isEqualTo("b");
  }

  @Test
  void badRequestDoesNotFallBack() {
    a.enqueue(Fault.status(400, "bad messages", Map.of()));
    AggregatedHttpResponse res = chat(gw, "main", false);
    assertThat(res.status().code()).isEqualTo(400);
    assertThat(res.contentUtf8()).contains("bad messages").contains("invalid_request_error");
    assertThat(b.received()).isEmpty();
  }

  @Test
  void lastTargetsErrorReachesTheClient() {
    a.enqueue(Fault.status(500));
    b.enqueue(Fault.status(502));
    AggregatedHttpResponse res = chat(gw, "main", false);
    assertThat(res.status().code()).isEqualTo(502);
    assertThat(res.contentUtf8()).contains("\"code\":\"upstream_error\"");
    assertThat(res.headers().get("x-agentrouter-error-class")).isEqualTo("server");
    assertThat(a.received().size() + b.received().size()).isEqualTo(2);
  }

  @Test
  void cutAfterContentEndsInAnErrorEvent() {
    a.reply("one two three four");
    a.enqueue(Fault.cutAfterContent());
    AggregatedHttpResponse res = chat(gw, "main", true);
    assertThat(res.status().code()).isEqualTo(200);
    String body = res.contentUtf8();
    assertThat(body).contains("\"content\":\"one\"").contains("data: {\"error\":");
    assertThat(body).doesNotContain("[DONE]");
    assertThat(b.received()).isEmpty();
    String id = res.headers().get("x-request-id");
    await()
        .untilAsserted(
            () ->
                assertThat(gw.usage())
                    .filteredOn(r -> r.requestId().equals(id))
                    .singleElement()
                    .satisfies(r -> assertThat(r.outcome()).isEqualTo(UsageOutcome.CUT_STREAM)));

    // The official SDK surfaces it as an error, not as a short answer.
    a.enqueue(Fault.cutAfterContent());
    assertThatThrownBy(
            () -> {
              try (StreamResponse<ChatCompletionChunk> s =
                  gw.openAi(key)
                      .chat()
                      .completions()
                      .createStreaming(
                          ChatCompletionCreateParams.builder()
                              .model("main")
                              .addUserMessage("hi")
                              .build())) {
                s.stream().forEach(c -> {});
              }
            })
        .hasMessageContaining("interrupted");
  }

  @Test
  void aStreamThatGoesSilentAfterContentEndsInAnErrorEvent() {
    a.reply("one two three four");
    a.enqueue(Fault.stallAfterContent());
    long start = System.nanoTime();
    AggregatedHttpResponse res = chat(gw, "main", true);
    assertThat(res.contentUtf8())
        .contains("\"content\":\"one\"")
        .contains("data: {\"error\":")
        .contains("sent nothing");
    assertThat(res.contentUtf8()).doesNotContain("[DONE]");
    // a's first-token timeout (400 ms) also bounds silence after content.
    assertThat(System.nanoTime() - start).isLessThan(5_000_000_000L);
  }

  @Test
  void retryAfterKeepsATargetOutOfRotation() {
    try (TestGateway own = TestGateway.start(config())) {
      a.enqueue(Fault.status(429, "slow down", Map.of("retry-after", "30")));
      assertThat(chat(own, "main", false).headers().get("x-agentrouter-provider")).isEqualTo("b");
      assertThat(chat(own, "main", false).headers().get("x-agentrouter-provider")).isEqualTo("b");
      assertThat(a.received()).hasSize(1);
    }
  }

  @Test
  void circuitBreakerOpensAfterConsecutiveFailures() {
    try (TestGateway own =
        TestGateway.start(config(), TestGateway.settings().withBreaker(2, Duration.ofMinutes(1)))) {
      a.always(Fault.status(500));
      for (int i = 0; i < 4; i++) {
        assertThat(chat(own, "main", false).status().code()).isEqualTo(200);
      }
      assertThat(a.received()).hasSize(2);
      assertThat(b.received()).hasSize(4);
      String metrics = own.web().get("/internal/metrics").aggregate().join().contentUtf8();
      assertThat(metrics)
          .contains("agentrouter_circuitbreaker_events_total")
          .contains("event=\"opened\"");
    }
  }

  static AggregatedHttpResponse chat(TestGateway g, String model, boolean stream) {
    String body =
        "{\"model\":\""
            + model
            + "\",\"stream\":"
            + stream
            + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    return g.web()
        .execute(
            HttpRequest.of(
                RequestHeaders.builder(HttpMethod.POST, "/v1/chat/completions")
                    .contentType(MediaType.JSON)
                    .add("authorization", "Bearer " + key)
                    .build(),
                com.linecorp.armeria.common.HttpData.ofUtf8(body)))
        .aggregate()
        .join();
  }
}
