package io.agentrouter.controlplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.agentrouter.common.jwt.MpJwt;
import io.agentrouter.common.keys.ApiKeys;
import io.agentrouter.controlplane.testing.ControlPlaneExtension;
import io.agentrouter.controlplane.testing.CrossTenantMatrix;
import io.agentrouter.controlplane.testing.LogCapture;
import io.agentrouter.controlplane.testing.Rest;
import io.agentrouter.controlplane.testing.Rest.Response;
import io.agentrouter.proto.admin.v1.CreateCustomerRequest;
import io.agentrouter.proto.admin.v1.CreateKeyRequest;
import io.agentrouter.proto.admin.v1.CreateKeyResponse;
import io.agentrouter.proto.admin.v1.CreateProjectRequest;
import io.agentrouter.proto.admin.v1.CustomerServiceGrpc;
import io.agentrouter.proto.admin.v1.GetCustomerRequest;
import io.agentrouter.proto.admin.v1.GetKeyRequest;
import io.agentrouter.proto.admin.v1.IdentityServiceGrpc;
import io.agentrouter.proto.admin.v1.KeyLimits;
import io.agentrouter.proto.admin.v1.KeyServiceGrpc;
import io.agentrouter.proto.admin.v1.ProjectServiceGrpc;
import io.agentrouter.proto.admin.v1.WhoAmIRequest;
import io.agentrouter.proto.admin.v1.WhoAmIResponse;
import io.agentrouter.proto.dataplane.v1.DataplaneSyncServiceGrpc;
import io.agentrouter.proto.dataplane.v1.HeartbeatRequest;
import io.agentrouter.proto.dataplane.v1.HeartbeatResponse;
import io.agentrouter.proto.dataplane.v1.RegisterRequest;
import io.agentrouter.proto.dataplane.v1.RegisterResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.net.URI;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The control plane end to end, through REST and the generated gRPC stubs, against a real
 * PostgreSQL and a real OIDC server. Two tenants: Alice owns customer A (projects A1 in eu-west-1,
 * A2 in us-east-1), Bob owns customer B (project B1 in eu-west-1).
 */
class ControlPlaneIT {
  private static final org.slf4j.Logger logger =
      org.slf4j.LoggerFactory.getLogger(ControlPlaneIT.class);
  static final MockOAuth2Server oauth = startOAuth();
  static final LogCapture logs = new LogCapture();

  @RegisterExtension
  static final ControlPlaneExtension cp = new ControlPlaneExtension(() -> List.of(issuer()));

  static String admin;
  static String alice;
  static String bob;
  static String customerA;
  static String projectA1;
  static String projectA2;
  static String keyA;
  static String keyAId;
  static String customerB;
  static String projectB1;
  static String keyB;
  static String keyBId;
  static String bobPrincipal;
  static Rest rest;

  static MockOAuth2Server startOAuth() {
    MockOAuth2Server s = new MockOAuth2Server();
    s.start();
    return s;
  }

  static URI issuer() {
    return URI.create(stripSlash(oauth.issuerUrl("default").toString()));
  }

  static String stripSlash(String s) {
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }

  static String oidc(String subject) {
    return oauth
        .issueToken(
            "default", subject, "agentrouter", Map.of("email", subject + "@example.com"), 3600)
        .serialize();
  }

