package io.agentrouter.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.agentrouter.common.usage.UsageRecord;
import io.agentrouter.dataplane.TestGateway;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import io.agentrouter.dataplane.fake.FakeOpenAi.Fault;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Fallback: a route with a primary and a fallback target whose primary fails with 5xx, with 429 and
 * {@code Retry-After}, by hanging until the (short) upstream timeout, or not at all, under a mix of
 * streaming and non-streaming requests. Nearly every request must succeed through the fallback, no
 * request may take more than 1 + fallbacks attempts (from its usage record), and a stream's content
 * must be exactly one target's answer (nothing repeated after the first byte).
 *
 * <p>The primary's breaker is set not to open on consecutive failures, so that every request meets
 * the failing primary and exercises the fallback; a {@code Retry-After} still keeps it out of
 * rotation for that long, as it should, so in the 429 phase most requests go straight to the
 * fallback (counted apart).
 */
@ExtendWith(SecretWatch.class)
class FallbackEvidenceIT {
  private static final String CHECK = "Fallback";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PRIMARY = "Answer from the primary target";
  private static final String FALLBACK = "Reply of the fallback target, word by word";
  private static final int CLIENTS = 16;
  private static final int RATE_LIMITED_WAVE = 50;

  /** How the primary treats the requests of one phase. */
  private enum Phase {
    SERVER_ERRORS("5xx"),
    HANGS("hangs past the 300 ms timeout"),
    MIXED("mixed: 5xx, hang or success"),
    // Last: each 429 keeps the primary out of rotation for a second, which would starve the
    // phases after it of primary attempts.
    RATE_LIMITED("429 + Retry-After: 1");

    final String label;

    Phase(String label) {
      this.label = label;
    }
  }

  private record Outcome(Phase phase, boolean stream, int status, String requestId, String error) {}

