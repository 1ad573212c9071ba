package io.agentrouter.it;

import static io.agentrouter.it.Planes.log;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.agentrouter.controlplane.testing.Rest;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Static stability: the control plane goes away in the middle of 2,000 requests spread over two
 * data planes and comes back on the same database and port; no request fails because of it, and
 * afterwards the request log holds every request once with the exact token counts the fake provider
 * produced. A data plane restarted while the control plane is down serves from its persisted
 * snapshot.
 */
@ExtendWith(SecretWatch.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ControlPlaneOutageIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int REQUESTS = 2_000;

  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
  private Planes planes;
  private FakeOpenAi openAi;
  private Planes.Tenant tenant;
  private Planes.Registration reg1;
  private Planes.Registration reg2;
  private ManagedDataPlane dp1;
  private ManagedDataPlane dp2;
  private Planes.Key key;

  // What the client saw with this key: 200s and the token counts in their usage.
  private final AtomicLong served = new AtomicLong();
  private final AtomicLong promptTokens = new AtomicLong();
  private final AtomicLong completionTokens = new AtomicLong();

  @BeforeAll
  void start() throws Exception {
    planes = Planes.start();
    openAi = FakeOpenAi.start();
    tenant = planes.tenant("globex", openAi.baseUrl(), "smart", "openai/gpt-4o-mini");
    reg1 = planes.register("dp-eu-1");
    reg2 = planes.register("dp-eu-2");
    dp1 = planes.startDataPlane(reg1, planes.newDir("dp1"), reg1.token());
    dp2 = planes.startDataPlane(reg2, planes.newDir("dp2"), reg2.token());
    key = planes.createKey(tenant, "load", null);
    for (ManagedDataPlane dp : List.of(dp1, dp2)) {
      await("the key works on " + dp.url())
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(50))
          .until(() -> chat(dp) == 200);
    }
  }

  @AfterAll
  void stop() throws Exception {
    if (planes != null) {
      planes.close();
    }
    if (openAi != null) {
      openAi.close();
    }
  }

  @Test
  @Order(1)
  void theControlPlaneDiesDuring2000RequestsAndNoneFailsNorIsLostNorCountedTwice()
      throws Exception {
    long servedBefore = served.get();
    AtomicInteger done = new AtomicInteger();
    Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();
    // Four clients: enough to keep both data planes busy while the control plane drains, stops
    // and comes back.
    ExecutorService clients = Executors.newFixedThreadPool(4);
    List<Future<?>> futures = new ArrayList<>();
    long t0 = System.nanoTime();
    for (int i = 0; i < REQUESTS; i++) {
      ManagedDataPlane dp = i % 2 == 0 ? dp1 : dp2;
      futures.add(
          clients.submit(
              () -> {
                try {
                  int status = chat(dp);
                  if (status != 200) {
                    failures
                        .computeIfAbsent("HTTP " + status, k -> new AtomicInteger())
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
    await().atMost(Duration.ofMinutes(3)).until(() -> done.get() >= REQUESTS / 10);
    int atStop = done.get();
    long stopAt = System.nanoTime();
    // The server drains for up to its graceful-shutdown timeout while the streams stay open.
    planes.stopControlPlane();
    int atDown = done.get();
    long stoppedMs = (System.nanoTime() - stopAt) / 1_000_000;
    log.info(
        "it: control plane stopping after {} of {} requests; stopped {} ms later",
        atStop,
        REQUESTS,
        stoppedMs);
    await()
        .atMost(Duration.ofMinutes(3))
        .until(() -> done.get() >= Math.min(atDown + 300, REQUESTS));
    planes.startControlPlane();
    long downMs = (System.nanoTime() - stopAt) / 1_000_000;
    int atStart = done.get();
    log.info(
        "it: control plane back on the same port {} ms after the stop began; {} requests"
            + " completed meanwhile, {} of them with the server fully stopped",
        downMs,
        atStart - atStop,
        atStart - atDown);
    for (Future<?> f : futures) {
      f.get();
    }
    clients.shutdown();
    long loadMs = (System.nanoTime() - t0) / 1_000_000;
    log.info(
        "it: {} requests over 2 data planes in {} ms ({} req/s); failures: {}",
        REQUESTS,
        loadMs,
        REQUESTS * 1000L / Math.max(1, loadMs),
        failures);
    assertThat(failures).isEmpty();
    assertThat(served.get() - servedBefore).isEqualTo(REQUESTS);
    assertThat(atStart - atStop).as("requests completed during the outage").isPositive();

    // Every served request reaches the request log once, with the fake provider's token counts.
    long caughtUp = System.nanoTime();
    await("the request log catches up")
        .atMost(Duration.ofMinutes(2))
        .pollInterval(Duration.ofMillis(250))
        .until(() -> logged()[0] == served.get());
    long[] l = logged();
    log.info(
        "it: request log after the outage: {} rows for {} served (caught up {} ms after the"
            + " restart), {} distinct request ids, prompt tokens {} (client saw {}), completion"
            + " tokens {} (client saw {}), upstream calls at the fake {}",
        l[0],
        served.get(),
        (System.nanoTime() - caughtUp) / 1_000_000,
        l[1],
        l[2],
        promptTokens.get(),
        l[3],
        completionTokens.get(),
        openAi.received().size());
    assertThat(l[0]).isEqualTo(served.get());
    assertThat(l[1]).as("duplicates").isEqualTo(l[0]);
    assertThat(l[2]).isEqualTo(promptTokens.get());
    assertThat(l[3]).isEqualTo(completionTokens.get());
    assertThat(openAi.received()).hasSize((int) served.get());

    // The same through UsageService over REST: the daily rollup of this key.
    Rest.Response usage =
        planes.rest().get(tenant.path() + "/usage?group_by=USAGE_GROUP_BY_KEY", planes.adminKey());
    assertThat(usage.status()).as(usage.body()).isEqualTo(200);
    JsonNode row = null;
    for (JsonNode r : usage.json().path("rows")) {
      if (r.path("group").asText().equals(key.id())) {
        row = r;
      }
    }
    assertThat(row).as(usage.body()).isNotNull();
    log.info("it: UsageService GetUsage by key: {}", row);
    // Requests of any status (the few 401s before the key reached a data plane count too).
    assertThat(row.path("requests").asLong()).isEqualTo(loggedAnyStatus());
    assertThat(row.path("prompt_tokens").asLong()).isEqualTo(promptTokens.get());
    assertThat(row.path("completion_tokens").asLong()).isEqualTo(completionTokens.get());
  }

  @Test
  @Order(2)
  void aDataPlaneRestartedWhileTheControlPlaneIsDownServesFromItsSnapshot() throws Exception {
    planes.stopControlPlane();
    dp2.close();
    String version = dp2.configVersion();
    long t0 = System.nanoTime();
    // No token this time: the credential and the sealed snapshot are in its data dir.
    dp2 = planes.startDataPlane(reg2, dp2.dataDir, null);
    await("dp-eu-2 loads its persisted snapshot")
        .atMost(Duration.ofSeconds(30))
        .until(() -> version.equals(dp2.configVersion()));
    assertThat(chat(dp2)).isEqualTo(200);
    log.info(
        "it: dp-eu-2 restarted with the control plane down: serving snapshot {} from disk, first"
            + " 200 after {} ms",
        version,
        (System.nanoTime() - t0) / 1_000_000);
    for (int i = 0; i < 20; i++) {
      assertThat(chat(dp2)).isEqualTo(200);
    }

    // Back with the control plane: what it served while alone is delivered, once.
    planes.startControlPlane();
    await("usage of the restarted data plane delivered")
        .atMost(Duration.ofMinutes(2))
        .pollInterval(Duration.ofMillis(250))
        .until(() -> logged()[0] == served.get());
    long[] l = logged();
    assertThat(l[1]).isEqualTo(l[0]);
    assertThat(l[2]).isEqualTo(promptTokens.get());
    assertThat(l[3]).isEqualTo(completionTokens.get());
    await("dp-eu-2 heartbeats again")
        .atMost(Duration.ofSeconds(60))
        .until(() -> planes.dataplane(reg2.id()).path("healthy").asBoolean());
  }

  private long loggedAnyStatus() throws Exception {
    try (Connection c = planes.jdbc();
        PreparedStatement s =
            c.prepareStatement("select count(*) from request_log where key_id = ?::uuid")) {
      s.setString(1, key.id());
      try (ResultSet r = s.executeQuery()) {
        r.next();
        return r.getLong(1);
      }
    }
  }

  /** Rows, distinct request ids, prompt and completion tokens of this key's 200s in the log. */
  private long[] logged() throws Exception {
    try (Connection c = planes.jdbc();
        PreparedStatement s =
            c.prepareStatement(
                "select count(*), count(distinct request_id), coalesce(sum(prompt_tokens), 0),"
                    + " coalesce(sum(completion_tokens), 0) from request_log where key_id = ?::uuid"
                    + " and status_code = 200")) {
      s.setString(1, key.id());
      try (ResultSet r = s.executeQuery()) {
        r.next();
        return new long[] {r.getLong(1), r.getLong(2), r.getLong(3), r.getLong(4)};
      }
    }
  }

  /** One chat completion with the load key; counts what a 200 carried. */
  private int chat(ManagedDataPlane dp) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(dp.url() + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(60))
                .header("authorization", "Bearer " + key.secret())
                .header("content-type", "application/json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"smart\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() == 200) {
      JsonNode usage = JSON.readTree(r.body()).path("usage");
      served.incrementAndGet();
      promptTokens.addAndGet(usage.path("prompt_tokens").asLong());
      completionTokens.addAndGet(usage.path("completion_tokens").asLong());
    }
    return r.statusCode();
  }
}