  @BeforeAll
  static void tenants() {
    rest = cp.rest();
    admin = cp.adminKey();
    alice = oidc("alice");
    bob = oidc("bob");

    // Alice: through REST.
    customerA =
        ok(rest.post("/v1/customers", alice, "{\"name\":\"Alice Corp\"}")).text("customer_id");
    projectA1 =
        ok(rest.post(
                "/v1/customers/" + customerA + "/projects",
                alice,
                "{\"name\":\"a1\",\"region\":\"eu-west-1\",\"default_model\":\"openai/gpt-4o\"}"))
            .text("project_id");
    projectA2 =
        ok(rest.post(
                "/v1/customers/" + customerA + "/projects",
                alice,
                "{\"name\":\"a2\",\"region\":\"us-east-1\"}"))
            .text("project_id");
    Response k =
        ok(
            rest.post(
                "/v1/customers/" + customerA + "/projects/" + projectA1 + "/keys",
                alice,
                "{\"name\":\"a1 key\",\"limits\":{\"requests_per_minute\":60,\"tokens_per_minute\":\"100000\",\"max_concurrent_requests\":4},"
                    + "\"monthly_budget_usd\":\"25.50\",\"allowed_models\":[\"openai/gpt-4o\",\"claude-sonnet-4-6\"]}"));
    keyA = k.text("secret");
    keyAId = k.json().path("key").path("key_id").asText();

    // Bob: through the generated gRPC stubs.
    var customers = cp.grpc(CustomerServiceGrpc.CustomerServiceBlockingStub.class, bob);
    customerB =
        customers
            .createCustomer(CreateCustomerRequest.newBuilder().setName("Bob Ltd").build())
            .getCustomerId();
    projectB1 =
        cp.grpc(ProjectServiceGrpc.ProjectServiceBlockingStub.class, bob)
            .createProject(
                CreateProjectRequest.newBuilder()
                    .setCustomerId(customerB)
                    .setName("b1")
                    .setRegion("eu-west-1")
                    .build())
            .getProjectId();
    CreateKeyResponse kb =
        cp.grpc(KeyServiceGrpc.KeyServiceBlockingStub.class, bob)
            .createKey(
                CreateKeyRequest.newBuilder()
                    .setCustomerId(customerB)
                    .setProjectId(projectB1)
                    .setName("b1 key")
                    .setLimits(KeyLimits.newBuilder().setRequestsPerMinute(10))
                    .build());
    keyB = kb.getSecret();
    keyBId = kb.getKey().getKeyId();
    bobPrincipal =
        cp.grpc(IdentityServiceGrpc.IdentityServiceBlockingStub.class, bob)
            .whoAmI(WhoAmIRequest.getDefaultInstance())
            .getPrincipal()
            .getPrincipalId();
  }

  @AfterAll
  static void stopOAuth() {
    oauth.shutdown();
    logs.close();
  }

  static Response ok(Response r) {
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r;
  }

  @Test
  void createdObjectsAreVisibleThroughMe() {
    JsonNode me = ok(rest.get("/v1/me", alice)).json();
    assertThat(me.path("principal").path("kind").asText()).isEqualTo("PRINCIPAL_KIND_USER");
    assertThat(me.path("principal").path("display_name").asText()).isEqualTo("alice@example.com");
    assertThat(me.path("principal").path("oidc_issuer").asText()).isEqualTo(issuer().toString());
    assertThat(me.path("credential").path("kind").asText()).isEqualTo("CREDENTIAL_KIND_OIDC_TOKEN");
    assertThat(me.path("memberships")).hasSize(1);
    assertThat(me.path("memberships").get(0).path("role").asText()).isEqualTo("ROLE_OWNER");
    assertThat(me.path("default_customer_id").asText()).isEqualTo(customerA);
    assertThat(me.path("default_project_id").asText()).isEqualTo(projectA1);

    JsonNode viaKey = ok(rest.get("/v1/me", keyA)).json();
    assertThat(viaKey.path("credential").path("kind").asText())
        .isEqualTo("CREDENTIAL_KIND_API_KEY");
    assertThat(viaKey.path("credential").path("key_id").asText()).isEqualTo(keyAId);
    assertThat(viaKey.path("credential").path("project_id").asText()).isEqualTo(projectA1);
    assertThat(viaKey.path("principal").path("principal_id").asText())
        .isEqualTo(me.path("principal").path("principal_id").asText());
    assertThat(viaKey.path("default_project_id").asText()).isEqualTo(projectA1);

    JsonNode key =
        ok(rest.get(
                "/v1/customers/" + customerA + "/projects/" + projectA1 + "/keys/" + keyAId, alice))
            .json();
    assertThat(key.path("limits").path("requests_per_minute").asInt()).isEqualTo(60);
    assertThat(key.path("limits").path("tokens_per_minute").asText()).isEqualTo("100000");
    assertThat(key.path("monthly_budget_usd").asText()).isEqualTo("25.5");
    assertThat(key.path("allowed_models")).hasSize(2);
    assertThat(key.path("status").asText()).isEqualTo("KEY_STATUS_ACTIVE");
    assertThat(key.path("last_four").asText()).isEqualTo(keyA.substring(keyA.length() - 4));

    // PATCH changes only the fields sent.
    JsonNode patched =
        ok(rest.send(
                "PATCH",
                "/v1/customers/" + customerA + "/projects/" + projectA2,
                alice,
                "{\"default_model\":\"claude-sonnet-4-6\"}"))
            .json();
    assertThat(patched.path("default_model").asText()).isEqualTo("claude-sonnet-4-6");
    assertThat(patched.path("name").asText()).isEqualTo("a2");
    assertThat(patched.path("region").asText()).isEqualTo("us-east-1");

    JsonNode projects = ok(rest.get("/v1/customers/" + customerA + "/projects", alice)).json();
    assertThat(projects.path("projects")).hasSize(2);
    // A key bound to A1 sees only A1.
    JsonNode scoped = ok(rest.get("/v1/customers/" + customerA + "/projects", keyA)).json();
    assertThat(scoped.path("projects")).hasSize(1);
    assertThat(ok(rest.get("/v1/customers", alice)).json().path("customers")).hasSize(1);
    assertThat(ok(rest.get("/v1/customers", admin)).json().path("customers").size())
        .isGreaterThanOrEqualTo(2);
  }