  @Test
  void nearlyEveryRequestSucceedsThroughTheFallbackWithinItsAttemptsAndWithoutDuplicates()
      throws Exception {
    int total = Evidence.size(1_000, 10_000);
    String key = SecretWatch.secret(TestGateway.newKey());
    HttpClient http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();
    try (FakeOpenAi primary = FakeOpenAi.start();
        FakeOpenAi fallback = FakeOpenAi.start();
        StandalonePlane dp =
            StandalonePlane.start(
                """
                providers:
                  - {name: primary, type: openai, base_url: "%s", timeout_ms: 300, first_token_timeout_ms: 300}
                  - {name: fallback, type: openai, base_url: "%s"}
                models:
                  - {provider: primary, model: m, input_usd_per_mtok: 1, output_usd_per_mtok: 2}
                  - {provider: fallback, model: m, input_usd_per_mtok: 1, output_usd_per_mtok: 2}
                routes:
                  - alias: main
                    targets: [{provider: primary, model: m, weight: 1}, {provider: fallback, model: m, weight: 0}]
                projects: [{id: p}]
                keys: [{token: "%s", project: p}]
                """
                    .formatted(primary.baseUrl(), fallback.baseUrl(), key),
                Integer.MAX_VALUE)) {
      primary.reply(PRIMARY);
      fallback.reply(FALLBACK);
      Random random = new Random(11);
      List<Outcome> outcomes = new ArrayList<>();
      Map<Phase, Integer> primaryCalls = new ConcurrentHashMap<>();
      long t0 = System.nanoTime();
      for (Phase phase : Phase.values()) {
        int n = total / Phase.values().length;
        int before = primary.received().size();
        for (int i = 0; i < n; i++) {
          primary.enqueue(fault(phase, random));
        }
        if (phase == Phase.RATE_LIMITED) {
          // In waves a Retry-After apart, so the primary is back in rotation for each wave: the
          // data plane's clock is moved past the provider's Retry-After (1 s) between waves.
          for (int done = 0; done < n; done += RATE_LIMITED_WAVE) {
            dp.advanceClock(Duration.ofMillis(1_100));
            outcomes.addAll(
                run(http, dp, key, phase, Math.min(RATE_LIMITED_WAVE, n - done), random));
          }
        } else {
          outcomes.addAll(run(http, dp, key, phase, n, random));
        }
        primaryCalls.put(phase, primary.received().size() - before);
        primary.reset();
        primary.reply(PRIMARY);
      }
      long ms = (System.nanoTime() - t0) / 1_000_000;

      Map<String, Outcome> byId =
          outcomes.stream()
              .filter(o -> o.requestId() != null)
              .collect(Collectors.toMap(Outcome::requestId, Function.identity()));
      await("a usage record for every request")
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  dp.usage().stream().filter(r -> byId.containsKey(r.requestId())).count()
                      >= byId.size());
      Map<String, UsageRecord> records =
          dp.usage().stream()
              .filter(r -> byId.containsKey(r.requestId()))
              .collect(Collectors.toMap(UsageRecord::requestId, Function.identity()));

      int ok = 0;
      int streams = 0;
      int cleanStreams = 0;
      int overAttempts = 0;
      int maxAttempts = 0;
      Map<Phase, AtomicInteger> fellBack = new ConcurrentHashMap<>();
      Map<Phase, AtomicInteger> skipped = new ConcurrentHashMap<>();
      List<String> failures = new ArrayList<>();
      for (Outcome o : outcomes) {
        if (o.status() == 200 && o.error() == null) {
          ok++;
        } else if (failures.size() < 10) {
          failures.add(o.phase() + " " + (o.stream() ? "stream" : "unary") + ": " + o.error());
        }
        if (o.stream()) {
          streams++;
          if (o.error() == null || !o.error().startsWith("content")) {
            cleanStreams++;
          }
        }
        UsageRecord r = o.requestId() == null ? null : records.get(o.requestId());
        if (r != null) {
          maxAttempts = Math.max(maxAttempts, r.attempts());
          if (r.attempts() > 2) {
            overAttempts++;
          }
          if (r.attempts() == 2 && "fallback".equals(r.provider())) {
            fellBack.computeIfAbsent(o.phase(), p -> new AtomicInteger()).incrementAndGet();
          } else if (r.attempts() == 1 && "fallback".equals(r.provider())) {
            skipped.computeIfAbsent(o.phase(), p -> new AtomicInteger()).incrementAndGet();
          }
        }
      }
      String perPhase =
          java.util.Arrays.stream(Phase.values())
              .map(
                  p ->
                      p.label
                          + ": "
                          + fellBack.getOrDefault(p, new AtomicInteger()).get()
                          + " fell back, "
                          + skipped.getOrDefault(p, new AtomicInteger()).get()
                          + " sent straight to the fallback, primary called "
                          + primaryCalls.get(p)
                          + " times")
              .collect(Collectors.joining("; "));
      Planes.log.info(
          "it: fallback: {} requests ({} streams) by {} clients in {} ms; {}; failures {}",
          outcomes.size(),
          streams,
          CLIENTS,
          ms,
          perPhase,
          failures);
      double rate = (double) ok / outcomes.size();
      Evidence.figure(
          CHECK,
          ok
              + "/"
              + outcomes.size()
              + " requests succeeded ("
              + Evidence.percent(ok, outcomes.size())
              + "; "
              + streams
              + " streamed; "
              + perPhase
              + ")",
          ">= 99.9%",
          rate >= 0.999);
      Evidence.figure(
          CHECK,
          "max "
              + maxAttempts
              + " attempts per request, "
              + overAttempts
              + " requests over 1 + 1 fallback, "
              + records.size()
              + "/"
              + byId.size()
              + " usage records",
          "<= 2 attempts",
          overAttempts == 0 && records.size() == byId.size());
      Evidence.figure(
          CHECK,
          cleanStreams + "/" + streams + " streams whose content is exactly one target's answer",
          streams + "/" + streams,
          cleanStreams == streams);
      // Retry-After honoured: once a wave's first 429 is back, the primary is left alone.
      int waves = (total / Phase.values().length + RATE_LIMITED_WAVE - 1) / RATE_LIMITED_WAVE;
      assertThat(primaryCalls.get(Phase.RATE_LIMITED))
          .as("primary calls in the 429 phase (%s waves of %s clients)", waves, CLIENTS)
          .isBetween(waves, waves * CLIENTS);
      assertThat(records).hasSize(byId.size());
      assertThat(overAttempts).isZero();
      assertThat(cleanStreams).isEqualTo(streams);
      assertThat(rate).as("success rate; failures %s", failures).isGreaterThanOrEqualTo(0.999);
    }
  }

  private static Fault fault(Phase phase, Random random) {
    return switch (phase) {
      case SERVER_ERRORS -> Fault.status(new int[] {500, 502, 503}[random.nextInt(3)]);
      case RATE_LIMITED -> Fault.status(429, "slow down", Map.of("retry-after", "1"));
      case HANGS -> Fault.hang();
      case MIXED ->
          switch (random.nextInt(3)) {
            case 0 -> Fault.status(500);
            case 1 -> Fault.hang();
            default -> Fault.delay(Duration.ZERO);
          };
    };
  }

  private static List<Outcome> run(
      HttpClient http, StandalonePlane dp, String key, Phase phase, int n, Random random)
      throws Exception {
    ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
    try {
      List<Future<Outcome>> futures = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        boolean stream = random.nextBoolean();
        futures.add(clients.submit(() -> call(http, dp, key, phase, stream)));
      }
      List<Outcome> out = new ArrayList<>();
      for (Future<Outcome> f : futures) {
        out.add(f.get());
      }
      return out;
    } finally {
      clients.shutdown();
    }
  }

  private static Outcome call(
      HttpClient http, StandalonePlane dp, String key, Phase phase, boolean stream) {
    String body =
        "{\"model\":\"main\",\"stream\":"
            + stream
            + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    HttpResponse<String> res;
    try {
      res =
          http.send(
              HttpRequest.newBuilder(URI.create(dp.url() + "/v1/chat/completions"))
                  .timeout(Duration.ofSeconds(30))
                  .header("authorization", "Bearer " + key)
                  .header("content-type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      return new Outcome(phase, stream, 0, null, e.toString());
    }
    String id = res.headers().firstValue("x-request-id").orElse(null);
    if (res.statusCode() != 200) {
      return new Outcome(phase, stream, res.statusCode(), id, "HTTP " + res.statusCode());
    }
    try {
      String content;
      if (stream) {
        StringBuilder sb = new StringBuilder();
        boolean done = false;
        for (String event : res.body().split("\n\n")) {
          String data = event.strip();
          if (!data.startsWith("data: ")) {
            continue;
          }
          data = data.substring(6);
          if (data.equals("[DONE]")) {
            done = true;
            continue;
          }
          JsonNode chunk = JSON.readTree(data);
          if (chunk.has("error")) {
            return new Outcome(phase, true, 200, id, "error event: " + data);
          }
          for (JsonNode c : chunk.path("choices")) {
            sb.append(c.path("delta").path("content").asText(""));
          }
        }
        if (!done) {
          return new Outcome(phase, true, 200, id, "stream without [DONE]");
        }
        content = sb.toString();
      } else {
        content =
            JSON.readTree(res.body())
                .path("choices")
                .path(0)
                .path("message")
                .path("content")
                .asText();
      }
      if (!content.equals(PRIMARY) && !content.equals(FALLBACK)) {
        return new Outcome(
            phase, stream, 200, id, "content is neither target's answer: " + content);
      }
      return new Outcome(phase, stream, 200, id, null);
    } catch (Exception e) {
      return new Outcome(phase, stream, 200, id, "unreadable answer: " + e);
    }
  }
}
