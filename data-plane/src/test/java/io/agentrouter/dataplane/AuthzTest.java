package io.agentrouter.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import java.net.URI;
import java.time.Instant;
import java.util.Date;
import java.util.UUID;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Ext-authz: API keys and MP JWTs, and failing closed without a config. */
class AuthzTest {
  static FakeOpenAi fake;
  static ECKey signing;
  static String key = TestGateway.newKey();
  static String revoked = TestGateway.newKey();
  static String expired = TestGateway.newKey();
  static TestGateway gw;

  @BeforeAll
  static void start() throws Exception {
    fake = FakeOpenAi.start();
    signing = new ECKeyGenerator(Curve.P_256).keyID("k1").generate();
    gw = TestGateway.start(config());
  }

  static String config() {
    return """
        dataplane_id: dp-1
        providers: [{name: openai, type: openai, base_url: "%s"}]
        models: [{provider: openai, model: gpt-4o-mini}]
        projects: [{id: p, customer: c, default_model: gpt-4o-mini}]
        keys:
          - {token: "%s", project: p}
          - {token: "%s", project: p, status: revoked}
          - {token: "%s", project: p, expires_at: "2020-01-01T00:00:00Z"}
        jwt:
          issuer: https://cp.example
          keys: [%s]
        """
        .formatted(fake.baseUrl(), key, revoked, expired, signing.toPublicJWK().toJSONString());
  }

  @AfterAll
  static void stop() {
    gw.close();
    fake.close();
  }

  @Test
  void apiKeys() {
    AggregatedHttpResponse ok = chat("Bearer " + key);
    assertThat(ok.status().code()).isEqualTo(200);
    // The snapshot's data plane id wins over the process default.
    assertThat(ok.headers().get("x-agentrouter-dataplane")).isEqualTo("dp-1");
    assertThat(chat(null).status().code()).isEqualTo(401);
    assertThat(chat(null).contentUtf8()).contains("\"code\":\"missing_api_key\"");
    // A well-formed key nobody issued.
    assertThat(chat("Bearer " + TestGateway.newKey()).status().code()).isEqualTo(401);
    // One character changed: the checksum refuses it.
    String typo = key.substring(0, 10) + (key.charAt(10) == 'a' ? 'b' : 'a') + key.substring(11);
    assertThat(chat("Bearer " + typo).status().code()).isEqualTo(401);
    assertThat(chat("Bearer " + revoked).status().code()).isEqualTo(401);
    assertThat(chat("Bearer " + expired).contentUtf8()).contains("revoked or has expired");
    assertThat(chat("Basic " + key).status().code()).isEqualTo(401);
    // Anthropic clients send x-api-key.
    assertThat(chatWith(h -> h.add("x-api-key", key)).status().code()).isEqualTo(200);
  }

  @Test
  void tokensTheJwtLibraryCannotParseAre401NotA500() {
    // "bnVsbA" is base64url for JSON null: nimbus throws NullPointerException on it.
    for (String token :
        new String[] {"bnVsbA.e30.AAAA", "e30.bnVsbA.AAAA", "bnVsbA.bnVsbA.", "dHJ1ZQ.e30.AAAA"}) {
      AggregatedHttpResponse res = chat("Bearer " + token);
      assertThat(res.status().code()).as(token).isEqualTo(401);
      assertThat(res.contentUtf8()).as(token).contains("\"code\":\"invalid_api_key\"");
    }
  }