  @Test
  void grpcStubsAuthenticateAndMapErrors() {
    WhoAmIResponse me =
        cp.grpc(IdentityServiceGrpc.IdentityServiceBlockingStub.class, keyB)
            .whoAmI(WhoAmIRequest.getDefaultInstance());
    assertThat(me.getDefaultCustomerId()).isEqualTo(customerB);
    assertThat(me.getCredential().getProjectId()).isEqualTo(projectB1);

    var keys = cp.grpc(KeyServiceGrpc.KeyServiceBlockingStub.class, bob);
    var got =
        keys.getKey(
            GetKeyRequest.newBuilder()
                .setCustomerId(customerB)
                .setProjectId(projectB1)
                .setKeyId(keyBId)
                .build());
    assertThat(got.getName()).isEqualTo("b1 key");
    assertThat(got.toString()).doesNotContain(keyB.substring(29));

    var foreign = cp.grpc(CustomerServiceGrpc.CustomerServiceBlockingStub.class, bob);
    assertThatThrownBy(
            () ->
                foreign.getCustomer(
                    GetCustomerRequest.newBuilder().setCustomerId(customerA).build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND));
    assertThatThrownBy(
            () ->
                foreign.getCustomer(GetCustomerRequest.newBuilder().setCustomerId("nope").build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
              com.google.rpc.Status details = StatusProto.fromThrowable(e);
              assertThat(details).isNotNull();
              assertThat(details.getDetailsList())
                  .anySatisfy(a -> assertThat(a.is(com.google.rpc.BadRequest.class)).isTrue());
            });
    var anonymous = cp.grpc(IdentityServiceGrpc.IdentityServiceBlockingStub.class, null);
    assertThatThrownBy(() -> anonymous.whoAmI(WhoAmIRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
  }

  @Test
  void defaultsComeFromTheOldestMembership() {
    String carol = oidc("carol");
    String dave = oidc("dave");
    String carolId =
        ok(rest.get("/v1/me", carol)).json().path("principal").path("principal_id").asText();
    ok(rest.get("/v1/me", dave));
    // Carol: customer B first (customer level), project A2 later.
    ok(
        rest.post(
            "/v1/customers/" + customerB + "/members",
            bob,
            "{\"principal_id\":\"" + carolId + "\",\"role\":\"ROLE_MEMBER\"}"));
    ok(
        rest.post(
            "/v1/customers/" + customerA + "/projects/" + projectA2 + "/members",
            alice,
            "{\"oidc_issuer\":\""
                + issuer()
                + "\",\"oidc_subject\":\"carol\",\"role\":\"ROLE_MEMBER\"}"));
    // Dave: the other way round.
    ok(
        rest.post(
            "/v1/customers/" + customerA + "/projects/" + projectA2 + "/members",
            alice,
            "{\"oidc_issuer\":\""
                + issuer()
                + "\",\"oidc_subject\":\"dave\",\"role\":\"ROLE_MEMBER\"}"));
    ok(
        rest.post(
            "/v1/customers/" + customerB + "/members",
            bob,
            "{\"oidc_issuer\":\""
                + issuer()
                + "\",\"oidc_subject\":\"dave\",\"role\":\"ROLE_VIEWER\"}"));

    JsonNode c = ok(rest.get("/v1/me", carol)).json();
    assertThat(c.path("memberships")).hasSize(2);
    assertThat(c.path("default_customer_id").asText()).isEqualTo(customerB);
    assertThat(c.path("default_project_id").asText()).isEqualTo(projectB1);
    JsonNode d = ok(rest.get("/v1/me", dave)).json();
    assertThat(d.path("default_customer_id").asText()).isEqualTo(customerA);
    assertThat(d.path("default_project_id").asText()).isEqualTo(projectA2);

    // Carol may name her project in A explicitly; Bob may not.
    ok(rest.get("/v1/customers/" + customerA + "/projects/" + projectA2, carol));
    assertThat(rest.get("/v1/customers/" + customerA + "/projects/" + projectA1, carol).status())
        .isEqualTo(404);
  }

  @Test
  void theSecretIsReturnedOnceAndStoredNowhere() throws Exception {
    String secretA = keyA.substring(ApiKeys.PREFIX.length() + 23, keyA.length() - 6);
    for (String token : List.of(alice, keyA)) {
      Response list =
          ok(rest.get("/v1/customers/" + customerA + "/projects/" + projectA1 + "/keys", token));
      assertThat(list.body()).contains(keyAId).doesNotContain(keyA).doesNotContain(secretA);
      Response one =
          ok(
              rest.get(
                  "/v1/customers/" + customerA + "/projects/" + projectA1 + "/keys/" + keyAId,
                  token));
      assertThat(one.body()).doesNotContain(secretA).doesNotContain("\"secret\"");
    }
    String dump = dumpDatabase();
    assertThat(dump).contains(keyAId).contains(keyBId);
    for (String key : List.of(keyA, keyB, admin)) {
      String secret = key.substring(ApiKeys.PREFIX.length() + 23, key.length() - 6);
      assertThat(dump).doesNotContain(key).doesNotContain(secret);
      assertThat(logs.text()).doesNotContain(key).doesNotContain(secret);
    }
    assertThat(logs.size()).isPositive();
  }

  @Test
  void revokedExpiredMistypedAndUnknownKeysAre401() throws Exception {
    String base = "/v1/customers/" + customerA + "/projects/" + projectA1 + "/keys";
    Response created =
        ok(
            rest.post(
                base,
                alice,
                "{\"name\":\"short-lived\",\"expires_at\":\""
                    + Instant.now().plusSeconds(3600)
                    + "\"}"));
    String shortLived = created.text("secret");
    String shortLivedId = created.json().path("key").path("key_id").asText();
    // Let it expire without waiting: move its expiry into the past before its first use.
    try (Connection c = cp.dataSource().getConnection();
        Statement st = c.createStatement()) {
      st.executeUpdate(
          "update api_keys set expires_at = now() - interval '1 second' where id = '"
              + shortLivedId
              + "'");
    }
    Response expired = rest.get("/v1/me", shortLived);
    assertThat(expired.status()).isEqualTo(401);
    assertThat(expired.errorMessage()).contains("expired");
    assertThat(ok(rest.get(base + "/" + shortLivedId, alice)).text("status"))
        .isEqualTo("KEY_STATUS_EXPIRED");

    Response revocable = ok(rest.post(base, alice, "{\"name\":\"to revoke\"}"));
    String token = revocable.text("secret");
    String id = revocable.json().path("key").path("key_id").asText();
    ok(rest.get("/v1/me", token));
    JsonNode revoked = ok(rest.send("DELETE", base + "/" + id, alice, null)).json();
    assertThat(revoked.path("status").asText()).isEqualTo("KEY_STATUS_REVOKED");
    Response after = rest.get("/v1/me", token);
    assertThat(after.status()).isEqualTo(401);
    assertThat(after.errorMessage()).contains("revoked");

    char last = keyA.charAt(keyA.length() - 1);
    String mistyped = keyA.substring(0, keyA.length() - 1) + (last == 'a' ? 'b' : 'a');
    assertThat(rest.get("/v1/me", mistyped).errorMessage()).contains("malformed or mistyped");
    String unknown = ApiKeys.generate(UUID.randomUUID(), new SecureRandom()).token();
    assertThat(rest.get("/v1/me", unknown).status()).isEqualTo(401);
    assertThat(rest.get("/v1/me", unknown).errorMessage()).isEqualTo("API key is not recognised");
    assertThat(rest.get("/v1/me", null).status()).isEqualTo(401);
    assertThat(rest.send("GET", "/v1/me", "x", null).status()).isEqualTo(401);
    String foreignIssuer = new MockOAuth2Server().issueToken("other", "mallory", "x").serialize();
    Response mallory = rest.get("/v1/me", foreignIssuer);
    assertThat(mallory.status()).isEqualTo(401);
    assertThat(mallory.errorMessage()).contains("not trusted");
  }

  @Test
  void aRoleTooLowIs403() {
    String erin = oidc("erin");
    ok(
        rest.post(
            "/v1/customers/" + customerA + "/projects/" + projectA1 + "/members",
            alice,
            "{\"oidc_issuer\":\""
                + issuer()
                + "\",\"oidc_subject\":\"erin\",\"role\":\"ROLE_VIEWER\"}"));
    String keys = "/v1/customers/" + customerA + "/projects/" + projectA1 + "/keys";
    ok(rest.get(keys, erin));
    Response denied = rest.post(keys, erin, "{\"name\":\"nope\"}");
    assertThat(denied.status()).isEqualTo(403);
    assertThat(denied.errorMessage()).contains("viewer").contains("expected member or higher");
    assertThat(
            rest.post(
                    "/v1/customers/" + customerA + "/projects",
                    erin,
                    "{\"name\":\"x\",\"region\":\"eu-west-1\"}")
                .status())
        .isEqualTo(403);
    assertThat(rest.post("/v1/customers", keyA, "{\"name\":\"escape\"}").status()).isEqualTo(403);
    assertThat(
            rest.post(
                    "/v1/dataplanes",
                    alice,
                    "{\"name\":\"dp\",\"region\":\"eu-west-1\",\"public_url\":\"https://x.example\"}")
                .status())
        .isEqualTo(403);
    assertThat(rest.post("/v1/signing-keys:rotate", alice, "{}").status()).isEqualTo(403);
  }

  @Test
  void aMintedTokenVerifiesAgainstThePublishedJwks() throws Exception {
    JsonNode minted = ok(rest.post("/v1/tokens", keyA, "{\"ttl_seconds\":600}")).json();
    SignedJWT jwt = SignedJWT.parse(minted.path("token").asText());
    assertVerifies(jwt);
    JWTClaimsSet c = jwt.getJWTClaimsSet();
    assertThat(jwt.getHeader().getAlgorithm().getName()).isEqualTo(MpJwt.ALGORITHM);
    assertThat(c.getIssuer()).isEqualTo("agentrouter-control-plane");
    assertThat(c.getAudience()).containsExactly(MpJwt.AUDIENCE);
    assertThat(c.getJWTID()).isEqualTo(keyAId);
    assertThat(c.getStringClaim(MpJwt.CLAIM_CUSTOMER_ID)).isEqualTo(customerA);
    assertThat(c.getStringClaim(MpJwt.CLAIM_PROJECT_ID)).isEqualTo(projectA1);
    assertThat(c.getSubject())
        .isEqualTo(
            ok(rest.get("/v1/me", alice)).json().path("principal").path("principal_id").asText());
    assertThat(Duration.between(c.getIssueTime().toInstant(), c.getExpirationTime().toInstant()))
        .isEqualTo(Duration.ofSeconds(600));

    // Alice (OIDC) mints for a project by id; the project's newest active key becomes jti.
    JsonNode viaOidc =
        ok(rest.post("/v1/tokens", alice, "{\"project_id\":\"" + projectA1 + "\"}")).json();
    SignedJWT second = SignedJWT.parse(viaOidc.path("token").asText());
    assertThat(
            Duration.between(
                second.getJWTClaimsSet().getIssueTime().toInstant(),
                second.getJWTClaimsSet().getExpirationTime().toInstant()))
        .isLessThanOrEqualTo(MpJwt.MAX_TTL);
    assertThat(rest.post("/v1/tokens", alice, "{\"ttl_seconds\":901}").status()).isEqualTo(400);

    // Rotation: the new key signs, the old one stays published for tokens already out.
    String oldKid = jwt.getHeader().getKeyID();
    JsonNode rotated = ok(rest.post("/v1/signing-keys:rotate", admin, "{}")).json();
    assertThat(rotated.path("kid").asText()).isNotEqualTo(oldKid);
    SignedJWT fresh =
        SignedJWT.parse(ok(rest.post("/v1/tokens", keyA, "{}")).json().path("token").asText());
    assertThat(fresh.getHeader().getKeyID()).isEqualTo(rotated.path("kid").asText());
    assertVerifies(fresh);
    assertVerifies(jwt);
    JsonNode listed = ok(rest.get("/v1/signing-keys", admin)).json();
    assertThat(listed.path("keys")).hasSizeGreaterThanOrEqualTo(2);
    assertThat(ok(rest.get(MpJwt.JWKS_PATH, null)).body()).doesNotContain("\"d\"");
  }

  static void assertVerifies(SignedJWT jwt) throws Exception {
    JWKSet set = JWKSet.parse(ok(rest.get(MpJwt.JWKS_PATH, null)).body());
    ECKey key = (ECKey) set.getKeyByKeyId(jwt.getHeader().getKeyID());
    assertThat(key).as("kid %s published", jwt.getHeader().getKeyID()).isNotNull();
    assertThat(key.isPrivate()).isFalse();
    assertThat(jwt.verify(new ECDSAVerifier(key))).isTrue();
  }

  @Test
  void dataplaneRegistryAndIngressUrls() {
    Response reg =
        ok(
            rest.post(
                "/v1/dataplanes",
                admin,
                "{\"name\":\"dp-eu-1\",\"region\":\"eu-west-1\",\"public_url\":\"https://dp-eu-1.example.com/\"}"));
    assertThat(reg.text("registration_token")).startsWith("ar-dpreg-");
    String dp1 = reg.json().path("dataplane").path("dataplane_id").asText();
    assertThat(reg.json().path("dataplane").path("status").asText())
        .isEqualTo("DATAPLANE_STATUS_PENDING");
    assertThat(
            rest.post(
                    "/v1/dataplanes",
                    admin,
                    "{\"name\":\"dp-eu-1\",\"region\":\"eu-west-1\",\"public_url\":\"https://x.example.com\"}")
                .status())
        .isEqualTo(409);
    assertThat(ok(rest.get("/v1/dataplanes", admin)).body())
        .contains(dp1)
        .doesNotContain(reg.text("registration_token"));

    // Registered but silent: no traffic until it heartbeats.
    assertThat(rest.get("/v1/dataplane-url", alice).status()).isEqualTo(503);
    activateAndHeartbeat(reg.text("registration_token"));
    JsonNode url = ok(rest.get("/v1/dataplane-url", alice)).json().path("dataplane");
    assertThat(url.path("url").asText()).isEqualTo("https://dp-eu-1.example.com");
    assertThat(url.path("project_id").asText()).isEqualTo(projectA1);
    assertThat(url.path("region").asText()).isEqualTo("eu-west-1");
    assertThat(
            ok(rest.get("/v1/dataplane-url", keyA))
                .json()
                .path("dataplane")
                .path("dataplane_id")
                .asText())
        .isEqualTo(dp1);
    Response noRegion = rest.get("/v1/dataplane-url?project_id=" + projectA2, alice);
    assertThat(noRegion.status()).isEqualTo(503);
    assertThat(noRegion.errorMessage()).contains("us-east-1");
    assertThat(noRegion.headers().firstValue("retry-after")).isPresent();
    assertThat(rest.get("/v1/dataplane-url?customer_id=" + customerB, alice).status())
        .isEqualTo(404);
    assertThat(rest.get("/v1/dataplane-url?project_id=" + projectA2, keyA).status()).isEqualTo(404);
    JsonNode all = ok(rest.get("/v1/dataplane-urls", alice)).json().path("dataplanes");
    assertThat(all).hasSize(1);
    assertThat(all.get(0).path("project_id").asText()).isEqualTo(projectA1);

    ok(rest.post("/v1/dataplanes/" + dp1 + ":drain", admin, "{}"));
    assertThat(rest.get("/v1/dataplane-url", alice).status()).isEqualTo(503);
    Response reg2 =
        ok(
            rest.post(
                "/v1/dataplanes",
                admin,
                "{\"name\":\"dp-eu-2\",\"region\":\"eu-west-1\",\"public_url\":\"http://127.0.0.1:8090\"}"));
    String dp2 = reg2.json().path("dataplane").path("dataplane_id").asText();
    activateAndHeartbeat(reg2.text("registration_token"));
    assertThat(
            ok(rest.get("/v1/dataplane-url", alice))
                .json()
                .path("dataplane")
                .path("dataplane_id")
                .asText())
        .isEqualTo(dp2);
    ok(rest.send("DELETE", "/v1/dataplanes/" + dp1, admin, null));
    assertThat(rest.get("/v1/dataplanes/" + dp1, admin).status()).isEqualTo(404);
  }

  private void activateAndHeartbeat(String registrationToken) {
    String credential =
        cp.grpc(DataplaneSyncServiceGrpc.DataplaneSyncServiceBlockingStub.class, null)
            .register(RegisterRequest.newBuilder().setRegistrationToken(registrationToken).build())
            .getCredential();
    cp.grpc(DataplaneSyncServiceGrpc.DataplaneSyncServiceBlockingStub.class, credential)
        .heartbeat(HeartbeatRequest.getDefaultInstance());
  }

  @Test
  void aDataplaneExchangesItsTokenOnceAndHeartbeats() {
    Response reg =
        ok(
            rest.post(
                "/v1/dataplanes",
                admin,
                "{\"name\":\"dp-sync\",\"region\":\"ap-south-1\",\"public_url\":\"https://dp-sync.example.com\"}"));
    String token = reg.text("registration_token");
    String id = reg.json().path("dataplane").path("dataplane_id").asText();
    var sync = cp.grpc(DataplaneSyncServiceGrpc.DataplaneSyncServiceBlockingStub.class, null);
    RegisterResponse registered =
        sync.register(RegisterRequest.newBuilder().setRegistrationToken(token).build());
    assertThat(registered.getDataplaneId()).isEqualTo(id);
    assertThat(registered.getRegion()).isEqualTo("ap-south-1");
    assertThat(registered.getCredential()).startsWith("ar-dpcred-");
    assertThatThrownBy(
            () -> sync.register(RegisterRequest.newBuilder().setRegistrationToken(token).build()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));

    var withCredential =
        cp.grpc(
            DataplaneSyncServiceGrpc.DataplaneSyncServiceBlockingStub.class,
            registered.getCredential());
    HeartbeatResponse beat =
        withCredential.heartbeat(HeartbeatRequest.newBuilder().setConfigVersion("7").build());
    assertThat(beat.getDrained()).isFalse();
    JsonNode dp = ok(rest.get("/v1/dataplanes/" + id, admin)).json();
    assertThat(dp.path("status").asText()).isEqualTo("DATAPLANE_STATUS_ACTIVE");
    assertThat(dp.path("acked_config_version").asText()).isEqualTo("7");
    assertThat(dp.has("last_heartbeat_at")).isTrue();
    ok(rest.post("/v1/dataplanes/" + id + ":drain", admin, "{}"));
    assertThat(withCredential.heartbeat(HeartbeatRequest.getDefaultInstance()).getDrained())
        .isTrue();
    ok(rest.send("DELETE", "/v1/dataplanes/" + id, admin, null));
    assertThatThrownBy(() -> withCredential.heartbeat(HeartbeatRequest.getDefaultInstance()))
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
  }

  @Test
  void badInputIs400NamingTheField() throws Exception {
    int before = countRows("customers");
    int keysBefore = countRows("api_keys");
    Response malformed = rest.post("/v1/customers", alice, "{\"name\": \"x\",");
    assertThat(malformed.status()).isEqualTo(400);
    assertThat(malformed.errorMessage()).contains("malformed JSON");
    Response unknownEnum =
        rest.post(
            "/v1/customers/" + customerA + "/members",
            alice,
            "{\"principal_id\":\"" + bobPrincipal + "\",\"role\":\"ROLE_BOSS\"}");
    assertThat(unknownEnum.status()).isEqualTo(400);
    assertThat(unknownEnum.errorMessage()).contains("role").contains("ROLE_VIEWER");
    Response unknownField = rest.post("/v1/customers", alice, "{\"nmae\":\"x\"}");
    assertThat(unknownField.status()).isEqualTo(400);
    assertThat(unknownField.errorMessage()).contains("nmae");
    Response missing = rest.post("/v1/customers", alice, "{}");
    assertThat(missing.status()).isEqualTo(400);
    assertThat(missing.errorMessage()).isEqualTo("name: is required (expected 1-100 characters)");
    Response tooLong = rest.post("/v1/customers", alice, "{\"name\":\"" + "x".repeat(101) + "\"}");
    assertThat(tooLong.status()).isEqualTo(400);
    assertThat(tooLong.errorMessage()).contains("name").contains("expected at most 100");
    Response badId = rest.get("/v1/customers/cust-123", alice);
    assertThat(badId.status()).isEqualTo(400);
    assertThat(badId.errorMessage()).startsWith("customer_id: 'cust-123' is not a valid id");
    assertThat(badId.json().path("error").path("details").toString()).contains("field_violations");
    Response badRegion =
        rest.post(
            "/v1/customers/" + customerA + "/projects",
            alice,
            "{\"name\":\"p\",\"region\":\"EU West\"}");
    assertThat(badRegion.errorMessage()).startsWith("region: 'EU West' is not a valid region");
    Response badBudget =
        rest.post(
            "/v1/customers/" + customerA + "/projects/" + projectA1 + "/keys",
            alice,
            "{\"name\":\"k\",\"monthly_budget_usd\":\"ten\"}");
    assertThat(badBudget.errorMessage()).startsWith("monthly_budget_usd:");
    Response negative =
        rest.post(
            "/v1/customers/" + customerA + "/projects/" + projectA1 + "/keys",
            alice,
            "{\"name\":\"k\",\"limits\":{\"requests_per_minute\":-1}}");
    assertThat(negative.errorMessage()).startsWith("limits.requests_per_minute:");
    Response past =
        rest.post(
            "/v1/customers/" + customerA + "/projects/" + projectA1 + "/keys",
            alice,
            "{\"name\":\"k\",\"expires_at\":\"2001-01-01T00:00:00Z\"}");
    assertThat(past.errorMessage()).startsWith("expires_at:");
    Response wrongType = rest.send("POST", "/v1/customers", alice, null);
    assertThat(wrongType.status()).isEqualTo(400);
    // The credential is checked before anything else: anonymous callers learn nothing more.
    assertThat(rest.get("/v1/customers/cust-123", null).status()).isEqualTo(401);
    assertThat(rest.post("/v1/customers", null, "{}").status()).isEqualTo(401);
    Response noRoute = rest.get("/v1/nothing-here", alice);
    assertThat(noRoute.status()).isEqualTo(404);
    assertThat(noRoute.json()).isNotNull();
    assertThat(countRows("customers")).isEqualTo(before);
    assertThat(countRows("api_keys")).isEqualTo(keysBefore);
  }

  @Test
  void usageAndPromptCheckTheTenantFirst() {
    Response logs =
        rest.get("/v1/customers/" + customerA + "/projects/" + projectA1 + "/request-logs", keyA);
    assertThat(logs.status()).as(logs.body()).isEqualTo(200);
    assertThat(
            rest.get(
                    "/v1/customers/" + customerB + "/projects/" + projectB1 + "/request-logs", keyA)
                .status())
        .isEqualTo(404);
    Response prompt = rest.post("/v1/customers/-/projects/-/prompts", keyA, "{\"prompt\":\"hi\"}");
    assertThat(prompt.status()).as(prompt.body()).isIn(404, 422, 503);
  }

  @Test
  void crossTenantMatrixFindsNothingForeign() {
    String alicePrincipal =
        ok(rest.get("/v1/me", alice)).json().path("principal").path("principal_id").asText();
    var ids =
        new CrossTenantMatrix.Ids(
            Map.of(
                "customer_id",
                customerA,
                "project_id",
                projectA1,
                "key_id",
                keyAId,
                "principal_id",
                alicePrincipal),
            Map.of(
                "customer_id",
                customerB,
                "project_id",
                projectB1,
                "key_id",
                keyBId,
                "principal_id",
                bobPrincipal));
    List<CrossTenantMatrix.Case> cases = CrossTenantMatrix.generate(ids);
    List<String> failures = new ArrayList<>();
    int tried = 0;
    int succeeded = 0;
    for (CrossTenantMatrix.Case c : cases) {
      for (String token : List.of(alice, keyA)) {
        tried++;
        Response r = rest.send(c.verb(), c.path(), token, c.body());
        if (r.status() / 100 == 2) {
          succeeded++;
        }
        if (r.status() != 404 || r.body().contains("Bob")) {
          failures.add(
              (token.equals(keyA) ? "api key " : "oidc ")
                  + c
                  + " -> "
                  + r.status()
                  + " "
                  + r.body());
        }
      }
    }
    logger.info(
        "cross-tenant matrix: {} cases over {} endpoint variants, {} succeeded, {} not 404",
        tried,
        cases.size(),
        succeeded,
        failures.size());
    assertThat(cases.stream().map(CrossTenantMatrix.Case::method).distinct().count())
        .isGreaterThanOrEqualTo(30);
    assertThat(failures).isEmpty();
    assertThat(succeeded).isZero();
  }

  @Test
  void internalEndpoints() {
    assertThat(rest.get("/internal/health", null).status()).isEqualTo(200);
    Response metrics = ok(rest.get("/internal/metrics", null));
    assertThat(metrics.body()).contains("agentrouter_cp_requests");
    assertThat(rest.get("/internal/docs/", null).status()).isEqualTo(200);
    assertThat(rest.get("/internal/docs/specification.json", null).body())
        .contains("agentrouter.admin.v1.KeyService");
  }

  static int countRows(String table) throws Exception {
    try (Connection c = cp.dataSource().getConnection();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("select count(*) from " + table)) {
      rs.next();
      return rs.getInt(1);
    }
  }

  /** Every row of every table as text, like a plain pg_dump of the data. */
  static String dumpDatabase() throws Exception {
    StringBuilder out = new StringBuilder();
    try (Connection c = cp.dataSource().getConnection();
        Statement s = c.createStatement()) {
      List<String> tables = new ArrayList<>();
      try (ResultSet rs =
          s.executeQuery(
              "select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'")) {
        while (rs.next()) {
          tables.add(rs.getString(1));
        }
      }
      assertThat(tables).contains("api_keys", "principals", "platform_secrets", "signing_keys");
      for (String t : tables) {
        try (ResultSet rs = s.executeQuery("select t::text from \"" + t + "\" t")) {
          while (rs.next()) {
            out.append(t).append(": ").append(rs.getString(1)).append('\n');
          }
        }
      }
    }
    return out.toString();
  }
}
