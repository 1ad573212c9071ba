package io.agentrouter.it;

import static io.agentrouter.it.Planes.log;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * No usage lost: requests over two managed data planes, 30% of them streamed, while the control
 * plane is stopped and started again (first run) or while its PostgreSQL is stopped and started
 * again under a running control plane (second run). Afterwards every request the fake provider
 * served is in {@code request_log} exactly once, under the request id its client was given, and the
 * logged token sums equal what the provider produced.
 *
 * <p>Requests are joined across the three views (the provider's log, the client's answers, the
 * request log) by a tag of the test's own that each request carries ({@link TaggedChats}).
 */
@ExtendWith(SecretWatch.class)
class UsageDurabilityEvidenceIT {
  private static final int REQUESTS = Evidence.size(2_000, 10_000);
  private static final int CLIENTS = 4;

  /** Takes something away under load and brings it back. */
  private interface Outage {
    void down() throws Exception;

    void up() throws Exception;
  }

  @Test
  void noUsageIsLostWhenTheControlPlaneIsStoppedAndRestartedMidway() throws Exception {
    try (Planes planes = Planes.start()) {
      run(
          "control-plane restart",
          planes,
          new Outage() {
            @Override
            public void down() {
              planes.stopControlPlane();
            }

            @Override
            public void up() {
              planes.startControlPlane();
            }
          });
    }
  }

  @Test
  void noUsageIsLostWhenPostgresIsStoppedAndRestartedMidway(@TempDir Path dir) throws Exception {
    try (OwnPostgres pg = OwnPostgres.start(dir.resolve("pg"));
        Planes planes = Planes.start(pg.jdbcUrl())) {
      run(
          "PostgreSQL restart",
          planes,
          new Outage() {
            @Override
            public void down() throws Exception {
              pg.stop();
            }

            @Override
            public void up() throws Exception {
              pg.start();
            }
          });
    }
  }

