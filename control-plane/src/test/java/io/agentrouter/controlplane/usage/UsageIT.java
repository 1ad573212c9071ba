package io.agentrouter.controlplane.usage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.linecorp.armeria.client.grpc.GrpcClients;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.controlplane.testing.ControlPlaneExtension;
import io.agentrouter.controlplane.testing.Rest;
import io.agentrouter.controlplane.testing.Rest.Response;
import io.agentrouter.proto.admin.v1.ListRequestLogsRequest;
import io.agentrouter.proto.admin.v1.ListRequestLogsResponse;
import io.agentrouter.proto.admin.v1.RequestLog;
import io.agentrouter.proto.admin.v1.UsageServiceGrpc;
import io.agentrouter.proto.dataplane.v1.DataplaneSyncServiceGrpc;
import io.agentrouter.proto.dataplane.v1.RegisterRequest;
import io.agentrouter.proto.dataplane.v1.UsageAck;
import io.agentrouter.proto.dataplane.v1.UsageBatch;
import io.agentrouter.proto.dataplane.v1.UsageRecord;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Usage end to end on a real control plane: a data plane (the generated stub, with a credential
 * from the real Register flow) streams batches; the request-log and usage APIs and the spend reader
 * see exactly what was stored, once.
 */
class UsageIT {
  @RegisterExtension static final ControlPlaneExtension cp = new ControlPlaneExtension();

  static Rest rest;
  static String admin;
  static String customer;
  static String project;
  static String key1;
  static String key2;
  static String key1Secret;
  static String otherKey;
  static String credential;
  static String dataplaneId;
  static final Instant NOW = Instant.now().truncatedTo(ChronoUnit.MICROS);
  static final List<UsageRecord> RECORDS = new ArrayList<>();

  @BeforeAll
  static void setUp() {
    rest = cp.rest();
    admin = cp.adminKey();
    customer = ok(rest.post("/v1/customers", admin, "{\"name\":\"Usage Co\"}")).text("customer_id");
    project =
        ok(rest.post(
                "/v1/customers/" + customer + "/projects",
                admin,
                "{\"name\":\"u1\",\"region\":\"eu-west-1\"}"))
            .text("project_id");
    Response k1 = ok(rest.post(keysPath(customer, project), admin, "{\"name\":\"k1\"}"));
    key1 = k1.json().path("key").path("key_id").asText();
    key1Secret = k1.text("secret");
    key2 =
        ok(rest.post(keysPath(customer, project), admin, "{\"name\":\"k2\"}"))
            .json()
            .path("key")
            .path("key_id")
            .asText();
    String otherCustomer =
        ok(rest.post("/v1/customers", admin, "{\"name\":\"Other Co\"}")).text("customer_id");
    String otherProject =
        ok(rest.post(
                "/v1/customers/" + otherCustomer + "/projects",
                admin,
                "{\"name\":\"o1\",\"region\":\"eu-west-1\"}"))
            .text("project_id");
    otherKey =
        ok(rest.post(keysPath(otherCustomer, otherProject), admin, "{\"name\":\"other\"}"))
            .text("secret");

    Response dp =
        ok(
            rest.post(
                "/v1/dataplanes",
                admin,
                "{\"name\":\"dp-usage\",\"region\":\"eu-west-1\",\"public_url\":\"http://127.0.0.1:1\"}"));
    dataplaneId = dp.json().path("dataplane").path("dataplane_id").asText();
    credential =
        cp.grpc(DataplaneSyncServiceGrpc.DataplaneSyncServiceBlockingStub.class, null)
            .register(
                RegisterRequest.newBuilder()
                    .setRegistrationToken(dp.text("registration_token"))
                    .build())
            .getCredential();

    // 12 requests: two keys, two models, a few errors, three kinds, spread over this month and
    // one 40 days back (another month, so another partition).
    String[] models = {"openai/gpt-4o", "anthropic/claude-sonnet-4-6"};
    String[] endpoints = {"chat.completions", "embeddings", "images.generations"};
    for (int i = 0; i < 12; i++) {
      Instant started =
          i == 11 ? NOW.minus(Duration.ofDays(40)) : NOW.minus(Duration.ofSeconds(10L * (12 - i)));
      boolean error = i % 4 == 3;
      RECORDS.add(
          UsageRecord.newBuilder()
              .setRequestId("req_" + String.format("%032d", i))
              .setCustomerId(customer)
              .setProjectId(project)
              .setKeyId(i % 3 == 0 ? key2 : key1)
              .setModelRequested(models[i % 2])
              .setModelServed(error ? "" : models[i % 2])
              .setProvider(error ? "" : models[i % 2].substring(0, models[i % 2].indexOf('/')))
              .setStatusCode(error ? 502 : 200)
              .setErrorClass(error ? "server" : "")
              .setPromptTokens(100 + i)
              .setCompletionTokens(error ? 0 : 20 + i)
              .setCachedTokens(i)
              .setCostMicros(error ? 0 : 1_000 + i)
              .setStartedAt(Fields.timestamp(started))
              .setLatencyMs(300 + i)
              .setUpstreamMs(250 + i)
              .setOverheadMs(5)
              .setEndpoint(endpoints[i % 3])
              .putMetadata("operation", "op" + i)
              .build());
    }
  }

