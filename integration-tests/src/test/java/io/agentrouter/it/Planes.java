package io.agentrouter.it;

import static java.util.Objects.requireNonNull;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.agentrouter.controlplane.ControlPlane;
import io.agentrouter.controlplane.config.ControlPlaneConfig;
import io.agentrouter.controlplane.testing.Rest;
import io.agentrouter.controlplane.testing.TestDatabase;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Both planes in one JVM through their real composition roots: a control plane on a fresh database
 * ({@link TestDatabase}: {@code AGENTROUTER_TEST_DB_URL}, else embedded) that can be stopped and
 * started again on the same database, data directory and port, and data planes in managed mode
 * registered over REST with their one-time tokens. Private upstreams are allowed on both planes, as
 * an operator would for on-premises models, because the fake providers listen on 127.0.0.1.
 */
final class Planes implements AutoCloseable {
  static final Logger log = LoggerFactory.getLogger("it");
  static final String REGION = "eu-west";

  private final @Nullable TestDatabase database;
  private final String jdbcUrl;
  private final Path root;
  private final Path controlPlaneDir;
  private final List<ManagedDataPlane> dataPlanes = new ArrayList<>();
  private @Nullable ControlPlane controlPlane;
  private int port;
  private final String adminKey;
  private final boolean allowPrivateUpstreams;

  private Planes(@Nullable TestDatabase database, String jdbcUrl, boolean allowPrivateUpstreams)
      throws Exception {
    this.database = database;
    this.jdbcUrl = requireNonNull(jdbcUrl, "jdbcUrl");
    this.allowPrivateUpstreams = allowPrivateUpstreams;
    root = Files.createTempDirectory("agentrouter-it");
    controlPlaneDir = Files.createDirectories(root.resolve("cp"));
    startControlPlane();
    adminKey = SecretWatch.secret(Files.readString(controlPlaneDir.resolve("admin.key")).strip());
  }

  static Planes start() throws Exception {
    return onFreshDatabase(true);
  }

  /**
   * A control plane as deployed by default, refusing loopback and private base URLs when provider
   * keys are saved (for the SSRF checks; data planes of this fixture would not reach the fakes).
   */
  static Planes startWithoutPrivateUpstreams() throws Exception {
    return onFreshDatabase(false);
  }

  private static Planes onFreshDatabase(boolean allowPrivateUpstreams) throws Exception {
    TestDatabase db = TestDatabase.create();
    try {
      return new Planes(db, db.jdbcUrl(), allowPrivateUpstreams);
    } catch (Exception | Error e) {
      db.close();
      throw e;
    }
  }

  /**
   * On a database the caller owns (and may stop and start, e.g. an embedded PostgreSQL of its own):
   * nothing is created or dropped there beyond what the control plane migrates.
   */
  static Planes start(String jdbcUrl) throws Exception {
    return new Planes(null, jdbcUrl, true);
  }

  /** Starts the control plane; after the first start on the same port as before. */
  void startControlPlane() {
    if (controlPlane != null) {
      throw new IllegalStateException("control plane already running");
    }
    // The port may still be held for a moment by the server just stopped.
    await("control plane bound to port " + port)
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(200))
        .ignoreExceptions()
        .until(
            () -> {
              controlPlane =
                  ControlPlane.start(
                      new ControlPlaneConfig(
                          port,
                          controlPlaneDir,
                          jdbcUrl,
                          null,
                          null,
                          null,
                          List.of(),
                          null,
                          ControlPlaneConfig.DEFAULT_JWT_ISSUER,
                          allowPrivateUpstreams),
                      new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
              return true;
            });
    port = requireNonNull(controlPlane).port();
  }

