package io.agentrouter.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.linecorp.armeria.client.WebClient;
import com.linecorp.armeria.client.grpc.GrpcClients;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.common.keys.ApiKeys;
import io.agentrouter.controlplane.testing.LogCapture;
import io.agentrouter.controlplane.testing.Rest;
import io.agentrouter.dataplane.config.RuntimeConfig;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import io.agentrouter.proto.admin.v1.IdentityServiceGrpc;
import io.agentrouter.proto.admin.v1.WhoAmIRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
 * Keys at rest: API key secrets and provider key plaintexts are nowhere in the database or the
 * logs; a provider-key ciphertext moved to another row or tenant does not decrypt, and the row is
 * left out rather than served with another row's key; a checksum-corrupted API key is refused
 * before any lookup, on both planes.
 *
 * <p>Order matters: the control-plane lookup count needs a quiet control plane, so it runs before
 * any data plane is connected.
 */
@ExtendWith(SecretWatch.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KeysAtRestEvidenceIT {
  private static final ObjectMapper mapper = new ObjectMapper();
  private static final String BASE62 =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  private static final int CORRUPTED = 10_000;
  private static final int CONTROL = 100;

  private final SecureRandom random = new SecureRandom();
  private volatile WebClient dataPlaneClient;
  private LogCapture logs;
  private Planes planes;
  private FakeOpenAi openAi;
  private Planes.Tenant a;
  private Planes.Tenant b;
  private final List<Planes.Key> apiKeys = new ArrayList<>();
  private final List<String> providerSecrets = new ArrayList<>();

  @BeforeAll
  void start() throws Exception {
    logs = new LogCapture();
    planes = Planes.start();
    openAi = FakeOpenAi.start();
    a = planes.tenant("acme", openAi.baseUrl(), "smart", "openai/gpt-4o-mini");
    b = planes.tenant("globex", openAi.baseUrl(), "smart", "openai/gpt-4o-mini");
    providerSecrets.add("sk-upstream-acme");
    providerSecrets.add("sk-upstream-globex");
  }

  @AfterAll
  void stop() throws Exception {
    if (planes != null) {
      planes.close();
    }
    if (openAi != null) {
      openAi.close();
    }
    if (logs != null) {
      logs.close();
    }
  }

  @Test
  @Order(1)
  void noSecretInTheDatabaseOrTheLogs() throws Exception {
    int keyCount = Evidence.size(300, 1_000);
    int providerKeyCount = Evidence.size(50, 100);
    long t0 = System.nanoTime();
    parallel(
        keyCount,
        i -> {
          Planes.Key k = planes.createKey(i % 2 == 0 ? a : b, "bulk-" + i, null);
          synchronized (apiKeys) {
            apiKeys.add(k);
          }
          return null;
        });
    parallel(
        providerKeyCount,
        i -> {
          String secret = SecretWatch.secret("sk-prov-" + randomBase62(40));
          createProviderKey(i % 2 == 0 ? a : b, "bulk-" + i, secret);
          synchronized (providerSecrets) {
            providerSecrets.add(secret);
          }
          return null;
        });
    long createdMs = (System.nanoTime() - t0) / 1_000_000;

    // Every table of the schema as text (bytea as hex), the way a stolen backup would read.
    StringBuilder dump = new StringBuilder();
    int tables = 0;
    long rows = 0;
    try (Connection c = planes.jdbc();
        Statement st = c.createStatement()) {
      List<String> names = new ArrayList<>();
      try (ResultSet rs =
          st.executeQuery(
              "select quote_ident(table_schema) || '.' || quote_ident(table_name)"
                  + " from information_schema.tables where table_type = 'BASE TABLE'"
                  + " and table_schema not in ('pg_catalog', 'information_schema')")) {
        while (rs.next()) {
          names.add(rs.getString(1));
        }
      }
      for (String t : names) {
        tables++;
        try (ResultSet rs = st.executeQuery("select t::text from " + t + " t")) {
          while (rs.next()) {
            rows++;
            dump.append(t).append(' ').append(rs.getString(1)).append('\n');
          }
        }
      }
    }
    String db = dump.toString();
    assertThat(db).as("the dump holds the keys' ids").contains(apiKeys.get(0).id());
    String logText = logs.text();

    List<String> needles = new ArrayList<>();
    for (Planes.Key k : apiKeys) {
      String token = k.secret();
      String secret = token.substring(ApiKeys.PREFIX.length() + 23, token.length() - 6);
      needles.addAll(forms(token));
      needles.addAll(forms(secret));
    }
    for (String s : providerSecrets) {
      needles.addAll(forms(s));
    }
    needles.addAll(forms(planes.adminKey()));
    List<String> inDb = new ArrayList<>();
    List<String> inLogs = new ArrayList<>();
    for (String n : needles) {
      if (db.contains(n)) {
        inDb.add(n.substring(0, 6) + "…");
      }
      if (logText.contains(n)) {
        inLogs.add(n.substring(0, 6) + "…");
      }
    }
    Evidence.figure(
        "Keys at rest: secrets in a database dump",
        inDb.size()
            + " found; "
            + apiKeys.size()
            + " API keys and "
            + providerSecrets.size()
            + " provider keys (created over REST in "
            + createdMs
            + " ms), "
            + tables
            + " tables, "
            + rows
            + " rows, "
            + db.length()
            + " chars; each secret searched as text, hex and base64",
        "0",
        inDb.isEmpty());
    Evidence.figure(
        "Keys at rest: secrets in the logs",
        inLogs.size() + " found in " + logs.size() + " DEBUG log events of both planes",
        "0",
        inLogs.isEmpty());
    assertThat(apiKeys).hasSize(keyCount);
    assertThat(inDb).isEmpty();
    assertThat(inLogs).isEmpty();
    assertThat(logs.size()).isPositive();
  }

  @Test
  @Order(2)
  void corruptedKeysAreRefusedByTheControlPlaneWithoutALookup() throws Exception {
    List<String> corrupted = corrupted(CORRUPTED);
    Rest rest = planes.rest();
    // The counter: scans of api_keys (index or sequential) in PostgreSQL's statistics. A key
    // lookup is one index scan of api_keys, so every lookup the control plane makes shows here;
    // with no data plane connected nothing else reads that table.
    long before = settledApiKeyScans();
    long xactBefore = xactCommit();
    long t0 = System.nanoTime();
    AtomicLong rest401 = new AtomicLong();
    AtomicLong grpcUnauthenticated = new AtomicLong();
    List<String> wrong = new java.util.concurrent.CopyOnWriteArrayList<>();
    parallel(
        corrupted.size(),
        i -> {
          String key = corrupted.get(i);
          if (i % 2 == 0) {
            Rest.Response r = rest.get("/v1/me", key);
            if (r.status() == 401
                && r.json() != null
                && r.json().path("error").path("status").asText().equals("UNAUTHENTICATED")
                && r.errorMessage().contains("malformed or mistyped")) {
              rest401.incrementAndGet();
            } else {
              wrong.add("REST " + r.status() + " " + r.body());
            }
          } else {
            try {
              GrpcClients.builder("gproto+" + planes.controlPlaneUrl())
                  .addHeader("authorization", "Bearer " + key)
                  .build(IdentityServiceGrpc.IdentityServiceBlockingStub.class)
                  .whoAmI(WhoAmIRequest.getDefaultInstance());
              wrong.add("gRPC OK");
            } catch (StatusRuntimeException e) {
              if (e.getStatus().getCode() == Status.Code.UNAUTHENTICATED
                  && String.valueOf(e.getStatus().getDescription())
                      .contains("malformed or mistyped")) {
                grpcUnauthenticated.incrementAndGet();
              } else {
                wrong.add("gRPC " + e.getStatus());
              }
            }
          }
          return null;
        });
    long ms = (System.nanoTime() - t0) / 1_000_000;
    long afterCorrupted = settledApiKeyScans();
    long xactAfter = xactCommit();

    // Positive control: well-formed keys nobody issued pass the checksum, so each is looked up.
    List<String> unknown = new ArrayList<>();
    for (int i = 0; i < CONTROL; i++) {
      unknown.add(ApiKeys.generate(UUID.randomUUID(), random).token());
    }
    for (String k : unknown) {
      Rest.Response r = rest.get("/v1/me", k);
      assertThat(r.status()).isEqualTo(401);
      assertThat(r.errorMessage()).isEqualTo("API key is not recognised");
    }
    await("the control lookups reach the statistics")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(250))
        .until(() -> apiKeyScans() >= afterCorrupted + CONTROL);
    long afterControl = settledApiKeyScans();

    long corruptedLookups = afterCorrupted - before;
    long controlLookups = afterControl - afterCorrupted;
    Evidence.figure(
        "Corrupted keys refused (control plane)",
        (rest401.get() + grpcUnauthenticated.get())
            + "/"
            + corrupted.size()
            + " refused ("
            + rest401.get()
            + " REST 401, "
            + grpcUnauthenticated.get()
            + " gRPC UNAUTHENTICATED) in "
            + ms
            + " ms",
        corrupted.size() + "/" + corrupted.size(),
        wrong.isEmpty());
    Evidence.figure(
        "Corrupted keys: control-plane key lookups",
        corruptedLookups
            + " api_keys scans for "
            + corrupted.size()
            + " corrupted keys ("
            + (xactAfter - xactBefore)
            + " database commits, the counting queries' own included); control: "
            + controlLookups
            + " scans for "
            + CONTROL
            + " well-formed unknown keys",
        "0 (control: >= " + CONTROL + ")",
        corruptedLookups == 0 && controlLookups >= CONTROL);
    assertThat(wrong).as("answers other than 401/UNAUTHENTICATED").isEmpty();
    assertThat(controlLookups).as("lookups for the control keys").isGreaterThanOrEqualTo(CONTROL);
    assertThat(corruptedLookups).as("lookups for corrupted keys").isZero();
  }

  private ManagedDataPlane dp;

  @Test
  @Order(3)
  void corruptedKeysAreRefusedByTheDataPlaneWithoutALookup() throws Exception {
    startDataPlane();
    List<String> corrupted = corrupted(CORRUPTED);
    // The counter: the data plane's keys live in its snapshot's key map (no database, no Redis);
    // a lookup is a get on that map. The test wraps the live snapshot's map with a counting one.
    RuntimeConfig snapshot = dp.dataPlane.config().current();
    AtomicLong lookups = new AtomicLong();
    countLookups(snapshot, lookups);
    AtomicLong refused = new AtomicLong();
    List<String> wrong = new java.util.concurrent.CopyOnWriteArrayList<>();
    long t0 = System.nanoTime();
    parallel(
        corrupted.size(),
        i -> {
          Answer r = chat(dp, corrupted.get(i), "smart");
          JsonNode error = mapper.readTree(r.body()).path("error");
          if (r.statusCode() == 401
              && error.path("type").asText().equals("invalid_request_error")
              && error.path("code").asText().equals("invalid_api_key")
              && !error.path("message").asText().isEmpty()
              && error.has("param")) {
            refused.incrementAndGet();
          } else {
            wrong.add(r.statusCode() + " " + r.body());
          }
          return null;
        });
    long ms = (System.nanoTime() - t0) / 1_000_000;
    long corruptedLookups = lookups.get();
    for (int i = 0; i < CONTROL; i++) {
      assertThat(
              chat(dp, ApiKeys.generate(UUID.randomUUID(), random).token(), "smart").statusCode())
          .isEqualTo(401);
    }
    long controlLookups = lookups.get() - corruptedLookups;
    assertThat(dp.dataPlane.config().current())
        .as("the same snapshot throughout")
        .isSameAs(snapshot);
    Evidence.figure(
        "Corrupted keys refused (data plane)",
        refused.get()
            + "/"
            + corrupted.size()
            + " refused with 401 in the OpenAI error shape (invalid_api_key) in "
            + ms
            + " ms",
        corrupted.size() + "/" + corrupted.size(),
        wrong.isEmpty());
    Evidence.figure(
        "Corrupted keys: data-plane key lookups",
        corruptedLookups
            + " snapshot key-map lookups for "
            + corrupted.size()
            + " corrupted keys; control: "
            + controlLookups
            + " for "
            + CONTROL
            + " well-formed unknown keys",
        "0 (control: " + CONTROL + ")",
        corruptedLookups == 0 && controlLookups == CONTROL);
    assertThat(wrong).isEmpty();
    assertThat(controlLookups).isEqualTo(CONTROL);
    assertThat(corruptedLookups).isZero();
  }

  @Test
  @Order(4)
  void aMovedCiphertextDoesNotDecryptAndIsNeverServed() throws Exception {
    if (dp == null) {
      startDataPlane();
    }
    // Four credentials with routes of their own: two of tenant a (swapped with each other), one of
    // a and one of b (swapped across tenants). b's original credential stays as it was.
    String a1 =
        createProviderKey(a, "swap-a1", SecretWatch.secret("sk-swap-a1-" + randomBase62(20)));
    String a2 =
        createProviderKey(a, "swap-a2", SecretWatch.secret("sk-swap-a2-" + randomBase62(20)));
    String a3 =
        createProviderKey(a, "swap-a3", SecretWatch.secret("sk-swap-a3-" + randomBase62(20)));
    String b1 =
        createProviderKey(b, "swap-b1", SecretWatch.secret("sk-swap-b1-" + randomBase62(20)));
    route(a, "via-a1", a1);
    route(a, "via-a2", a2);
    route(a, "via-a3", a3);
    route(b, "via-b1", b1);
    Planes.Key keyA = planes.createKey(a, "swap-a", null);
    Planes.Key keyB = planes.createKey(b, "swap-b", null);
    await("the data plane serves the four credentials and both keys")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () -> {
              RuntimeConfig c = dp.dataPlane.config().current();
              return c.key(UUID.fromString(keyA.id())) != null
                  && c.key(UUID.fromString(keyB.id())) != null
                  && List.of(a1, a2, a3, b1).stream()
                      .allMatch(id -> c.upstream("openai-" + id) != null);
            });
    // Before: each route reaches the fake provider with its own credential.
    for (var via : List.of(Map.entry("via-a1", keyA), Map.entry("via-b1", keyB))) {
      int n = openAi.received().size();
      Answer r = chat(dp, via.getValue().secret(), via.getKey());
      assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
      assertThat(openAi.received()).hasSize(n + 1);
    }
    String version = dp.configVersion();

    try (Connection c = planes.jdbc()) {
      swap(c, a1, a2);
      swap(c, a3, b1);
    }
    await("a new snapshot without the moved credentials")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () ->
                !version.equals(dp.configVersion())
                    && List.of(a1, a2, a3, b1).stream()
                        .allMatch(
                            id ->
                                dp.dataPlane.config().current().upstream("openai-" + id) == null));
    // The region keeps publishing: a key created after the swap still reaches the data plane.
    Planes.Key later = planes.createKey(b, "after-swap", null);
    await("a key created after the swap on the data plane")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100))
        .until(() -> dp.dataPlane.config().current().key(UUID.fromString(later.id())) != null);
    int received = openAi.received().size();
    List<String> answers = new ArrayList<>();
    int served = 0;
    for (var via :
        List.of(
            Map.entry("via-a1", keyA),
            Map.entry("via-a2", keyA),
            Map.entry("via-a3", keyA),
            Map.entry("via-b1", keyB))) {
      Answer r = chat(dp, via.getValue().secret(), via.getKey());
      answers.add(via.getKey() + " -> " + r.statusCode());
      if (r.statusCode() / 100 == 2) {
        served++;
      }
    }
    int upstreamCalls = openAi.received().size() - received;
    // The rest of the snapshot is intact: b's own credential still serves.
    Answer untouched = chat(dp, keyB.secret(), "smart");
    String logText = logs.text();
    long refusedLog =
        List.of(a1, a2, a3, b1).stream()
            .filter(
                id ->
                    logText
                        .lines()
                        .anyMatch(l -> l.contains("leaving out a provider key") && l.contains(id)))
            .count();
    Evidence.figure(
        "Moved provider-key ciphertext",
        "4/4 rows left out of the snapshot (2 swapped within a tenant, 2 across tenants; "
            + refusedLog
            + "/4 named in the control plane's 'leaving out a provider key' errors), "
            + served
            + " requests served, "
            + upstreamCalls
            + " upstream calls ("
            + String.join(", ", answers)
            + "); untouched credential -> "
            + untouched.statusCode()
            + "; the region kept publishing (a later key arrived)",
        "0 served, 0 upstream calls",
        served == 0 && upstreamCalls == 0);
    assertThat(served).as(answers.toString()).isZero();
    assertThat(upstreamCalls).isZero();
    assertThat(refusedLog).isEqualTo(4);
    assertThat(untouched.statusCode()).as(untouched.body()).isEqualTo(200);
  }

  private void startDataPlane() {
    Planes.Registration reg = planes.register("dp-keys");
    dp = planes.startDataPlane(reg, planes.newDir("dp"), reg.token());
    Planes.Key last = apiKeys.isEmpty() ? planes.createKey(a, "dp", null) : apiKeys.getLast();
    await("the data plane has its snapshot")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(100))
        .until(
            () ->
                dp.dataPlane.config().current() != null
                    && dp.dataPlane.config().current().key(UUID.fromString(last.id())) != null);
  }

  /** Wraps the snapshot's key map (a private field) with one that counts lookups. */
  @SuppressWarnings("unchecked")
  private static void countLookups(RuntimeConfig snapshot, AtomicLong lookups) throws Exception {
    Field f = RuntimeConfig.class.getDeclaredField("keys");
    f.setAccessible(true);
    Map<UUID, KeyConfig> real = (Map<UUID, KeyConfig>) f.get(snapshot);
    f.set(
        snapshot,
        new AbstractMap<UUID, KeyConfig>() {
          @Override
          public KeyConfig get(Object key) {
            lookups.incrementAndGet();
            return real.get(key);
          }

          @Override
          public boolean containsKey(Object key) {
            lookups.incrementAndGet();
            return real.containsKey(key);
          }

          @Override
          public Set<Entry<UUID, KeyConfig>> entrySet() {
            return real.entrySet();
          }
        });
  }

  /** Swaps the sealed secret (wrapped data key and ciphertext) of two provider-key rows. */
  private static void swap(Connection c, String x, String y) throws Exception {
    c.setAutoCommit(false);
    try (Statement st = c.createStatement()) {
      st.executeUpdate(
          "update provider_keys p set wrapped_data_key = q.wrapped_data_key,"
              + " secret_ciphertext = q.secret_ciphertext, master_key_id = q.master_key_id"
              + " from provider_keys q where (p.id, q.id) in (('"
              + x
              + "'::uuid, '"
              + y
              + "'::uuid), ('"
              + y
              + "'::uuid, '"
              + x
              + "'::uuid))");
    }
    c.commit();
    c.setAutoCommit(true);
  }

  private String createProviderKey(Planes.Tenant t, String name, String secret) {
    Rest.Response r =
        planes
            .rest()
            .post(
                t.path() + "/provider-keys",
                planes.adminKey(),
                Rest.json(
                    Map.of(
                        "provider",
                        "openai",
                        "name",
                        name,
                        "secret",
                        secret,
                        "base_url",
                        openAi.baseUrl())));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r.text("provider_key_id");
  }

  private void route(Planes.Tenant t, String alias, String providerKeyId) {
    Rest.Response r =
        planes
            .rest()
            .post(
                t.path() + "/routes",
                planes.adminKey(),
                Rest.json(
                    Map.of(
                        "alias",
                        alias,
                        "targets",
                        List.of(
                            Map.of(
                                "model",
                                "openai/gpt-4o-mini",
                                "provider_key_id",
                                providerKeyId,
                                "weight",
                                1)))));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
  }

  /** A chat completion on the data plane: status and body. */
  record Answer(int statusCode, String body) {}

  private Answer chat(ManagedDataPlane d, String key, String model) {
    WebClient client = dataPlaneClient;
    if (client == null || !client.uri().toString().startsWith(d.url())) {
      client = WebClient.builder(d.url()).responseTimeout(Duration.ofSeconds(30)).build();
      dataPlaneClient = client;
    }
    AggregatedHttpResponse r =
        client
            .execute(
                RequestHeaders.builder(HttpMethod.POST, "/v1/chat/completions")
                    .contentType(MediaType.JSON)
                    .add("authorization", "Bearer " + key)
                    .build(),
                HttpData.ofUtf8(
                    "{\"model\":\""
                        + model
                        + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
            .aggregate()
            .join();
    return new Answer(r.status().code(), r.contentUtf8());
  }

  /**
   * {@code n} keys, each one of the issued keys with one character of its key id, secret or
   * checksum replaced by another base62 character: well-formed in length and alphabet, and refused
   * by the checksum (CRC-32 detects every single-character change).
   */
  private List<String> corrupted(int n) {
    List<String> out = new ArrayList<>(n);
    int start = ApiKeys.PREFIX.length();
    while (out.size() < n) {
      String key = apiKeys.get(out.size() % apiKeys.size()).secret();
      int pos = start + random.nextInt(key.length() - start);
      if (key.charAt(pos) == '.') {
        continue;
      }
      char c;
      do {
        c = BASE62.charAt(random.nextInt(BASE62.length()));
      } while (c == key.charAt(pos));
      String bad = key.substring(0, pos) + c + key.substring(pos + 1);
      assertThat(ApiKeys.parse(bad)).as("corrupted key passes the checksum").isNull();
      out.add(bad);
    }
    return out;
  }

  private long apiKeyScans() throws Exception {
    try (Connection c = planes.jdbc();
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "select coalesce(seq_scan, 0) + coalesce(idx_scan, 0) from pg_stat_user_tables"
                    + " where relname = 'api_keys'")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** The scan count once it has not moved for 1.5 s (backends flush statistics when idle). */
  private long settledApiKeyScans() throws Exception {
    AtomicLong last = new AtomicLong(apiKeyScans());
    await("api_keys scan count unchanged for 1.5 s")
        .during(Duration.ofMillis(1_500))
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(250))
        .until(() -> last.getAndSet(apiKeyScans()) == last.get());
    return last.get();
  }

  private long xactCommit() throws Exception {
    try (Connection c = planes.jdbc();
        Statement st = c.createStatement();
        ResultSet rs =
            st.executeQuery(
                "select xact_commit from pg_stat_database where datname = current_database()")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static List<String> forms(String secret) {
    byte[] bytes = secret.getBytes(StandardCharsets.UTF_8);
    return List.of(
        secret,
        HexFormat.of().formatHex(bytes),
        Base64.getEncoder().withoutPadding().encodeToString(bytes));
  }

  private String randomBase62(int n) {
    StringBuilder s = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      s.append(BASE62.charAt(random.nextInt(BASE62.length())));
    }
    return s.toString();
  }

  /** Runs {@code task(0..n-1)} on 8 threads; rethrows the first failure. */
  private static void parallel(int n, ThrowingTask task) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> futures = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        int j = i;
        futures.add(pool.submit(() -> task.run(j)));
      }
      for (Future<?> f : futures) {
        f.get();
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @FunctionalInterface
  interface ThrowingTask {
    Object run(int i) throws Exception;
  }
}