  @Test
  void batchesAreStoredOnceWithExactRollupsAndPartitions() throws Exception {
    UsageRecord badProject =
        RECORDS.get(0).toBuilder().setRequestId("req_bad_project").setProjectId("nope").build();
    UsageRecord negative =
        RECORDS.get(1).toBuilder().setRequestId("req_negative").setPromptTokens(-5).build();
    UsageRecord unknownProject =
        RECORDS.get(2).toBuilder()
            .setRequestId("req_unknown_project")
            .setProjectId("0b6c1a52-8f0e-4d7c-9a55-2f0f5d8f7c11")
            .build();
    List<UsageRecord> first = new ArrayList<>(RECORDS.subList(0, 8));
    first.add(badProject);
    first.add(negative);
    first.add(unknownProject);

    try (UsageStream stream = new UsageStream(credential)) {
      UsageAck ack1 = stream.send("b1", first);
      assertThat(ack1.getBatchId()).isEqualTo("b1");
      assertThat(ack1.getAckedRequestIdsList()).containsExactlyInAnyOrderElementsOf(ids(0, 8));
      assertThat(ack1.getRejectedList())
          .extracting(r -> r.getRequestId() + " " + r.getReason())
          .containsExactlyInAnyOrder(
              "req_bad_project project_id: 'nope' is not a UUID (expected a UUID)",
              "req_negative prompt_tokens: -5 is negative (expected 0 or more)",
              "req_unknown_project project_id: project '0b6c1a52-8f0e-4d7c-9a55-2f0f5d8f7c11' of"
                  + " customer '"
                  + customer
                  + "' is unknown (expected a project of that customer)");

      // The rest, overlapping the first batch, with a duplicate inside the batch too.
      List<UsageRecord> second = new ArrayList<>(RECORDS.subList(5, 12));
      second.add(RECORDS.get(11));
      UsageAck ack2 = stream.send("b2", second);
      assertThat(ack2.getAckedRequestIdsList()).containsExactlyInAnyOrderElementsOf(ids(5, 12));
      assertThat(ack2.getRejectedList()).isEmpty();

      // A repeated batch is absorbed: acked again, nothing counted twice.
      UsageAck ack3 = stream.send("b1-again", RECORDS);
      assertThat(ack3.getAckedRequestIdsList()).containsExactlyInAnyOrderElementsOf(ids(0, 12));
    }

    assertThat(sql("select count(*) from request_log")).isEqualTo(12);
    assertThat(sql("select sum(prompt_tokens) from request_log"))
        .isEqualTo(RECORDS.stream().mapToLong(UsageRecord::getPromptTokens).sum());
    assertThat(sql("select sum(requests) from usage_daily")).isEqualTo(12);
    assertThat(sql("select sum(completion_tokens) from usage_daily"))
        .isEqualTo(RECORDS.stream().mapToLong(UsageRecord::getCompletionTokens).sum());
    assertThat(sql("select sum(cost_micros) from usage_daily"))
        .isEqualTo(RECORDS.stream().mapToLong(UsageRecord::getCostMicros).sum());
    assertThat(sql("select sum(errors) from usage_daily")).isEqualTo(3);

    // A partition per month touched (and the months created ahead).
    Set<String> partitions = new HashSet<>();
    try (Connection c = cp.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid"
                    + " where i.inhparent = 'request_log'::regclass")) {
      while (rs.next()) {
        partitions.add(rs.getString(1));
      }
    }
    for (UsageRecord r : RECORDS) {
      YearMonth m = YearMonth.from(Fields.instant(r.getStartedAt()).atOffset(ZoneOffset.UTC));
      assertThat(partitions)
          .contains(String.format("request_log_%04d_%02d", m.getYear(), m.getMonthValue()));
    }

