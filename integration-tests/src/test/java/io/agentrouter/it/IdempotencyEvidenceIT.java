package io.agentrouter.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.linecorp.armeria.client.grpc.GrpcClients;
import io.agentrouter.controlplane.testing.Rest;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import io.agentrouter.proto.inference.v1.InferenceIngressServiceGrpc;
import io.agentrouter.proto.inference.v1.PromptRequest;
import io.agentrouter.proto.inference.v1.PromptResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Idempotency of Prompt under contention: 100 callers at once (half over REST, half over gRPC) send
 * the same request with the same {@code idempotency_key} while the provider is slow; then 100 more
 * once it has finished. Exactly one upstream call and one request-log row; every other caller gets
 * 409 (gRPC ABORTED) while the first runs, or the stored response byte for byte after.
 *
 * <p>Prompt is the only create API that takes an idempotency key: the admin create requests
 * (customers, projects, keys, provider keys, routes, members, data planes) have no such field, and
 * the data plane only records the {@code Idempotency-Key} header in the request log.
 */
@ExtendWith(SecretWatch.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class IdempotencyEvidenceIT {
  private static final int CALLERS = 100;
  private static final Duration SLOW = Duration.ofSeconds(3);

  private Planes planes;
  private FakeOpenAi openAi;
  private Planes.Tenant tenant;
  private InferenceIngressServiceGrpc.InferenceIngressServiceBlockingStub grpc;

  @BeforeAll
  void start() throws Exception {
    planes = Planes.start();
    openAi = FakeOpenAi.start();
    tenant = planes.tenant("hooli", openAi.baseUrl(), "smart", "openai/gpt-4o-mini");
    Planes.Registration reg = planes.register("dp-idem");
    ManagedDataPlane dp = planes.startDataPlane(reg, planes.newDir("dp"), reg.token());
    Planes.Key key = planes.createKey(tenant, "prompts", null);
    await("key on the data plane, data plane healthy")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () ->
                dp.dataPlane.config().current() != null
                    && dp.dataPlane.config().current().key(UUID.fromString(key.id())) != null
                    && planes.dataplane(reg.id()).path("healthy").asBoolean());
    grpc =
        GrpcClients.builder("gproto+" + planes.controlPlaneUrl())
            .addHeader("authorization", "Bearer " + planes.adminKey())
            .responseTimeout(Duration.ofSeconds(60))
            .build(InferenceIngressServiceGrpc.InferenceIngressServiceBlockingStub.class);
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

  /** What one caller got. */
  enum Outcome {
    UPSTREAM_OR_STORED,
    RUNNING_409,
    OTHER
  }

  record Answer(Outcome outcome, String response, String detail) {}

  @Test
  void oneKeyOneUpstreamCallOneLogRow() throws Exception {
    String idem = "evidence-" + UUID.randomUUID();
    String prompt = "Write one line about idempotency";
    int before = openAi.received().size();
    long t0 = System.nanoTime();
    openAi.enqueue(FakeOpenAi.Fault.delay(SLOW));
    List<Answer> first = wave(idem, prompt);
    long firstMs = (System.nanoTime() - t0) / 1_000_000;
    await("the first prompt has finished and stored its answer")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> status(idem).equals("done"));
    List<Answer> second = wave(idem, prompt);
    int upstream = openAi.received().size() - before;

    // The data plane reports usage through its spool; wait for the row, then for any straggler.
    await("the request-log row")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> logRows(idem) >= 1);
    long settled = logRows(idem);
    await("no straggler row for 3 s")
        .during(Duration.ofSeconds(3))
        .atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(200))
        .until(() -> logRows(idem) == settled);
    long rows = logRows(idem);

    long firstOk = first.stream().filter(a -> a.outcome() == Outcome.UPSTREAM_OR_STORED).count();
    long firstRunning = first.stream().filter(a -> a.outcome() == Outcome.RUNNING_409).count();
    long secondOk = second.stream().filter(a -> a.outcome() == Outcome.UPSTREAM_OR_STORED).count();
    List<String> other = new ArrayList<>();
    first.stream().filter(a -> a.outcome() == Outcome.OTHER).forEach(a -> other.add(a.detail()));
    second.stream().filter(a -> a.outcome() == Outcome.OTHER).forEach(a -> other.add(a.detail()));
    long distinctResponses =
        java.util.stream.Stream.concat(first.stream(), second.stream())
            .filter(a -> a.outcome() == Outcome.UPSTREAM_OR_STORED)
            .map(Answer::response)
            .distinct()
            .count();

    Evidence.figure(
        "Idempotency: concurrent Prompt, one key",
        upstream
            + " upstream call(s), "
            + rows
            + " request-log row(s) for "
            + (2 * CALLERS)
            + " callers (2 waves of "
            + CALLERS
            + ", half REST, half gRPC)",
        "1 upstream call, 1 row",
        upstream == 1 && rows == 1);
    Evidence.figure(
        "Idempotency: what callers got",
        "while running ("
            + firstMs
            + " ms, provider delayed "
            + SLOW.toMillis()
            + " ms): "
            + firstOk
            + " answer, "
            + firstRunning
            + " 409/ABORTED; after: "
            + secondOk
            + " stored answer; "
            + distinctResponses
            + " distinct answer(s); "
            + other.size()
            + " other",
        "1 answer + 409s, then stored answers, 1 distinct, 0 other",
        firstOk == 1
            && firstRunning == CALLERS - 1
            && secondOk == CALLERS
            && distinctResponses == 1
            && other.isEmpty());
    assertThat(other).isEmpty();
    assertThat(upstream).isEqualTo(1);
    assertThat(rows).isEqualTo(1);
    assertThat(firstOk).as("answers in the first wave").isEqualTo(1);
    assertThat(firstRunning).isEqualTo(CALLERS - 1);
    assertThat(secondOk).isEqualTo(CALLERS);
    assertThat(distinctResponses).isEqualTo(1);
  }

  /** {@link #CALLERS} callers released at once, even ones over REST, odd ones over gRPC. */
  private List<Answer> wave(String idem, String prompt) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(CALLERS);
    CountDownLatch go = new CountDownLatch(1);
    try {
      List<Future<Answer>> futures = new ArrayList<>();
      for (int i = 0; i < CALLERS; i++) {
        boolean rest = i % 2 == 0;
        futures.add(
            pool.submit(
                () -> {
                  go.await();
                  return rest ? overRest(idem, prompt) : overGrpc(idem, prompt);
                }));
      }
      go.countDown();
      List<Answer> out = new ArrayList<>();
      for (Future<Answer> f : futures) {
        out.add(f.get());
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  private Answer overRest(String idem, String prompt) {
    Rest.Response r =
        planes
            .rest()
            .post(
                tenant.path() + "/prompts",
                planes.adminKey(),
                Rest.json(Map.of("prompt", prompt, "model", "smart", "idempotency_key", idem)));
    if (r.status() == 200) {
      return new Answer(
          Outcome.UPSTREAM_OR_STORED,
          r.text("completion") + "|" + r.text("dataplane_id") + "|" + r.text("model"),
          "");
    }
    if (r.status() == 409 && r.errorMessage().contains("still running")) {
      return new Answer(Outcome.RUNNING_409, "", "");
    }
    return new Answer(Outcome.OTHER, "", "REST " + r.status() + " " + r.body());
  }

  private Answer overGrpc(String idem, String prompt) {
    try {
      PromptResponse p =
          grpc.prompt(
              PromptRequest.newBuilder()
                  .setCustomerId(tenant.customerId())
                  .setProjectId(tenant.projectId())
                  .setModel("smart")
                  .setPrompt(prompt)
                  .setIdempotencyKey(idem)
                  .build());
      return new Answer(
          Outcome.UPSTREAM_OR_STORED,
          p.getCompletion() + "|" + p.getDataplaneId() + "|" + p.getModel(),
          "");
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() == Status.Code.ABORTED) {
        return new Answer(Outcome.RUNNING_409, "", "");
      }
      return new Answer(Outcome.OTHER, "", "gRPC " + e.getStatus());
    }
  }

  private String status(String idem) throws Exception {
    try (Connection c = planes.jdbc();
        PreparedStatement st =
            c.prepareStatement("select status from prompt_idempotency where idempotency_key = ?")) {
      st.setString(1, idem);
      try (ResultSet rs = st.executeQuery()) {
        return rs.next() ? rs.getString(1) : "";
      }
    }
  }

  private long logRows(String idem) throws Exception {
    try (Connection c = planes.jdbc();
        PreparedStatement st =
            c.prepareStatement(
                "select count(*) from request_log where project_id = ?::uuid"
                    + " and idempotency_key = ?")) {
      st.setString(1, tenant.projectId());
      st.setString(2, idem);
      try (ResultSet rs = st.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }
}
