package io.agentrouter.controlplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.linecorp.armeria.client.grpc.GrpcClients;
import io.agentrouter.controlplane.config.ControlPlaneConfig;
import io.agentrouter.controlplane.crypto.MasterKey;
import io.agentrouter.controlplane.crypto.MasterKeyRotation;
import io.agentrouter.controlplane.keys.Pepper;
import io.agentrouter.controlplane.providerkeys.ProviderKeyCrypto;
import io.agentrouter.controlplane.testing.ControlPlaneExtension;
import io.agentrouter.controlplane.testing.LogCapture;
import io.agentrouter.controlplane.testing.Rest;
import io.agentrouter.controlplane.testing.Rest.Response;
import io.agentrouter.proto.admin.v1.CatalogModel;
import io.agentrouter.proto.admin.v1.CatalogServiceGrpc;
import io.agentrouter.proto.admin.v1.GetModelRequest;
import io.agentrouter.proto.admin.v1.GetProviderKeyRequest;
import io.agentrouter.proto.admin.v1.ModelCapabilities;
import io.agentrouter.proto.admin.v1.ModelPrices;
import io.agentrouter.proto.admin.v1.ProviderKey;
import io.agentrouter.proto.admin.v1.ProviderKeyServiceGrpc;
import io.agentrouter.proto.admin.v1.UpdateModelRequest;
import io.agentrouter.proto.dataplane.v1.ConfigRequest;
import io.agentrouter.proto.dataplane.v1.ConfigResponse;
import io.agentrouter.proto.dataplane.v1.DataplaneSnapshot;
import io.agentrouter.proto.dataplane.v1.DataplaneSyncServiceGrpc;
import io.agentrouter.proto.dataplane.v1.HeartbeatRequest;
import io.agentrouter.proto.dataplane.v1.RegisterRequest;
import io.agentrouter.proto.dataplane.v1.SnapshotKey;
import io.agentrouter.proto.dataplane.v1.SnapshotKeyStatus;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * BYOK, catalog, routes and config sync through the public APIs, with two control planes on one
 * database (the second allows private upstreams) and the generated gRPC stub as a data plane.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConfigSyncIT {
  private static final org.slf4j.Logger logger =
      org.slf4j.LoggerFactory.getLogger(ConfigSyncIT.class);
  static final String OPENAI_SECRET = "sk-proj-UNIQUESECRETvalue0123456789wxyz";
  static final String ANTHROPIC_SECRET = "sk-ant-ANOTHERsecret987654321qrst";
  static final String OTHER_SECRET = "sk-other-TENANTsecret555555mnop";
  static final LogCapture logs = new LogCapture();

  @RegisterExtension static final ControlPlaneExtension cp = new ControlPlaneExtension();

  static ControlPlane cp2;
  static Path cp2Dir;
  static Rest rest;
  static Rest rest2;
  static String admin;
  static String customer;
  static String euProject;
  static String usProject;
  static String otherCustomer;
  static String otherProject;
  static String openaiKeyId;
  static String anthropicKeyId;
  static String otherKeyId;

  @BeforeAll
  static void setUp() throws Exception {
    rest = cp.rest();
    admin = cp.adminKey();
    String masterKey = Files.readString(cp.dataDir().resolve("master.key")).strip();
    cp2Dir = Files.createTempDirectory("agentrouter-cp2-test");
    cp2 =
        ControlPlane.start(
            new ControlPlaneConfig(
                0,
                cp2Dir,
                cp.jdbcUrl(),
                null,
                null,
                masterKey,
                List.of(),
                null,
                ControlPlaneConfig.DEFAULT_JWT_ISSUER,
                true),
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    rest2 = new Rest(cp2.baseUrl());

    customer = ok(rest.post("/v1/customers", admin, "{\"name\":\"Acme\"}")).text("customer_id");
    euProject = project(customer, "eu", "eu-west-1");
    usProject = project(customer, "us", "us-east-1");
    otherCustomer =
        ok(rest.post("/v1/customers", admin, "{\"name\":\"Other\"}")).text("customer_id");
    otherProject = project(otherCustomer, "o", "eu-west-1");
    openaiKeyId =
        providerKey(customer, euProject, "openai", OPENAI_SECRET, "").text("provider_key_id");
    anthropicKeyId =
        providerKey(customer, euProject, "anthropic", ANTHROPIC_SECRET, "").text("provider_key_id");
    otherKeyId =
        providerKey(otherCustomer, otherProject, "openai", OTHER_SECRET, "")
            .text("provider_key_id");
  }

  @AfterAll
  static void tearDown() {
    if (cp2 != null) {
      cp2.close();
    }
  }

  static String project(String customerId, String name, String region) {
    return ok(rest.post(
            "/v1/customers/" + customerId + "/projects",
            admin,
            Rest.json(Map.of("name", name, "region", region))))
        .text("project_id");
  }

  static Response providerKey(
      String customerId, String projectId, String provider, String secret, String baseUrl) {
    return ok(
        rest.post(
            path(customerId, projectId) + "/provider-keys",
            admin,
            Rest.json(
                Map.of(
                    "provider",
                    provider,
                    "name",
                    provider + " key",
                    "secret",
                    secret,
                    "base_url",
                    baseUrl))));
  }

  static String path(String customerId, String projectId) {
    return "/v1/customers/" + customerId + "/projects/" + projectId;
  }

  static Response ok(Response r) {
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r;
  }

  @Test
  @Order(1)
  void providerSecretsAreWriteOnly() throws Exception {
    Response list = ok(rest.get(path(customer, euProject) + "/provider-keys", admin));
    assertThat(list.json().path("provider_keys")).hasSize(2);
    assertThat(list.body()).doesNotContain(OPENAI_SECRET).doesNotContain(ANTHROPIC_SECRET);
    JsonNode first = list.json().path("provider_keys").get(0);
    assertThat(first.path("last_four").asText()).isEqualTo("wxyz");
    assertThat(first.has("secret")).isFalse();
    Response get = ok(rest.get(path(customer, euProject) + "/provider-keys/" + openaiKeyId, admin));
    assertThat(get.body()).doesNotContain(OPENAI_SECRET);
    ProviderKey viaGrpc =
        cp.grpc(ProviderKeyServiceGrpc.ProviderKeyServiceBlockingStub.class, admin)
            .getProviderKey(
                GetProviderKeyRequest.newBuilder()
                    .setCustomerId(customer)
                    .setProjectId(euProject)
                    .setProviderKeyId(openaiKeyId)
                    .build());
    assertThat(viaGrpc.toString()).doesNotContain(OPENAI_SECRET);
    assertThat(viaGrpc.getLastFour()).isEqualTo("wxyz");
    // A foreign tenant's key is 404 through another project.
    assertThat(rest.get(path(customer, euProject) + "/provider-keys/" + otherKeyId, admin).status())
        .isEqualTo(404);

    String dump = dumpAllTables();
    assertThat(dump).contains(openaiKeyId);
    for (String secret : List.of(OPENAI_SECRET, ANTHROPIC_SECRET, OTHER_SECRET)) {
      assertThat(dump).doesNotContain(secret);
      assertThat(dump).doesNotContain(secret.substring(4, 20));
    }
    assertThat(logs.text()).doesNotContain(OPENAI_SECRET).doesNotContain(ANTHROPIC_SECRET);
  }

  @Test
  @Order(2)
  void ciphertextMovedToAnotherRowOrTenantDoesNotDecrypt() throws Exception {
    MasterKey master = MasterKey.load(null, cp.dataDir(), new SecureRandom());
    ProviderKeyCrypto crypto = new ProviderKeyCrypto(master, new SecureRandom());
    var mine = sealed(openaiKeyId);
    var sibling = sealed(anthropicKeyId);
    var foreign = sealed(otherKeyId);
    UUID c = UUID.fromString(customer);
    UUID p = UUID.fromString(euProject);
    assertThat(crypto.open(c, p, UUID.fromString(openaiKeyId), mine)).isEqualTo(OPENAI_SECRET);
    // Same tenant, another row.
    assertThatThrownBy(() -> crypto.open(c, p, UUID.fromString(openaiKeyId), sibling))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageNotContaining(ANTHROPIC_SECRET);
    // Another tenant's ciphertext under my row, and my ciphertext claimed by the other tenant.
    assertThatThrownBy(() -> crypto.open(c, p, UUID.fromString(openaiKeyId), foreign))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(
            () ->
                crypto.open(
                    UUID.fromString(otherCustomer),
                    UUID.fromString(otherProject),
                    UUID.fromString(openaiKeyId),
                    mine))
        .isInstanceOf(IllegalStateException.class);
    // Only the secret column swapped (data key left in place): still refused.
    var spliced =
        new ProviderKeyCrypto.Sealed(
            mine.masterKeyId(), mine.wrappedDataKey(), sibling.secretCiphertext());
    assertThatThrownBy(() -> crypto.open(c, p, UUID.fromString(openaiKeyId), spliced))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  @Order(3)
  void ssrfVectorsAreRefusedWhenSaved() {
    List<String> metadata =
        List.of(
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://metadata.google.internal./",
            "http://metadata/",
            "http://100.100.100.200/",
            "http://169.254.170.2/v2/credentials",
            "http://[::ffff:169.254.169.254]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:a9fe:a9fe::]/",
            "http://2852039166/",
            "http://0xa9fea9fe/",
            "http://0251.0376.0251.0376/",
            "http://0xa9.0xfe.0xa9.0xfe/",
            "http://169.254.43518/",
            "http://[fe80::1]/",
            "http://0.0.0.0/",
            "http://[::]/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "ftp://8.8.8.8/",
            "file:///etc/passwd",
            "http://user:pw@8.8.8.8/");
    List<String> privateRanges =
        List.of(
            "http://127.0.0.1:11434/",
            "http://localhost:8000/v1",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::127.0.0.2]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2002:7f00:1::]/",
            "http://10.0.0.1/",
            "http://172.16.0.1/",
            "http://192.168.1.10:8000/",
            "http://100.64.0.1/",
            "http://198.18.0.1/",
            "http://[fc00::1]/",
            "http://[fd12:3456:789a::1]/",
            "http://127.000.000.001/",
            "http://0x7f.1/",
            "http://2130706433/",
            "http://0177.0.0.1/");
    int refused = 0;
    for (String url : concat(metadata, privateRanges)) {
      Response r = attempt(rest, url);
      assertThat(r.status()).as(url + " -> " + r.body()).isEqualTo(400);
      assertThat(r.errorMessage()).as(url).contains("base_url").doesNotContain("pw@");
      refused++;
    }
    logger.info("SSRF: {} base-URL vectors refused at save", refused);
    assertThat(refused).isGreaterThanOrEqualTo(40);

    // The second control plane runs with AGENTROUTER_ALLOW_PRIVATE_UPSTREAMS=true.
    for (String url :
        List.of(
            "http://127.0.0.1:11434/",
            "http://localhost:8000/v1",
            "http://[::1]/",
            "http://10.0.0.1/",
            "http://192.168.1.10:8000/",
            "http://[fd12:3456:789a::1]/")) {
      assertThat(attempt(rest2, url).status()).as(url).isEqualTo(200);
    }
    for (String url : metadata) {
      assertThat(attempt(rest2, url).status()).as(url).isEqualTo(400);
    }
    assertThat(attempt(rest, "https://8.8.8.8/v1").status()).isEqualTo(200);
  }

  private static Response attempt(Rest client, String url) {
    return client.post(
        path(otherCustomer, otherProject) + "/provider-keys",
        admin,
        Rest.json(
            Map.of(
                "provider", "openai_compatible",
                "name", "local",
                "secret", "sk-local-abcdefgh",
                "base_url", url)));
  }

  @Test
  @Order(4)
  void catalogHasDefaultsAndOperatorsUpdateIt() {
    Response all = ok(rest.get("/v1/catalog/models", admin));
    JsonNode models = all.json().path("models");
    assertThat(models.size()).isGreaterThanOrEqualTo(15);
    JsonNode gpt4o = find(models, "openai/gpt-4o");
    assertThat(gpt4o.path("prices").path("input_per_million_tokens_usd").asText()).isEqualTo("2.5");
    assertThat(gpt4o.path("prices").path("output_per_million_tokens_usd").asText()).isEqualTo("10");
    assertThat(gpt4o.path("prices").path("cached_input_per_million_tokens_usd").asText())
        .isEqualTo("1.25");
    assertThat(gpt4o.path("capabilities").path("vision").asBoolean()).isTrue();
    assertThat(find(models, "anthropic/claude-sonnet-4-5")).isNotNull();
    assertThat(find(models, "gemini/gemini-2.5-flash")).isNotNull();
    JsonNode dalle = find(models, "openai/dall-e-3");
    assertThat(dalle.path("prices").path("image_prices").toString()).contains("1792x1024", "hd");
    assertThat(ok(rest.get("/v1/catalog/models?provider=anthropic", admin)).body())
        .doesNotContain("openai/");

    String created =
        ok(rest.post(
                "/v1/catalog/models",
                admin,
                "{\"provider\":\"openai_compatible\",\"name\":\"llama-3.3-70b\",\"capabilities\":{\"chat\":true,\"streaming\":true},"
                    + "\"prices\":{\"input_per_million_tokens_usd\":\"0.59\",\"output_per_million_tokens_usd\":\"0.79\"},\"context_window\":131072}"))
            .text("model_id");
    assertThat(created).isEqualTo("openai_compatible/llama-3.3-70b");
    assertThat(
            rest.post(
                    "/v1/catalog/models",
                    admin,
                    "{\"provider\":\"openai\",\"name\":\"gpt-4o\",\"prices\":{\"input_per_million_tokens_usd\":\"1\"}}")
                .status())
        .isEqualTo(409);
    assertThat(
            rest.post(
                    "/v1/catalog/models",
                    admin,
                    "{\"provider\":\"openai\",\"name\":\"x\",\"prices\":{\"input_per_million_tokens_usd\":\"-1\"}}")
                .errorMessage())
        .contains("-1");
    var catalog = cp.grpc(CatalogServiceGrpc.CatalogServiceBlockingStub.class, admin);
    CatalogModel updated =
        catalog.updateModel(
            UpdateModelRequest.newBuilder()
                .setModelId("openai/gpt-4o")
                .setModel(
                    CatalogModel.newBuilder()
                        .setProvider("openai")
                        .setName("gpt-4o")
                        .setCapabilities(ModelCapabilities.newBuilder().setChat(true))
                        .setPrices(
                            ModelPrices.newBuilder()
                                .setInputPerMillionTokensUsd("2.00")
                                .setOutputPerMillionTokensUsd("8")))
                .build());
    assertThat(updated.getPrices().getInputPerMillionTokensUsd()).isEqualTo("2");
    assertThat(
            catalog
                .getModel(GetModelRequest.newBuilder().setModelId("openai/gpt-4o").build())
                .getPrices()
                .getOutputPerMillionTokensUsd())
        .isEqualTo("8");
  }

  private static JsonNode find(JsonNode models, String id) {
    for (JsonNode m : models) {
      if (m.path("model_id").asText().equals(id)) {
        return m;
      }
    }
    throw new AssertionError(id + " not in catalog: " + models);
  }

  @Test
  @Order(5)
  void routesAreValidated() {
    String routes = path(customer, euProject) + "/routes";
    Response created =
        ok(
            rest.post(
                routes,
                admin,
                "{\"alias\":\"smart\",\"targets\":[{\"model\":\"openai/gpt-4o-mini\",\"weight\":3},"
                    + "{\"model\":\"openai/gpt-4.1-mini\",\"provider_key_id\":\""
                    + openaiKeyId
                    + "\",\"weight\":1}],"
                    + "\"fallbacks\":[{\"model\":\"anthropic/claude-haiku-4-5\"}],"
                    + "\"fallback_on\":[\"rate_limited\",\"server\"]}"));
    assertThat(created.json().path("targets").get(0).path("provider_key_id").asText())
        .isEqualTo(openaiKeyId);
    assertThat(created.json().path("fallbacks").get(0).path("provider_key_id").asText())
        .isEqualTo(anthropicKeyId);
    assertThat(ok(rest.get(routes, admin)).json().path("routes")).hasSize(1);

    Map<String, String> bad =
        Map.of(
            "{\"alias\":\"w0\",\"targets\":[{\"model\":\"openai/gpt-4o\",\"weight\":0}]}",
            "weight",
            "{\"alias\":\"unknown\",\"targets\":[{\"model\":\"openai/gpt-9\",\"weight\":1}]}",
            "openai/gpt-9",
            "{\"alias\":\"foreign\",\"targets\":[{\"model\":\"openai/gpt-4o\",\"weight\":1,\"provider_key_id\":\""
                + otherKeyId
                + "\"}]}",
            otherKeyId,
            "{\"alias\":\"gpt-4o\",\"targets\":[{\"model\":\"openai/gpt-4o\",\"weight\":1}]}",
            "shadows",
            "{\"alias\":\"fb\",\"targets\":[{\"model\":\"openai/gpt-4o\",\"weight\":1}],\"fallback_on\":[\"sometimes\"]}",
            "sometimes",
            "{\"alias\":\"gem\",\"targets\":[{\"model\":\"gemini/gemini-2.5-pro\",\"weight\":1}]}",
            "gemini",
            "{\"alias\":\"none\",\"targets\":[]}",
            "targets");
    bad.forEach(
        (body, expected) -> {
          Response r = rest.post(routes, admin, body);
          assertThat(r.status()).as(body + " -> " + r.body()).isEqualTo(400);
          assertThat(r.errorMessage()).as(body).contains(expected);
        });
    assertThat(
            rest.post(
                    routes,
                    admin,
                    "{\"alias\":\"smart\",\"targets\":[{\"model\":\"openai/gpt-4o\",\"weight\":1}]}")
                .status())
        .isEqualTo(409);
  }

  /** The data plane side of StreamConfig, played by the generated async stub. */
  static final class FakeDataplane implements AutoCloseable {
    final LinkedBlockingQueue<ConfigResponse> responses = new LinkedBlockingQueue<>();
    final StreamObserver<ConfigRequest> requests;
    final String id;

    FakeDataplane(String baseUrl, String credential, String id) {
      this.id = id;
      var stub =
          GrpcClients.builder("gproto+" + baseUrl)
              .addHeader("authorization", "Bearer " + credential)
              .build(DataplaneSyncServiceGrpc.DataplaneSyncServiceStub.class);
      requests =
          stub.streamConfig(
              new StreamObserver<>() {
                @Override
                public void onNext(ConfigResponse value) {
                  responses.add(value);
                }

                @Override
                public void onError(Throwable t) {}

                @Override
                public void onCompleted() {}
              });
      requests.onNext(ConfigRequest.getDefaultInstance());
    }

    ConfigResponse next() throws InterruptedException {
      ConfigResponse r = responses.poll(10, TimeUnit.SECONDS);
      assertThat(r).as("a config response within 10 s").isNotNull();
      return r;
    }

    void ack(ConfigResponse r) {
      requests.onNext(
          ConfigRequest.newBuilder()
              .setVersionInfo(r.getVersion())
              .setResponseNonce(r.getNonce())
              .build());
    }

    void nack(String applied, ConfigResponse r, String why) {
      requests.onNext(
          ConfigRequest.newBuilder()
              .setVersionInfo(applied)
              .setResponseNonce(r.getNonce())
              .setErrorDetail(com.google.rpc.Status.newBuilder().setCode(3).setMessage(why))
              .build());
    }

    @Override
    public void close() {
      requests.onCompleted();
    }
  }

  static FakeDataplane connect(Rest via, String baseUrl, String name, String region) {
    Response reg =
        ok(
            via.post(
                "/v1/dataplanes",
                admin,
                Rest.json(
                    Map.of(
                        "name",
                        name,
                        "region",
                        region,
                        "public_url",
                        "https://" + name + ".example.com"))));
    String id = reg.json().path("dataplane").path("dataplane_id").asText();
    String credential =
        GrpcClients.builder("gproto+" + baseUrl)
            .build(DataplaneSyncServiceGrpc.DataplaneSyncServiceBlockingStub.class)
            .register(
                RegisterRequest.newBuilder()
                    .setRegistrationToken(reg.text("registration_token"))
                    .build())
            .getCredential();
    GrpcClients.builder("gproto+" + baseUrl)
        .addHeader("authorization", "Bearer " + credential)
        .build(DataplaneSyncServiceGrpc.DataplaneSyncServiceBlockingStub.class)
        .heartbeat(HeartbeatRequest.getDefaultInstance());
    return new FakeDataplane(baseUrl, credential, id);
  }

  @Test
  @Order(6)
  void aDataplaneGetsItsRegionAndRevocationsWithinFiveSecondsAcrossReplicas() throws Exception {
    Response k = ok(rest.post(path(customer, euProject) + "/keys", admin, "{\"name\":\"app\"}"));
    String keyId = k.json().path("key").path("key_id").asText();
    ok(rest.post(path(customer, usProject) + "/keys", admin, "{\"name\":\"us-app\"}"));

    // Connected to the second replica; every change below goes through the first.
    try (FakeDataplane dp = connect(rest, cp2.baseUrl(), "dp-eu-1", "eu-west-1")) {
      ConfigResponse first = dp.next();
      DataplaneSnapshot s = first.getSnapshot();
      assertThat(s.getVersion()).isEqualTo(first.getVersion());
      assertThat(s.getDataplaneId()).isEqualTo(dp.id);
      assertThat(s.getProjectsList())
          .extracting(p -> p.getProjectId())
          .containsExactlyInAnyOrder(euProject, otherProject)
          .doesNotContain(usProject);
      assertThat(s.getKeysList()).extracting(SnapshotKey::getKeyId).contains(keyId);
      assertThat(s.getKeysList()).allMatch(x -> !x.getProjectId().equals(usProject));
      assertThat(s.getProviderCredentialsList())
          .extracting(c -> c.getSecret())
          .contains(OPENAI_SECRET, ANTHROPIC_SECRET, OTHER_SECRET);
      assertThat(s.getRoutesList()).extracting(r -> r.getAlias()).contains("smart");
      assertThat(s.getModelsList()).extracting(m -> m.getModelId()).contains("openai/gpt-4o");
      assertThat(s.getSigningKeysList()).isNotEmpty();
      assertThat(s.getApiKeyPepper().size()).isEqualTo(32);
      assertThat(s.getJwtIssuer()).isEqualTo(ControlPlaneConfig.DEFAULT_JWT_ISSUER);
      dp.ack(first);
      await()
          .atMost(Duration.ofSeconds(5))
          .until(
              () ->
                  ok(rest.get("/v1/dataplanes/" + dp.id, admin))
                      .text("acked_config_version")
                      .equals(first.getVersion()));

      long start = System.nanoTime();
      ok(rest.send("DELETE", path(customer, euProject) + "/keys/" + keyId, admin, null));
      ConfigResponse revoked = null;
      while (revoked == null) {
        ConfigResponse r = dp.next();
        boolean gone =
            r.getSnapshot().getKeysList().stream()
                .anyMatch(
                    x ->
                        x.getKeyId().equals(keyId)
                            && x.getStatus() == SnapshotKeyStatus.SNAPSHOT_KEY_STATUS_REVOKED);
        if (gone) {
          revoked = r;
        }
      }
      long millis = (System.nanoTime() - start) / 1_000_000;
      ConfigResponse rev = revoked;
      logger.info("Revocation reached the data plane on the other replica in {} ms", millis);
      assertThat(millis).isLessThan(5_000);
      assertThat(Long.parseUnsignedLong(rev.getVersion()))
          .isGreaterThan(Long.parseUnsignedLong(first.getVersion()));

      // A nack leaves the data plane on its previous version, visibly.
      dp.nack(first.getVersion(), rev, "route 'smart' needs a provider we do not support");
      await()
          .atMost(Duration.ofSeconds(5))
          .untilAsserted(
              () -> {
                Response d = ok(rest.get("/v1/dataplanes/" + dp.id, admin));
                assertThat(d.text("last_nack_version")).isEqualTo(rev.getVersion());
                assertThat(d.text("last_nack_error")).contains("route 'smart'");
                assertThat(d.text("acked_config_version")).isEqualTo(first.getVersion());
              });

      // Changes in another region do not disturb it: the next response is the next real change.
      ok(rest.post(path(customer, usProject) + "/keys", admin, "{\"name\":\"us-2\"}"));
      ok(rest.post(path(customer, euProject) + "/keys", admin, "{\"name\":\"eu-2\"}"));
      ConfigResponse next = dp.next();
      assertThat(next.getSnapshot().getKeysList())
          .extracting(SnapshotKey::getKeyId)
          .hasSize(rev.getSnapshot().getKeysCount() + 1);
    }
  }

  @Test
  @Order(7)
  void dataplanesWithoutARecentHeartbeatGetNoTraffic() {
    JsonNode dps = ok(rest.get("/v1/dataplanes", admin)).json().path("dataplanes");
    assertThat(dps.get(0).path("healthy").asBoolean()).isTrue();
  }

  @Test
  @Order(8)
  void aProjectReachesTheDataPlanesOfItsAllowedRegionsAndNoOthers() throws Exception {
    Response created =
        ok(
            rest.post(
                "/v1/customers/" + customer + "/projects",
                admin,
                Rest.json(
                    Map.of(
                        "name",
                        "roaming",
                        "region",
                        "us-east-1",
                        "allowed_regions",
                        List.of("eu-west-1", "eu-west-1")))));
    String roaming = created.text("project_id");
    assertThat(created.json().path("allowed_regions").toString()).isEqualTo("[\"eu-west-1\"]");
    Response bad =
        rest.send(
            "PATCH",
            path(customer, roaming),
            admin,
            "{\"allowed_regions\":{\"regions\":[\"EU West\"]}}");
    assertThat(bad.status()).isEqualTo(400);
    assertThat(bad.errorMessage()).contains("allowed_regions[0]");

    try (FakeDataplane eu = connect(rest, cp.baseUrl(), "dp-eu-roam", "eu-west-1");
        FakeDataplane ap = connect(rest, cp.baseUrl(), "dp-ap-1", "ap-south-1")) {
      assertThat(eu.next().getSnapshot().getProjectsList())
          .extracting(p -> p.getProjectId())
          .contains(roaming, euProject)
          .doesNotContain(usProject);
      assertThat(ap.next().getSnapshot().getProjectsList())
          .extracting(p -> p.getProjectId())
          .doesNotContain(roaming, euProject, usProject);
      // No data plane in us-east-1: the URL for the project is one of its allowed region.
      Response url = ok(rest.get("/v1/dataplane-url?project_id=" + roaming, admin));
      assertThat(url.json().path("dataplane").path("region").asText()).isEqualTo("eu-west-1");

      // Removing the allowed regions takes the project off eu-west-1's data planes.
      ok(
          rest.send(
              "PATCH", path(customer, roaming), admin, "{\"allowed_regions\":{\"regions\":[]}}"));
      await()
          .atMost(Duration.ofSeconds(5))
          .until(
              () ->
                  eu.next().getSnapshot().getProjectsList().stream()
                      .noneMatch(p -> p.getProjectId().equals(roaming)));
      Response none = rest.get("/v1/dataplane-url?project_id=" + roaming, admin);
      assertThat(none.status()).isEqualTo(503);
      assertThat(none.errorMessage()).contains("us-east-1");
    }
  }

  @Test
  @Order(100)
  void rotationRewrapsEveryRowAndTheOldKeyNoLongerDecrypts() throws Exception {
    SecureRandom random = new SecureRandom();
    MasterKey old = MasterKey.load(null, cp.dataDir(), random);
    byte[] fresh = new byte[32];
    random.nextBytes(fresh);
    MasterKey neu = MasterKey.fromBase64("test", Base64.getEncoder().encodeToString(fresh), random);
    DSLContext dsl = DSL.using(cp.dataSource(), SQLDialect.POSTGRES);
    int providerKeys = dsl.fetchCount(DSL.table("provider_keys"));
    MasterKeyRotation.Result result = MasterKeyRotation.rotate(dsl, old, neu);
    assertThat(result.providerKeys()).isEqualTo(providerKeys);
    assertThat(result.signingKeys()).isGreaterThanOrEqualTo(1);
    assertThat(result.platformSecrets()).isGreaterThanOrEqualTo(1);
    assertThat(
            dsl.fetchCount(
                DSL.table("provider_keys"), DSL.field("master_key_id").ne(DSL.inline(neu.id()))))
        .isZero();

    var row = sealed(openaiKeyId);
    UUID c = UUID.fromString(customer);
    UUID p = UUID.fromString(euProject);
    UUID id = UUID.fromString(openaiKeyId);
    assertThat(new ProviderKeyCrypto(neu, random).open(c, p, id, row)).isEqualTo(OPENAI_SECRET);
    assertThatThrownBy(() -> new ProviderKeyCrypto(old, random).open(c, p, id, row))
        .isInstanceOf(IllegalStateException.class);
    // Even ignoring the recorded key id, the old key cannot unwrap the data key any more.
    var pretending =
        new ProviderKeyCrypto.Sealed(old.id(), row.wrappedDataKey(), row.secretCiphertext());
    assertThatThrownBy(() -> new ProviderKeyCrypto(old, random).open(c, p, id, pretending))
        .isInstanceOf(IllegalStateException.class);
    // The pepper and signing keys load with the new key only.
    assertThat(Pepper.loadOrCreate(dsl, neu, random).bytes()).hasSize(32);
    assertThatThrownBy(() -> Pepper.loadOrCreate(dsl, old, random))
        .isInstanceOf(IllegalStateException.class);
    // A second run with the same pair is refused rather than double-wrapping.
    assertThatThrownBy(() -> MasterKeyRotation.rotate(dsl, old, neu))
        .isInstanceOf(RuntimeException.class);
  }

  @Test
  @Order(Integer.MAX_VALUE) // last: it adds routes that other tests do not expect
  void aRowThatDoesNotDecryptIsLeftOutAndTheRegionStillPublishes() throws Exception {
    String x =
        providerKey(customer, euProject, "openai", "sk-swap-x-0123456789abcdef", "")
            .text("provider_key_id");
    String y =
        providerKey(customer, euProject, "openai", "sk-swap-y-0123456789abcdef", "")
            .text("provider_key_id");
    // Untouched, and sealed by this replica (an earlier test rotates the master key under others).
    String z =
        providerKey(customer, euProject, "openai", "sk-swap-z-0123456789abcdef", "")
            .text("provider_key_id");
    for (var t : List.of(Map.entry("via-x", x), Map.entry("via-y", y), Map.entry("via-z", z))) {
      ok(
          rest.post(
              path(customer, euProject) + "/routes",
              admin,
              Rest.json(
                  Map.of(
                      "alias",
                      t.getKey(),
                      "targets",
                      List.of(
                          Map.of(
                              "model",
                              "openai/gpt-4o",
                              "provider_key_id",
                              t.getValue(),
                              "weight",
                              1))))));
    }
    try (FakeDataplane dp = connect(rest, cp.baseUrl(), "dp-swap", "eu-west-1")) {
      DataplaneSnapshot before = dp.next().getSnapshot();
      assertThat(before.getRoutesList())
          .extracting(r -> r.getAlias())
          .contains("via-x", "via-y", "via-z");
      assertThat(before.getProviderCredentialsList())
          .extracting(c -> c.getProviderKeyId())
          .contains(x, y, z);
      swapSealed(x, y);
      try {
        // Published, not stuck on the last good snapshot: without the two rows and their
        // routes, with everything else.
        DataplaneSnapshot after = dp.next().getSnapshot();
        assertThat(after.getVersion()).isNotEqualTo(before.getVersion());
        assertThat(after.getProviderCredentialsList())
            .extracting(c -> c.getProviderKeyId())
            .doesNotContain(x, y)
            .contains(z);
        assertThat(after.getRoutesList())
            .extracting(r -> r.getAlias())
            .doesNotContain("via-x", "via-y")
            .contains("via-z");
        assertThat(after.getProviderCredentialsList())
            .extracting(c -> c.getSecret())
            .doesNotContain("sk-swap-x-0123456789abcdef", "sk-swap-y-0123456789abcdef");
      } finally {
        swapSealed(x, y);
      }
    }
  }

  /** Swaps the sealed secrets of two provider-key rows, as someone with database access could. */
  static void swapSealed(String x, String y) throws Exception {
    try (Connection c = cp.dataSource().getConnection();
        Statement s = c.createStatement()) {
      s.executeUpdate(
          "update provider_keys p set wrapped_data_key = q.wrapped_data_key,"
              + " secret_ciphertext = q.secret_ciphertext from provider_keys q"
              + " where (p.id, q.id) in (('"
              + UUID.fromString(x)
              + "'::uuid, '"
              + UUID.fromString(y)
              + "'::uuid), ('"
              + UUID.fromString(y)
              + "'::uuid, '"
              + UUID.fromString(x)
              + "'::uuid))");
    }
  }

  static ProviderKeyCrypto.Sealed sealed(String id) throws Exception {
    try (Connection c = cp.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "select master_key_id, wrapped_data_key, secret_ciphertext from provider_keys"
                    + " where id = '"
                    + UUID.fromString(id)
                    + "'")) {
      assertThat(rs.next()).isTrue();
      return new ProviderKeyCrypto.Sealed(rs.getString(1), rs.getBytes(2), rs.getBytes(3));
    }
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  static String dumpAllTables() throws Exception {
    StringBuilder out = new StringBuilder();
    try (Connection c = cp.dataSource().getConnection();
        Statement s = c.createStatement()) {
      List<String> tables = new ArrayList<>();
      try (ResultSet rs =
          s.executeQuery(
              "select table_name from information_schema.tables where table_schema = 'public'")) {
        while (rs.next()) {
          tables.add(rs.getString(1));
        }
      }
      for (String t : tables) {
        try (ResultSet rs = s.executeQuery("select t::text from \"" + t + "\" t")) {
          while (rs.next()) {
            out.append(rs.getString(1)).append('\n');
          }
        }
      }
    }
    return out.toString();
  }
}
