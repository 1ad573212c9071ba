package io.agentrouter.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.agentrouter.common.usage.UsageOutcome;
import io.agentrouter.common.usage.UsageRecord;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import io.agentrouter.dataplane.fake.FakeOpenAi.Fault;
import io.agentrouter.dataplane.fake.FakeOpenAi.StreamTrace;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A client that hangs up mid-stream: the provider's stream is closed at once and the request is
 * metered with the tokens the provider produced, though an OpenAI-style provider only reports usage
 * in its last chunk, which never came.
 */
class CutStreamUsageTest {
  static FakeOpenAi a;
  static String key = TestGateway.newKey();
  static TestGateway gw;

  @BeforeAll
  static void start() {
    a = FakeOpenAi.start();
    gw =
        TestGateway.start(
            """
            providers:
              - {name: a, type: openai, base_url: "%s"}
            models:
              - {provider: a, model: m, input_usd_per_mtok: 1, output_usd_per_mtok: 2}
            routes:
              - alias: main
                targets: [{provider: a, model: m, weight: 1}]
            projects: [{id: p}]
            keys: [{token: "%s", project: p}]
            """
                .formatted(a.baseUrl(), key));
  }

  @AfterAll
  static void stop() {
    gw.close();
    a.close();
  }

  @BeforeEach
  void reset() {
    a.reset();
  }

  @Test
  void aStreamCutMidwayIsMeteredWithTheTokensTheProviderSentAndClosedUpstream() throws Exception {
    a.enqueue(Fault.pacedStream(40, Duration.ofMillis(40)));
    StreamCutter.Cut cut =
        StreamCutter.run(java.net.URI.create(gw.url()).getPort(), key, body("mid", 5), "", 5, 0);
    assertThat(cut.ended()).isFalse();
    assertThat(cut.contentChunks()).isEqualTo(5);

    await().atMost(Duration.ofSeconds(2)).until(() -> a.streams().getFirst().closedNanos() != 0);
    StreamTrace trace = a.streams().getFirst();
    assertThat(trace.completed()).isFalse();
    assertThat(Duration.ofNanos(trace.closedNanos() - cut.cutNanos()))
        .isLessThan(Duration.ofSeconds(1));
    UsageRecord r = record(cut.requestId());
    assertThat(r.outcome()).isEqualTo(UsageOutcome.CLIENT_ABORT);
    assertThat(r.stream()).isTrue();
    assertThat(r.completionTokens()).isEqualTo(trace.tokensSent()).isEqualTo(5);
    assertThat(r.costUsd()).isPositive();
  }

  @Test
  void aStreamCutBeforeTheFirstByteIsMeteredOnceWithNoCompletion() throws Exception {
    a.enqueue(Fault.pacedStream(40, Duration.ofMillis(40)));
    long before = gw.usage().size();
    StreamCutter.Cut cut =
        StreamCutter.run(
            java.net.URI.create(gw.url()).getPort(), key, body("early", 0), "", 0, 100);
    assertThat(cut.bytesBeforeCut()).isZero();
    await().atMost(Duration.ofSeconds(2)).until(() -> a.streams().getFirst().closedNanos() != 0);
    assertThat(a.streams().getFirst().tokensSent()).isZero();
    assertThat(Duration.ofNanos(a.streams().getFirst().closedNanos() - cut.cutNanos()))
        .isLessThan(Duration.ofSeconds(1));
    await().atMost(Duration.ofSeconds(5)).until(() -> gw.usage().size() == before + 1);
    UsageRecord r = gw.usage().getLast();
    assertThat(r.outcome()).isEqualTo(UsageOutcome.CLIENT_ABORT);
    assertThat(r.completionTokens()).isZero();
  }

  @Test
  void aClientThatStopsReadingAndHangsUpIsMeteredWithEveryTokenTheProviderSent() throws Exception {
    // 12 tokens of 8 KiB each to a client that reads none of them: they pile up between gateway
    // and client, and the provider pauses after the last one. What the provider sent is billed
    // though the client never read it.
    int tokens = 12;
    a.enqueue(Fault.pacedStream(40, Duration.ofMillis(5)));
    long before = gw.usage().size();
    byte[] payload =
        ("{\"model\":\"main\",\"stream\":true,\"user\":\"stalled\",\"metadata\":{"
                + "\"fake_hold_after\":\""
                + tokens
                + "\",\"fake_hold_ms\":\"3000\",\"fake_token_bytes\":\"8192\"},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"count\"}]}")
            .getBytes(StandardCharsets.UTF_8);
    long cutNanos;
    try (Socket s = new Socket()) {
      s.setReceiveBufferSize(4096);
      s.connect(new InetSocketAddress("127.0.0.1", java.net.URI.create(gw.url()).getPort()));
      OutputStream out = s.getOutputStream();
      out.write(
          ("POST /v1/chat/completions HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer "
                  + key
                  + "\r\nContent-Type: application/json\r\nContent-Length: "
                  + payload.length
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.write(payload);
      out.flush();
      // The provider has sent all it will before its pause, and it has had time to reach the
      // gateway.
      await()
          .atMost(Duration.ofSeconds(2))
          .until(() -> !a.streams().isEmpty() && a.streams().getFirst().tokensSent() == tokens);
      await()
          .during(Duration.ofMillis(300))
          .atMost(Duration.ofSeconds(2))
          .until(() -> a.streams().getFirst().tokensSent() == tokens);
      cutNanos = System.nanoTime();
    }

    await().atMost(Duration.ofSeconds(2)).until(() -> a.streams().getFirst().closedNanos() != 0);
    StreamTrace trace = a.streams().getFirst();
    assertThat(Duration.ofNanos(trace.closedNanos() - cutNanos)).isLessThan(Duration.ofSeconds(1));
    await().atMost(Duration.ofSeconds(5)).until(() -> gw.usage().size() == before + 1);
    UsageRecord r = gw.usage().getLast();
    assertThat(r.outcome()).isEqualTo(UsageOutcome.CLIENT_ABORT);
    assertThat(r.completionTokens()).isEqualTo(trace.tokensSent()).isEqualTo(tokens);
  }

  @Test
  void aFinishedStreamKeepsTheProvidersOwnCount() throws Exception {
    a.enqueue(Fault.pacedStream(3, Duration.ofMillis(5)));
    StreamCutter.Cut cut =
        StreamCutter.run(java.net.URI.create(gw.url()).getPort(), key, body("all", -1), "", 99, 0);
    assertThat(cut.ended()).isTrue();
    assertThat(cut.contentChunks()).isEqualTo(3);
    UsageRecord r = record(cut.requestId());
    assertThat(r.outcome()).isEqualTo(UsageOutcome.SUCCESS);
    assertThat(r.promptTokens()).isEqualTo(10);
    assertThat(r.completionTokens()).isEqualTo(3);
  }

  private static UsageRecord record(String requestId) {
    assertThat(requestId).isNotNull();
    return await()
        .atMost(Duration.ofSeconds(5))
        .until(
            () ->
                gw.usage().stream()
                    .filter(u -> u.requestId().equals(requestId))
                    .findFirst()
                    .orElse(null),
            r -> r != null);
  }

  /** A stream request; the provider pauses 3 s after {@code holdAfter} tokens (-1: never). */
  private static String body(String user, int holdAfter) {
    return "{\"model\":\"main\",\"stream\":true,\"user\":\""
        + user
        + "\",\"metadata\":{\"fake_hold_after\":\""
        + holdAfter
        + "\",\"fake_hold_ms\":\"3000\"},"
        + "\"messages\":[{\"role\":\"user\",\"content\":\"count\"}]}";
  }
}