    // Usage by model over REST: exact sums per model, cost as dollars.
    JsonNode byModel =
        ok(rest.get(
                usagePath()
                    + "?group_by=USAGE_GROUP_BY_MODEL&start_time="
                    + enc(NOW.minus(Duration.ofDays(60)).toString()),
                admin))
            .json();
    long gpt4oCost =
        RECORDS.stream()
            .filter(r -> r.getModelRequested().equals("openai/gpt-4o"))
            .mapToLong(UsageRecord::getCostMicros)
            .sum();
    long gpt4oRequests =
        RECORDS.stream().filter(r -> r.getModelRequested().equals("openai/gpt-4o")).count();
    JsonNode gpt4o = null;
    long requests = 0;
    for (JsonNode row : byModel.path("rows")) {
      requests += row.path("requests").asLong();
      if (row.path("group").asText().equals("openai/gpt-4o")) {
        gpt4o = row;
      }
    }
    assertThat(gpt4o).isNotNull();
    // Failed requests count under the model asked for (nothing served them).
    assertThat(requests).isEqualTo(12);
    assertThat(gpt4o.path("requests").asLong()).isEqualTo(gpt4oRequests);
    assertThat(gpt4o.path("cost_usd").asText())
        .isEqualTo(
            new java.math.BigDecimal(gpt4oCost)
                .movePointLeft(6)
                .stripTrailingZeros()
                .toPlainString());
    assertThat(byModel.path("total_cost_usd").asText())
        .isEqualTo(
            new java.math.BigDecimal(RECORDS.stream().mapToLong(UsageRecord::getCostMicros).sum())
                .movePointLeft(6)
                .stripTrailingZeros()
                .toPlainString());

    // By key and by day.
    JsonNode byKey =
        ok(rest.get(
                usagePath()
                    + "?group_by=USAGE_GROUP_BY_KEY&start_time="
                    + enc(NOW.minus(Duration.ofDays(60)).toString()),
                admin))
            .json();
    Map<String, Long> keyRequests = new java.util.HashMap<>();
    byKey
        .path("rows")
        .forEach(r -> keyRequests.put(r.path("group").asText(), r.path("requests").asLong()));
    assertThat(keyRequests).containsExactlyInAnyOrderEntriesOf(Map.of(key1, 8L, key2, 4L));
    JsonNode byDay = ok(rest.get(usagePath(), admin)).json();
    long lastThirtyDays = 0;
    for (JsonNode row : byDay.path("rows")) {
      assertThat(row.path("group").asText()).matches("\\d{4}-\\d{2}-\\d{2}");
      lastThirtyDays += row.path("requests").asLong();
    }
    assertThat(lastThirtyDays)
        .isEqualTo(11); // the 40-day-old request is outside the default period

