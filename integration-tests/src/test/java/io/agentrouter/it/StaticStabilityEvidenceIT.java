package io.agentrouter.it;

import static io.agentrouter.it.Planes.log;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.agentrouter.dataplane.fake.FakeOpenAi;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Static stability: with the control plane and its PostgreSQL both down, data planes keep serving a
 * steady load from the snapshot they hold, and a data plane started during the outage serves from
 * the snapshot persisted in its data directory.
 */
@ExtendWith(SecretWatch.class)
class StaticStabilityEvidenceIT {
  private static final String CHECK = "Static stability";
  private static final Duration OUTAGE = Duration.ofSeconds(Evidence.size(20, 600));
  private static final int CLIENTS = 4;
  private static final double TARGET_PERCENT = 99.95;
  private static final long TIME_TO_SERVE_BOUND_MS = 10_000;

  @Test
  void dataPlanesServeWhileTheControlPlaneAndPostgresAreDown(@TempDir Path dir) throws Exception {
    try (OwnPostgres pg = OwnPostgres.start(dir.resolve("pg"));
        Planes planes = Planes.start(pg.jdbcUrl());
        FakeOpenAi openAi = FakeOpenAi.start()) {
      Planes.Tenant tenant =
          planes.tenant("stable", openAi.baseUrl(), "smart", "openai/gpt-4o-mini");
      Planes.Registration reg1 = planes.register("dp-eu-1");
      Planes.Registration reg2 = planes.register("dp-eu-2");
      Planes.Registration reg3 = planes.register("dp-eu-3");
      ManagedDataPlane dp1 = planes.startDataPlane(reg1, planes.newDir("dp1"), reg1.token());
      ManagedDataPlane dp2 = planes.startDataPlane(reg2, planes.newDir("dp2"), reg2.token());
      ManagedDataPlane dp3 = planes.startDataPlane(reg3, planes.newDir("dp3"), reg3.token());
      Planes.Key key = planes.createKey(tenant, "steady", null);
      TaggedChats chats = new TaggedChats("smart");
      AtomicInteger tags = new AtomicInteger();
      for (ManagedDataPlane dp : List.of(dp1, dp2, dp3)) {
        await("the key works on " + dp.url())
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(50))
            .until(
                () ->
                    chats.send(dp, key.secret(), "w-" + tags.incrementAndGet(), false).status()
                        == 200);
      }
      // dp-eu-3 goes away with the key in its persisted snapshot; it comes back in the outage.
      dp3.close();

      AtomicLong ok = new AtomicLong();
      AtomicLong total = new AtomicLong();
      Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();
      AtomicInteger phase = new AtomicInteger(); // 0 warm-up, 1 outage, 2 stop
      ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
      List<Future<?>> loops = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        ManagedDataPlane dp = c % 2 == 0 ? dp1 : dp2;
        loops.add(
            clients.submit(
                () -> {
                  int n = 0;
                  while (phase.get() < 2) {
                    boolean counted = phase.get() == 1;
                    boolean stream = n++ % 10 < 3;
                    int status;
                    String failure = null;
                    try {
                      status =
                          chats
                              .send(dp, key.secret(), "s-" + tags.incrementAndGet(), stream)
                              .status();
                      if (status != 200) {
                        failure = "HTTP " + status;
                      }
                    } catch (Exception e) {
                      failure = e.getClass().getSimpleName();
                    }
                    if (counted) {
                      total.incrementAndGet();
                      if (failure == null) {
                        ok.incrementAndGet();
                      } else {
                        failures
                            .computeIfAbsent(failure, k -> new AtomicInteger())
                            .incrementAndGet();
                      }
                    }
                  }
                  return null;
                }));
      }
      long timeToServeMs;
      long outageMs;
      long stopMs;
      try {
        Thread.sleep(1_000);
        // Counted from the moment PostgreSQL starts to go; both are fully down after the stops.
        phase.set(1);
        long outageStart = System.nanoTime();
        pg.stop();
        planes.stopControlPlane();
        long bothDown = System.nanoTime();
        // The control plane's graceful stop takes a while with its database gone (calls wait for
        // a connection until they time out); it refuses the data planes meanwhile.
        stopMs = (bothDown - outageStart) / 1_000_000;
        log.info(
            "it: PostgreSQL and control plane fully down {} ms after the outage began", stopMs);

        // A data plane started from its data dir while nothing behind it is up.
        long t0 = System.nanoTime();
        ManagedDataPlane restarted = planes.startDataPlane(reg3, dp3.dataDir, null);
        await("dp-eu-3 serves from its persisted snapshot")
            .atMost(Duration.ofSeconds(60))
            .pollInterval(Duration.ofMillis(20))
            .ignoreExceptions()
            .until(
                () ->
                    chats
                            .send(restarted, key.secret(), "d-" + tags.incrementAndGet(), false)
                            .status()
                        == 200);
        timeToServeMs = (System.nanoTime() - t0) / 1_000_000;

        // The outage lasts OUTAGE from its start, and at least 2 s more with both fully down.
        long end = Math.max(outageStart + OUTAGE.toNanos(), System.nanoTime() + 2_000_000_000L);
        long left = end - System.nanoTime();
        if (left > 0) {
          Thread.sleep(left / 1_000_000);
        }
        outageMs = (System.nanoTime() - outageStart) / 1_000_000;
        phase.set(2);
        for (Future<?> f : loops) {
          f.get();
        }
      } finally {
        phase.set(2);
        clients.shutdownNow();
      }

      double percent = total.get() == 0 ? 0 : 100.0 * ok.get() / total.get();
      boolean successMet = total.get() > 0 && percent >= TARGET_PERCENT;
      Evidence.figure(
          CHECK,
          Evidence.percent(ok.get(), total.get())
              + " of "
              + total.get()
              + " requests answered 200 ("
              + CLIENTS
              + " clients, 2 data planes; PostgreSQL down "
              + outageMs / 1000
              + " s, the control plane stopping for the first "
              + stopMs / 1000
              + " s and stopped for the rest"
              + (failures.isEmpty() ? "" : "; failures " + failures)
              + ")",
          ">= " + TARGET_PERCENT + "%",
          successMet);
      Evidence.figure(
          CHECK + ": data plane started in the outage",
          timeToServeMs + " ms from start to first 200, from its persisted snapshot",
          "<= " + TIME_TO_SERVE_BOUND_MS + " ms",
          timeToServeMs <= TIME_TO_SERVE_BOUND_MS);
      log.info(
          "it: static stability: {} of {} ok in {} ms of outage; failures {}; dp-eu-3 first 200"
              + " {} ms after its start",
          ok.get(),
          total.get(),
          outageMs,
          failures,
          timeToServeMs);
      assertThat(total.get()).as("requests in the outage").isPositive();
      assertThat(percent)
          .as("success %% (failures %s)", failures)
          .isGreaterThanOrEqualTo(TARGET_PERCENT);
      assertThat(timeToServeMs).isLessThanOrEqualTo(TIME_TO_SERVE_BOUND_MS);
    }
  }
}