  /**
   * A second control-plane replica on the same database and master key, with its own data dir and
   * port, as a second pod behind one URL would be. The caller closes it.
   */
  ControlPlane startReplica() throws Exception {
    Path dir = newDir("cp-replica");
    String masterKey = Files.readString(controlPlaneDir.resolve("master.key")).strip();
    return ControlPlane.start(
        new ControlPlaneConfig(
            0,
            dir,
            jdbcUrl,
            null,
            null,
            masterKey,
            List.of(),
            null,
            ControlPlaneConfig.DEFAULT_JWT_ISSUER,
            true),
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
  }

  /** Starts a data plane in managed mode that knows every control-plane URL in {@code urls}. */
  ManagedDataPlane startDataPlane(
      Registration reg, Path dataDir, @Nullable String token, List<String> urls) {
    ManagedDataPlane dp = ManagedDataPlane.start(urls, dataDir, token, reg.port());
    dataPlanes.add(dp);
    return dp;
  }

  /** Stops the control plane's server and everything it holds (the database stays). */
  void stopControlPlane() {
    if (controlPlane != null) {
      controlPlane.close();
      controlPlane = null;
    }
  }

  ControlPlane controlPlane() {
    return requireNonNull(controlPlane, "control plane not running");
  }

  String controlPlaneUrl() {
    return "http://127.0.0.1:" + port;
  }

  Rest rest() {
    return new Rest(controlPlaneUrl());
  }

  String adminKey() {
    return adminKey;
  }

  /** An open JDBC connection to the control plane's database, for counting what it stored. */
  Connection jdbc() throws SQLException {
    return DriverManager.getConnection(jdbcUrl);
  }

  /** A new directory under this fixture's root. */
  Path newDir(String name) {
    try {
      return Files.createTempDirectory(root, name);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A registered data plane: its id, one-time token and the port it will listen on. */
  record Registration(String id, String token, int port) {}

  /** Registers a data plane over REST (operator), for the port it will listen on. */
  Registration register(String name) {
    return register(name, 1);
  }

  /** Registers a data plane whose token {@code instances} instances may use. */
  Registration register(String name, int instances) {
    int p = freePort();
    Rest.Response r =
        rest()
            .post(
                "/v1/dataplanes",
                adminKey,
                Rest.json(
                    Map.of(
                        "name", name,
                        "region", REGION,
                        "public_url", "http://127.0.0.1:" + p,
                        "max_instances", instances)));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return new Registration(
        r.json().path("dataplane").path("dataplane_id").asText(),
        r.json().path("registration_token").asText(),
        p);
  }

  /** Starts a data plane in managed mode on its registered port. */
  ManagedDataPlane startDataPlane(Registration reg, Path dataDir, @Nullable String token) {
    ManagedDataPlane dp = ManagedDataPlane.start(controlPlaneUrl(), dataDir, token, reg.port());
    dataPlanes.add(dp);
    return dp;
  }

  /** A customer, a project in {@link #REGION}, a BYOK provider key at {@code baseUrl}, a route. */
  record Tenant(String customerId, String projectId, String providerKeyId) {
    String path() {
      return "/v1/customers/" + customerId + "/projects/" + projectId;
    }
  }

  Tenant tenant(String name, String openAiBaseUrl, String alias, String model) {
    Rest rest = rest();
    Rest.Response c = rest.post("/v1/customers", adminKey, Rest.json(Map.of("name", name)));
    assertThat(c.status()).as(c.body()).isEqualTo(200);
    String customer = c.text("customer_id");
    Rest.Response p =
        rest.post(
            "/v1/customers/" + customer + "/projects",
            adminKey,
            Rest.json(Map.of("name", "web", "region", REGION, "default_model", model)));
    assertThat(p.status()).as(p.body()).isEqualTo(200);
    String project = p.text("project_id");
    String path = "/v1/customers/" + customer + "/projects/" + project;
    Rest.Response pk =
        rest.post(
            path + "/provider-keys",
            adminKey,
            Rest.json(
                Map.of(
                    "provider",
                    "openai",
                    "name",
                    "fake openai",
                    "secret",
                    SecretWatch.secret("sk-upstream-" + name),
                    "base_url",
                    openAiBaseUrl)));
    assertThat(pk.status()).as(pk.body()).isEqualTo(200);
    String providerKey = pk.text("provider_key_id");
    Rest.Response route =
        rest.post(
            path + "/routes",
            adminKey,
            Rest.json(
                Map.of(
                    "alias",
                    alias,
                    "targets",
                    List.of(Map.of("model", model, "provider_key_id", providerKey, "weight", 1)))));
    assertThat(route.status()).as(route.body()).isEqualTo(200);
    return new Tenant(customer, project, providerKey);
  }

  /** An API key of the tenant's project: its id and its secret (shown once). */
  record Key(String id, String secret) {}

  Key createKey(Tenant t, String name, @Nullable String monthlyBudgetUsd) {
    Map<String, Object> body =
        monthlyBudgetUsd == null
            ? Map.of("name", name)
            : Map.of("name", name, "monthly_budget_usd", monthlyBudgetUsd);
    Rest.Response r = rest().post(t.path() + "/keys", adminKey, Rest.json(body));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return new Key(
        r.json().path("key").path("key_id").asText(), SecretWatch.secret(r.text("secret")));
  }

  void revokeKey(Tenant t, Key k) {
    Rest.Response r = rest().send("DELETE", t.path() + "/keys/" + k.id(), adminKey, null);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
  }

  JsonNode dataplane(String id) {
    Rest.Response r = rest().get("/v1/dataplanes/" + id, adminKey);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r.json();
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() throws Exception {
    for (ManagedDataPlane dp : dataPlanes) {
      try {
        dp.close();
      } catch (RuntimeException e) {
        log.warn("it: data plane did not close cleanly", e);
      }
    }
    stopControlPlane();
    if (database != null) {
      database.close();
    }
    try (Stream<Path> files = Files.walk(root)) {
      files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }
}