    // Month-to-date spend for budgets, from the rollups.
    SpendReader spend =
        new SpendReader(DSL.using(cp.dataSource(), SQLDialect.POSTGRES), Clock.systemUTC());
    Instant monthStart =
        YearMonth.now(ZoneOffset.UTC).atDay(1).atStartOfDay().toInstant(ZoneOffset.UTC);
    long key1Mtd =
        RECORDS.stream()
            .filter(r -> r.getKeyId().equals(key1))
            .filter(r -> !Fields.instant(r.getStartedAt()).isBefore(monthStart))
            .mapToLong(UsageRecord::getCostMicros)
            .sum();
    long projectMtd =
        RECORDS.stream()
            .filter(r -> !Fields.instant(r.getStartedAt()).isBefore(monthStart))
            .mapToLong(UsageRecord::getCostMicros)
            .sum();
    assertThat(spend.monthToDateMicrosByKey(List.of(key1, "not-a-key")))
        .containsExactlyInAnyOrderEntriesOf(Map.of(key1, key1Mtd, "not-a-key", 0L));
    assertThat(spend.monthToDateMicrosByProject(List.of(project)))
        .containsExactlyInAnyOrderEntriesOf(Map.of(project, projectMtd));

    requestLogsFilterAndPage();
  }

  /** Runs after the batches above (one test, one order): filters and page tokens. */
  void requestLogsFilterAndPage() {
    String all = logsPath() + "?start_time=" + enc(NOW.minus(Duration.ofDays(60)).toString());
    // Page tokens walk every row exactly once, newest first.
    List<String> seen = new ArrayList<>();
    String token = "";
    int pages = 0;
    do {
      JsonNode page =
          ok(rest.get(
                  all + "&page_size=5" + (token.isEmpty() ? "" : "&page_token=" + token), admin))
              .json();
      page.path("request_logs").forEach(r -> seen.add(r.path("request_id").asText()));
      token = page.path("next_page_token").asText();
      pages++;
    } while (!token.isEmpty());
    assertThat(pages).isEqualTo(3);
    assertThat(seen).hasSize(12).doesNotHaveDuplicates();
    // Request 11 is 40 days old; the others are seconds apart, 10 the newest.
    List<String> newestFirst = new ArrayList<>(ids(0, 11));
    java.util.Collections.reverse(newestFirst);
    newestFirst.add(id(11));
    assertThat(seen).containsExactlyElementsOf(newestFirst);

    JsonNode one = ok(rest.get(all + "&page_size=1", admin)).json().path("request_logs").path(0);
    assertThat(one.path("request_id").asText()).isEqualTo("req_" + String.format("%032d", 10));
    assertThat(one.path("dataplane_id").asText()).isEqualTo(dataplaneId);
    assertThat(one.path("kind").asText()).isEqualTo("embeddings");
    assertThat(one.path("cost_usd").asText()).isEqualTo("0.00101");

    assertThat(count(all + "&status=error")).isEqualTo(3);
    assertThat(count(all + "&status=success")).isEqualTo(9);
    assertThat(count(all + "&model=" + enc("anthropic/claude-sonnet-4-6"))).isEqualTo(6);
    assertThat(count(all + "&key_id=" + key2)).isEqualTo(4);
    assertThat(count(all + "&kind=images")).isEqualTo(4);
    assertThat(count(logsPath() + "?start_time=" + enc(NOW.minus(Duration.ofDays(1)).toString())))
        .isEqualTo(11);
    assertThat(count(logsPath() + "?end_time=" + enc(NOW.minus(Duration.ofDays(1)).toString())))
        .isEqualTo(1);

    Response badStatus = rest.get(logsPath() + "?status=maybe", admin);
    assertThat(badStatus.status()).isEqualTo(400);
    assertThat(badStatus.errorMessage())
        .isEqualTo("status: 'maybe' is unknown (expected success or error)");
    Response badToken = rest.get(logsPath() + "?page_token=xyz", admin);
    assertThat(badToken.status()).isEqualTo(400);
    assertThat(badToken.errorMessage()).startsWith("page_token:");

    // gRPC: the same rows, paged.
    var usage = cp.grpc(UsageServiceGrpc.UsageServiceBlockingStub.class, admin);
    List<String> grpcSeen = new ArrayList<>();
    String next = "";
    do {
      ListRequestLogsResponse page =
          usage.listRequestLogs(
              ListRequestLogsRequest.newBuilder()
                  .setCustomerId(customer)
                  .setProjectId(project)
                  .setStartTime(Fields.timestamp(NOW.minus(Duration.ofDays(60))))
                  .setStatus("error")
                  .setPageSize(2)
                  .setPageToken(next)
                  .build());
      page.getRequestLogsList().stream().map(RequestLog::getRequestId).forEach(grpcSeen::add);
      next = page.getNextPageToken();
    } while (!next.isEmpty());
    assertThat(grpcSeen).containsExactly(id(7), id(3), id(11));

    // A project key reads its own project; another tenant's key sees nothing: 404.
    assertThat(rest.get(logsPath(), key1Secret).status()).isEqualTo(200);
    assertThat(rest.get(logsPath(), otherKey).status()).isEqualTo(404);
    assertThat(rest.get(usagePath(), otherKey).status()).isEqualTo(404);
    var foreign = cp.grpc(UsageServiceGrpc.UsageServiceBlockingStub.class, otherKey);
    assertThatThrownBy(
            () ->
                foreign.listRequestLogs(
                    ListRequestLogsRequest.newBuilder()
                        .setCustomerId(customer)
                        .setProjectId(project)
                        .build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
  }

  @Test
  void anUnknownCredentialCannotStreamUsage() {
    try (UsageStream stream = new UsageStream("ar-dpcred-not-issued")) {
      assertThatThrownBy(() -> stream.send("x", RECORDS.subList(0, 1)))
          .hasMessageContaining("UNAUTHENTICATED");
    }
    assertThat(rest.get(logsPath(), admin).status()).isEqualTo(200);
  }

  /** A data plane's usage stream through the generated async stub. */
  static final class UsageStream implements AutoCloseable {
    private final LinkedBlockingQueue<Object> answers = new LinkedBlockingQueue<>();
    private final StreamObserver<UsageBatch> requests;

    UsageStream(String credential) {
      var stub =
          GrpcClients.builder("gproto+" + cp.baseUrl())
              .addHeader("authorization", "Bearer " + credential)
              .build(DataplaneSyncServiceGrpc.DataplaneSyncServiceStub.class);
      requests =
          stub.streamUsage(
              new StreamObserver<>() {
                @Override
                public void onNext(UsageAck value) {
                  answers.add(value);
                }

                @Override
                public void onError(Throwable t) {
                  answers.add(t);
                }

                @Override
                public void onCompleted() {}
              });
    }

    UsageAck send(String batchId, List<UsageRecord> records) throws Exception {
      requests.onNext(UsageBatch.newBuilder().setBatchId(batchId).addAllRecords(records).build());
      Object answer = answers.poll(30, TimeUnit.SECONDS);
      if (answer instanceof Throwable t) {
        throw new IllegalStateException(t.getMessage(), t);
      }
      assertThat(answer).as("ack of batch " + batchId).isInstanceOf(UsageAck.class);
      return (UsageAck) answer;
    }

    @Override
    public void close() {
      try {
        requests.onCompleted();
      } catch (RuntimeException e) {
        // The server already ended the stream.
      }
    }
  }

  static long count(String path) {
    return ok(rest.get(path + "&page_size=1000", admin)).json().path("request_logs").size();
  }

  static long sql(String query) throws Exception {
    try (Connection c = cp.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(query)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  static String id(int i) {
    return "req_" + String.format("%032d", i);
  }

  static List<String> ids(int from, int to) {
    List<String> out = new ArrayList<>();
    for (int i = from; i < to; i++) {
      out.add(id(i));
    }
    return out;
  }

  static String keysPath(String c, String p) {
    return "/v1/customers/" + c + "/projects/" + p + "/keys";
  }

  static String logsPath() {
    return "/v1/customers/" + customer + "/projects/" + project + "/request-logs";
  }

  static String usagePath() {
    return "/v1/customers/" + customer + "/projects/" + project + "/usage";
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  static Response ok(Response r) {
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r;
  }
}