  private void run(String outageName, Planes planes, Outage outage) throws Exception {
    String check = "No usage lost (" + outageName + ")";
    try (FakeOpenAi openAi = FakeOpenAi.start()) {
      Planes.Tenant tenant =
          planes.tenant("durable", openAi.baseUrl(), "smart", "openai/gpt-4o-mini");
      Planes.Registration reg1 = planes.register("dp-eu-1");
      Planes.Registration reg2 = planes.register("dp-eu-2");
      List<ManagedDataPlane> dps =
          List.of(
              planes.startDataPlane(reg1, planes.newDir("dp1"), reg1.token()),
              planes.startDataPlane(reg2, planes.newDir("dp2"), reg2.token()));
      Planes.Key key = planes.createKey(tenant, "load", null);
      TaggedChats chats = new TaggedChats("smart");
      Map<String, TaggedChats.Outcome> seen = new ConcurrentHashMap<>();

      // Until the key has reached both data planes (401s before that reach no provider).
      AtomicInteger warmups = new AtomicInteger();
      for (ManagedDataPlane dp : dps) {
        await("the key works on " + dp.url())
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(50))
            .until(
                () -> {
                  String tag = "w-" + warmups.incrementAndGet();
                  TaggedChats.Outcome o = chats.send(dp, key.secret(), tag, false);
                  seen.put(tag, o);
                  return o.status() == 200;
                });
      }

      Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();
      AtomicInteger done = new AtomicInteger();
      // The last 30% of the requests wait for the outage to end, so that the load surely spans
      // before, during and after it however long the stop takes.
      int held = REQUESTS * 7 / 10;
      CountDownLatch outageOver = new CountDownLatch(1);
      ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
      List<Future<?>> futures = new ArrayList<>();
      long t0 = System.nanoTime();
      for (int i = 0; i < REQUESTS; i++) {
        ManagedDataPlane dp = dps.get(i % 2);
        String tag = "r-" + i;
        boolean stream = i % 10 < 3;
        int index = i;
        futures.add(
            clients.submit(
                () -> {
                  try {
                    if (index >= held) {
                      outageOver.await();
                    }
                    TaggedChats.Outcome o = chats.send(dp, key.secret(), tag, stream);
                    seen.put(tag, o);
                    if (o.status() != 200) {
                      failures
                          .computeIfAbsent("HTTP " + o.status(), k -> new AtomicInteger())
                          .incrementAndGet();
                    }
                  } catch (Exception e) {
                    failures
                        .computeIfAbsent(e.getClass().getSimpleName(), k -> new AtomicInteger())
                        .incrementAndGet();
                  } finally {
                    done.incrementAndGet();
                  }
                }));
      }
      int atDown;
      long downMs;
      try {
        await().atMost(Duration.ofMinutes(5)).until(() -> done.get() >= REQUESTS / 10);
        atDown = done.get();
        long downAt = System.nanoTime();
        outage.down();
        // Down for at least 15% of the requests and 3 s, so that usage batches meet the outage.
        int until = Math.min(done.get() + REQUESTS * 15 / 100, held);
        await()
            .atMost(Duration.ofMinutes(5))
            .until(
                () ->
                    done.get() >= until
                        && System.nanoTime() - downAt >= Duration.ofSeconds(3).toNanos());
        int atUp = done.get();
        outage.up();
        downMs = (System.nanoTime() - downAt) / 1_000_000;
        outageOver.countDown();
        log.info(
            "it: {} after {} of {} requests; back {} ms later, after {} (the last {} held until"
                + " then)",
            outageName,
            atDown,
            REQUESTS,
            downMs,
            atUp,
            REQUESTS - held);
        for (Future<?> f : futures) {
          f.get();
        }
      } finally {
        outageOver.countDown();
        clients.shutdownNow();
      }
      long loadMs = (System.nanoTime() - t0) / 1_000_000;
      log.info(
          "it: {} requests ({} streamed) over 2 data planes in {} ms; failures {}",
          REQUESTS,
          REQUESTS * 3 / 10,
          loadMs,
          failures);

      // What the provider served, by tag: every chat request it received carries one.
      List<FakeOpenAi.Received> received = openAi.received();
      Set<String> served = new HashSet<>();
      for (FakeOpenAi.Received r : received) {
        String tag = TaggedChats.tagOf(r.body());
        assertThat(tag).as("tag of a request the fake served: %s", r.body()).isNotNull();
        assertThat(served.add(tag)).as("the fake served %s once", tag).isTrue();
      }
      long fakePrompt = 0;
      long fakeCompletion = 0;
      for (String tag : served) {
        TaggedChats.Outcome o = seen.get(tag);
        assertThat(o).as("client outcome of %s", tag).isNotNull();
        fakePrompt += o.promptTokens();
        fakeCompletion += o.completionTokens();
      }

      // The request log catches up with everything served, then stays put (no late duplicate).
      await("the request log holds every served request")
          .atMost(Duration.ofMinutes(3))
          .pollInterval(Duration.ofMillis(250))
          .until(() -> logged(planes, key).keySet().containsAll(served));
      int settledRows = rowCount(logged(planes, key));
      await("no late duplicate for 2 s")
          .during(Duration.ofSeconds(2))
          .atMost(Duration.ofSeconds(10))
          .pollInterval(Duration.ofMillis(250))
          .until(() -> rowCount(logged(planes, key)) == settledRows);
      Map<String, List<Row>> byTag = logged(planes, key);

      int once = 0;
      int missing = 0;
      int duplicates = 0;
      int wrongId = 0;
      long logPrompt = 0;
      long logCompletion = 0;
      Map<String, Integer> byRequestId = new HashMap<>();
      for (List<Row> rows : byTag.values()) {
        for (Row row : rows) {
          byRequestId.merge(row.requestId(), 1, Integer::sum);
        }
      }
      for (String tag : served) {
        List<Row> rows = byTag.getOrDefault(tag, List.of());
        if (rows.isEmpty()) {
          missing++;
          continue;
        }
        duplicates += rows.size() - 1;
        Row row = rows.get(0);
        TaggedChats.Outcome o = seen.get(tag);
        boolean sameId = row.requestId().equals(o.requestId());
        if (!sameId) {
          wrongId++;
        }
        if (rows.size() == 1 && sameId && byRequestId.get(row.requestId()) == 1) {
          once++;
        }
        for (Row r : rows) {
          logPrompt += r.promptTokens();
          logCompletion += r.completionTokens();
        }
      }
      // 200s in the log that no provider served would be usage invented by the gateway.
      long invented =
          byTag.entrySet().stream()
              .filter(e -> !served.contains(e.getKey()))
              .flatMap(e -> e.getValue().stream())
              .filter(r -> r.status() == 200)
              .count();
      int failed = failures.values().stream().mapToInt(AtomicInteger::get).sum();

      boolean idsMet = once == served.size() && duplicates == 0 && missing == 0 && invented == 0;
      Evidence.figure(
          check,
          once
              + "/"
              + served.size()
              + " request ids served by the provider logged exactly once ("
              + REQUESTS
              + " requests, 30% streamed, 2 data planes, down "
              + downMs
              + " ms); duplicates "
              + duplicates
              + ", missing "
              + missing
              + ", logged under another id "
              + wrongId
              + ", logged but never served "
              + invented,
          served.size() + "/" + served.size() + ", 0 duplicates, 0 missing",
          idsMet);
      boolean tokensMet = logPrompt == fakePrompt && logCompletion == fakeCompletion;
      Evidence.figure(
          check + ": tokens",
          "prompt "
              + logPrompt
              + " logged / "
              + fakePrompt
              + " produced; completion "
              + logCompletion
              + " logged / "
              + fakeCompletion
              + " produced",
          "logged = produced",
          tokensMet);
      Evidence.figure(
          check + ": requests answered",
          (REQUESTS - failed) + "/" + REQUESTS + " answered 200 through the outage " + failures,
          REQUESTS + "/" + REQUESTS,
          failed == 0);

      assertThat(missing).as("served but not logged").isZero();
      assertThat(duplicates).as("logged more than once").isZero();
      assertThat(wrongId).as("logged under another request id than the client's").isZero();
      assertThat(once).isEqualTo(served.size());
      assertThat(invented).as("logged 200s the provider never served").isZero();
      assertThat(logPrompt).isEqualTo(fakePrompt);
      assertThat(logCompletion).isEqualTo(fakeCompletion);
      assertThat(fakePrompt).isPositive();
      assertThat(failures).as("requests that failed through the outage").isEmpty();
      assertThat(served).hasSize(REQUESTS + countServedWarmups(seen));
    }
  }

  private static int countServedWarmups(Map<String, TaggedChats.Outcome> seen) {
    return (int)
        seen.entrySet().stream()
            .filter(e -> e.getKey().startsWith("w-") && e.getValue().status() == 200)
            .count();
  }

  /** One row of the request log. */
  private record Row(String requestId, int status, long promptTokens, long completionTokens) {}

  /** The key's request-log rows by the tag their client metadata carries. */
  /** Request-log rows, duplicates included. */
  private static int rowCount(Map<String, List<Row>> byTag) {
    return byTag.values().stream().mapToInt(List::size).sum();
  }

  private static Map<String, List<Row>> logged(Planes planes, Planes.Key key) throws Exception {
    Map<String, List<Row>> out = new HashMap<>();
    try (Connection c = planes.jdbc();
        PreparedStatement s =
            c.prepareStatement(
                "select request_id, status_code, prompt_tokens, completion_tokens, metadata"
                    + " from request_log where key_id = ?::uuid")) {
      s.setString(1, key.id());
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          JsonNode meta = TaggedChats.JSON.readTree(r.getString(5));
          String tag = meta.path("tag").asText("");
          out.computeIfAbsent(tag, k -> new ArrayList<>())
              .add(new Row(r.getString(1), r.getInt(2), r.getLong(3), r.getLong(4)));
        }
      }
    }
    return out;
  }
}