  @Test
  void mpJwts() throws Exception {
    UUID keyId = TestGateway.keyId(key);
    assertThat(
            chat("Bearer "
                    + jwt(signing, JWSAlgorithm.ES256, keyId, "agentrouter-dataplane", 300, null))
                .status()
                .code())
        .isEqualTo(200);
    // Expired.
    assertThat(
            chat("Bearer "
                    + jwt(signing, JWSAlgorithm.ES256, keyId, "agentrouter-dataplane", -120, null))
                .status()
                .code())
        .isEqualTo(401);
    // Lifetime over 15 minutes.
    assertThat(
            chat("Bearer "
                    + jwt(signing, JWSAlgorithm.ES256, keyId, "agentrouter-dataplane", 3600, null))
                .status()
                .code())
        .isEqualTo(401);
    // Wrong audience.
    assertThat(
            chat("Bearer " + jwt(signing, JWSAlgorithm.ES256, keyId, "someone-else", 300, null))
                .status()
                .code())
        .isEqualTo(401);
    // jti of a revoked key.
    assertThat(
            chat("Bearer "
                    + jwt(
                        signing,
                        JWSAlgorithm.ES256,
                        TestGateway.keyId(revoked),
                        "agentrouter-dataplane",
                        300,
                        null))
                .status()
                .code())
        .isEqualTo(401);
    // Signed by a key the snapshot does not hold, which points at itself with jku: never fetched.
    ECKey stranger = new ECKeyGenerator(Curve.P_256).keyID("k1").generate();
    AggregatedHttpResponse res =
        chat(
            "Bearer "
                + jwt(
                    stranger,
                    JWSAlgorithm.ES256,
                    keyId,
                    "agentrouter-dataplane",
                    300,
                    URI.create(fake.baseUrl() + "/jwks.json")));
    assertThat(res.status().code()).isEqualTo(401);
    assertThat(fake.received()).noneMatch(r -> r.path().contains("jwks"));
    // HS256 is not on the allow-list, even with a valid-looking token.
    SignedJWT hs =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.HS256).keyID("k1").build(),
            claims(keyId, "agentrouter-dataplane", 300));
    hs.sign(new MACSigner(new byte[32]));
    assertThat(chat("Bearer " + hs.serialize()).contentUtf8()).contains("expected: ES256");
  }

  @Test
  void withoutAValidConfigEverythingIs503() {
    try (TestGateway empty = TestGateway.start(null)) {
      assertThat(empty.web().get("/internal/health").aggregate().join().status().code())
          .isEqualTo(503);
      AggregatedHttpResponse res =
          empty
              .web()
              .execute(
                  HttpRequest.of(
                      RequestHeaders.builder(HttpMethod.POST, "/v1/chat/completions")
                          .contentType(MediaType.JSON)
                          .add("authorization", "Bearer " + key)
                          .build(),
                      HttpData.ofUtf8("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")))
              .aggregate()
              .join();
      assertThat(res.status().code()).isEqualTo(503);
      assertThat(res.contentUtf8()).contains("\"code\":\"not_ready\"");
      empty.publish(config());
      assertThat(empty.web().get("/internal/health").aggregate().join().status().code())
          .isEqualTo(200);
    }
  }

  static String jwt(
      ECKey k, JWSAlgorithm alg, UUID keyId, String aud, long lifetimeSeconds, URI jku)
      throws Exception {
    JWSHeader.Builder h = new JWSHeader.Builder(alg).keyID(k.getKeyID()).type(JOSEObjectType.JWT);
    if (jku != null) {
      h.jwkURL(jku);
    }
    SignedJWT jwt = new SignedJWT(h.build(), claims(keyId, aud, lifetimeSeconds));
    jwt.sign(new ECDSASigner(k));
    return jwt.serialize();
  }

  static JWTClaimsSet claims(UUID keyId, String aud, long lifetimeSeconds) {
    Instant now = Instant.now();
    return new JWTClaimsSet.Builder()
        .issuer("https://cp.example")
        .audience(aud)
        .subject("user-1")
        .jwtID(keyId.toString())
        .claim("customer_id", "c")
        .claim("project_id", "p")
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plusSeconds(lifetimeSeconds)))
        .build();
  }

  static AggregatedHttpResponse chat(String authorization) {
    return chatWith(h -> authorization == null ? h : h.add("authorization", authorization));
  }

  static AggregatedHttpResponse chatWith(
      UnaryOperator<com.linecorp.armeria.common.RequestHeadersBuilder> auth) {
    return gw.web()
        .execute(
            HttpRequest.of(
                auth.apply(
                        RequestHeaders.builder(HttpMethod.POST, "/v1/chat/completions")
                            .contentType(MediaType.JSON))
                    .build(),
                HttpData.ofUtf8("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")))
        .aggregate()
        .join();
  }
}
