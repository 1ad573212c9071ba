package io.agentrouter.it;

import static io.agentrouter.it.Planes.log;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.linecorp.armeria.client.WebClient;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.util.Base64;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.agentrouter.controlplane.crypto.MasterKey;
import io.agentrouter.controlplane.testing.Rest;
import io.agentrouter.dataplane.config.RuntimeConfig;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Forged MP JWTs against a data plane in managed mode holding the real key set of a real control
 * plane: every variant is refused with 401 in OpenAI's error shape, nothing is fetched while
 * verifying (a canary listener named by {@code jku}, {@code x5u} and friends accepts 0 connections)
 * and the provider is never called. Tokens the control plane minted, and tokens this test signs
 * with the control plane's real key and valid claims, are accepted, so each refusal is the one
 * mutation's doing.
 *
 * <p>The claim variants are signed with the control plane's real private key, read from its
 * database and decrypted with its master key: a forger cannot do that, but it is the only way to
 * show the claim checks themselves (issuer, audience, lifetime, key binding) refuse on their own.
 */
@ExtendWith(SecretWatch.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ForgedTokenEvidenceIT {
  private static final String CHECK = "Forged tokens";
  private static final String CHAT =
      "{\"model\":\"smart\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  private Planes planes;
  private FakeOpenAi openAi;
  private Canary canary;
  private Planes.Tenant tenant;
  private Planes.Key key;
  private ManagedDataPlane dp;
  private String dataplaneId;
  private int accepted;

  @BeforeAll
  void start() throws Exception {
    canary = Canary.onLoopback();
    planes = Planes.start();
    openAi = FakeOpenAi.start();
    tenant = planes.tenant("forgery", openAi.baseUrl(), "smart", "openai/gpt-4o-mini");
    key = planes.createKey(tenant, "backend", null);
    Planes.Registration reg = planes.register("dp-eu-1");
    dataplaneId = reg.id();
    dp = planes.startDataPlane(reg, planes.newDir("dp1"), reg.token());
    UUID keyId = UUID.fromString(key.id());
    await("the data plane serves a snapshot with the key and a signing key")
        .atMost(Duration.ofSeconds(60))
        .until(
            () -> {
              RuntimeConfig c = dp.dataPlane.config().current();
              return c != null && c.key(keyId) != null && c.jwtIssuer() != null;
            });
  }

  @AfterAll
  void stop() throws Exception {
    if (planes != null) {
      planes.close();
    }
    if (openAi != null) {
      openAi.close();
    }
    if (canary != null) {
      canary.close();
    }
  }

  @Test
  void everyForgedTokenIsRefusedWithoutAnyOutboundCall() throws Exception {
    String minted = mint();
    SignedJWT template = SignedJWT.parse(minted);
    String kid = template.getHeader().getKeyID();
    String issuer = template.getJWTClaimsSet().getIssuer();
    ECKey real = realSigningKey(kid);
    ECKey stranger = new ECKeyGenerator(Curve.P_256).keyID(kid).generate();
    String canaryUrl = "http://127.0.0.1:" + canary.port();

    // The controls: a minted token and one signed here with the real key and valid claims.
    int providerCalls = openAi.received().size();
    assertAccepted("minted by POST /v1/tokens", minted);
    String selfSigned = sign(real, header(kid), claims(c -> {}));
    assertAccepted("signed with the real key, valid claims", selfSigned);

    Map<String, String> forged = new LinkedHashMap<>();
    String[] parts = minted.split("\\.");
    String payload = parts[1];
    String signature = parts[2];
    String noneHeader = b64("{\"alg\":\"none\",\"typ\":\"JWT\"}");
    forged.put("alg none, empty signature", noneHeader + "." + payload + ".");
    forged.put("alg none, original signature", noneHeader + "." + payload + "." + signature);
    forged.put(
        "alg None (case variant)", b64("{\"alg\":\"None\"}") + "." + payload + "." + signature);
    forged.put("alg missing", b64("{\"kid\":\"" + kid + "\"}") + "." + payload + "." + signature);
    byte[] publicJwk = real.toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8);
    forged.put("HS256 keyed with the public JWK", hmac(publicJwk, kid));
    forged.put(
        "HS256 keyed with the public key's DER", hmac(real.toECPublicKey().getEncoded(), kid));
    forged.put(
        "HS256 keyed with the public key's PEM",
        hmac(pem(real.toECPublicKey().getEncoded()).getBytes(StandardCharsets.US_ASCII), kid));
    ECKey p384 = new ECKeyGenerator(Curve.P_384).keyID(kid).generate();
    forged.put(
        "ES384 with a P-384 key under the real kid",
        sign(p384, new JWSHeader.Builder(JWSAlgorithm.ES384).keyID(kid).build(), claims(c -> {})));
    forged.put(
        "ES256 by another key under the real kid", sign(stranger, header(kid), claims(c -> {})));
    forged.put(
        "psychic signature (r = s = 0)",
        parts[0] + "." + payload + "." + Base64URL.encode(new byte[64]));
    forged.put("wrong iss", sign(real, header(kid), claims(c -> c.issuer("https://evil.example"))));
    forged.put(
        "iss with a trailing slash", sign(real, header(kid), claims(c -> c.issuer(issuer + "/"))));
    forged.put("wrong aud", sign(real, header(kid), claims(c -> c.audience("someone-else"))));
    forged.put("no aud", sign(real, header(kid), claims(c -> c.audience((String) null))));
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    forged.put(
        "expired (exp 2 min ago)",
        sign(
            real,
            header(kid),
            claims(
                c ->
                    c.issueTime(Date.from(now.minusSeconds(600)))
                        .notBeforeTime(Date.from(now.minusSeconds(600)))
                        .expirationTime(Date.from(now.minusSeconds(120))))));
    forged.put(
        "nbf 5 min in the future",
        sign(real, header(kid), claims(c -> c.notBeforeTime(Date.from(now.plusSeconds(300))))));
    forged.put("no exp", sign(real, header(kid), claims(c -> c.expirationTime(null))));
    forged.put(
        "lifetime 1 h (over 15 min)",
        sign(real, header(kid), claims(c -> c.expirationTime(Date.from(now.plusSeconds(3600))))));
    forged.put(
        "exp as a string", sign(real, header(kid), claims(c -> c.claim("exp", "9999999999"))));
    forged.put("no jti", sign(real, header(kid), claims(c -> c.jwtID(null))));
    forged.put("jti not a key id", sign(real, header(kid), claims(c -> c.jwtID("admin"))));
    forged.put(
        "jti of a key nobody issued",
        sign(real, header(kid), claims(c -> c.jwtID(UUID.randomUUID().toString()))));
    forged.put(
        "project_id of another project",
        sign(real, header(kid), claims(c -> c.claim("project_id", UUID.randomUUID().toString()))));
    forged.put(
        "customer_id of another customer",
        sign(real, header(kid), claims(c -> c.claim("customer_id", UUID.randomUUID().toString()))));
    forged.put(
        "dataplane_id of another data plane",
        sign(
            real, header(kid), claims(c -> c.claim("dataplane_id", UUID.randomUUID().toString()))));
    forged.put("unknown kid", sign(real, header("ar-20990101-deadbeef"), claims(c -> {})));
    forged.put(
        "no kid", sign(real, new JWSHeader.Builder(JWSAlgorithm.ES256).build(), claims(c -> {})));
    forged.put("path-like kid ../../x", sign(real, header("../../x"), claims(c -> {})));
    forged.put(
        "path-like kid /dev/zero", sign(real, header("../../../../dev/zero"), claims(c -> {})));
    forged.put("kid with SQL", sign(real, header("' or '1'='1"), claims(c -> {})));
    forged.put("kid as a URL to the canary", sign(real, header(canaryUrl + "/k"), claims(c -> {})));
    forged.put(
        "jku to the canary, stranger's key, unknown kid",
        sign(
            stranger,
            new JWSHeader.Builder(JWSAlgorithm.ES256)
                .keyID("attacker")
                .jwkURL(URI.create(canaryUrl + "/jwks.json"))
                .build(),
            claims(c -> {})));
    forged.put(
        "jku to the canary, stranger's key, real kid",
        sign(
            stranger,
            new JWSHeader.Builder(JWSAlgorithm.ES256)
                .keyID(kid)
                .jwkURL(URI.create(canaryUrl + "/jwks.json"))
                .build(),
            claims(c -> {})));
    forged.put(
        "x5u to the canary",
        sign(
            stranger,
            new JWSHeader.Builder(JWSAlgorithm.ES256)
                .keyID(kid)
                .x509CertURL(URI.create(canaryUrl + "/cert.pem"))
                .build(),
            claims(c -> {})));
    forged.put(
        "embedded jwk (the stranger's public key)",
        sign(
            stranger,
            new JWSHeader.Builder(JWSAlgorithm.ES256)
                .keyID(kid)
                .jwk(stranger.toPublicJWK())
                .build(),
            claims(c -> {})));
    forged.put(
        "embedded jwk, no kid",
        sign(
            stranger,
            new JWSHeader.Builder(JWSAlgorithm.ES256).jwk(stranger.toPublicJWK()).build(),
            claims(c -> {})));
    byte[] junkCert = new byte[300];
    new SecureRandom().nextBytes(junkCert);
    forged.put(
        "x5c chain with x5u to the canary",
        sign(
            stranger,
            new JWSHeader.Builder(JWSAlgorithm.ES256)
                .x509CertChain(List.of(Base64.encode(junkCert)))
                .x509CertURL(URI.create(canaryUrl + "/chain.pem"))
                .build(),
            claims(c -> {})));
    forged.put(
        "crit header nobody understands",
        sign(
            real,
            new JWSHeader.Builder(JWSAlgorithm.ES256)
                .keyID(kid)
                .criticalParams(java.util.Set.of("http://evil.example/must-understand"))
                .customParam("http://evil.example/must-understand", true)
                .build(),
            claims(c -> {})));
    forged.put(
        "tampered payload (other project), original signature",
        parts[0]
            + "."
            + b64(claimsJson(template, "project_id", UUID.randomUUID().toString()))
            + "."
            + signature);
    forged.put(
        "tampered payload (exp + 1 h), original signature",
        parts[0]
            + "."
            + b64(
                claimsJson(
                    template,
                    "exp",
                    template.getJWTClaimsSet().getExpirationTime().toInstant().getEpochSecond()
                        + 3600))
            + "."
            + signature);
    forged.put(
        "tampered header (typ JWE), original signature",
        b64("{\"kid\":\"" + kid + "\",\"typ\":\"JWE\",\"alg\":\"ES256\"}")
            + "."
            + payload
            + "."
            + signature);
    forged.put(
        "signature of another genuine token",
        parts[0] + "." + payload + "." + selfSigned.split("\\.")[2]);
    forged.put("signature truncated", parts[0] + "." + payload + "." + signature.substring(0, 40));
    forged.put("signature empty", parts[0] + "." + payload + ".");
    forged.put(
        "malformed base64 in the payload", parts[0] + "." + payload + "!*" + "." + signature);
    forged.put(
        "malformed base64 in the header", "e@J!" + parts[0] + "." + payload + "." + signature);
    forged.put("header not JSON", b64("not json") + "." + payload + "." + signature);
    forged.put("header JSON null", b64("null") + "." + payload + "." + signature);
    forged.put("payload JSON null", parts[0] + "." + b64("null") + "." + signature);
    forged.put("payload not JSON", parts[0] + "." + b64("[1,2") + "." + signature);
    forged.put("payload a JSON array", parts[0] + "." + b64("[]") + "." + signature);
    forged.put("four segments", minted + "." + signature);
    forged.put("five segments (JWE-like)", minted + ".AAAA.BBBB");
    forged.put("two segments", parts[0] + "." + payload);
    forged.put("only dots", "....");
    forged.put("empty segments", "..");
    forged.put("leading dot", "." + minted);
    forged.put("whitespace inside", parts[0] + ". " + payload + "." + signature);
    forged.put("unpadded base64 with padding", parts[0] + "==." + payload + "." + signature);

    // A key rotated out: a token it signed that has not expired, once the key left the set.
    String retired = retiredKeyToken(kid);
    forged.put("signed by a retired, rotated-out key", retired);

    int refused = 0;
    List<String> failures = new ArrayList<>();
    for (var e : forged.entrySet()) {
      SecretWatch.secret(e.getValue());
      AggregatedHttpResponse r = chat(e.getValue());
      String shape = ErrorShapes.openAiProblem(r.contentUtf8());
      if (r.status().code() == 401 && shape == null) {
        refused++;
      } else {
        failures.add(e.getKey() + " -> " + r.status() + " " + (shape == null ? "" : shape));
      }
    }
    int outbound = canary.connections();
    int providerSeen = openAi.received().size() - providerCalls - accepted;
    log.info(
        "it: forged tokens: {}/{} refused with 401 in OpenAI's shape; canary connections {};"
            + " provider requests {}; failures {}",
        refused,
        forged.size(),
        outbound,
        providerSeen,
        failures);
    boolean met = refused == forged.size() && outbound == 0 && providerSeen == 0;
    Evidence.figure(
        CHECK,
        refused
            + "/"
            + forged.size()
            + " variants refused (401, OpenAI shape); "
            + outbound
            + " canary connections; "
            + providerSeen
            + " provider requests; "
            + accepted
            + " genuine tokens accepted (minted, self-signed with the real key, new key after"
            + " rotation, retired key within its grace period)",
        forged.size() + "/" + forged.size() + " refused, 0 outbound",
        met);
    assertThat(failures).as("forged tokens not refused as expected").isEmpty();
    assertThat(forged).hasSizeGreaterThanOrEqualTo(20);
    assertThat(outbound).as("connections to the canary").isZero();
    assertThat(providerSeen).as("provider requests for forged tokens").isZero();
  }

  /**
   * Mints a token, rotates the signing key, checks the retired key's token still works during its
   * grace period (by design), then ends the grace period in the database as time would, waits for
   * the key to leave the data plane's snapshot and returns the still-unexpired token.
   */
  private String retiredKeyToken(String oldKid) throws Exception {
    String oldToken = mint();
    assertThat(SignedJWT.parse(oldToken).getHeader().getKeyID()).isEqualTo(oldKid);
    Rest.Response rotated = planes.rest().post("/v1/signing-keys:rotate", planes.adminKey(), "{}");
    assertThat(rotated.status()).as(rotated.body()).isEqualTo(200);
    String newKid = rotated.text("kid");
    await("the new signing key reaches the data plane")
        .atMost(Duration.ofSeconds(30))
        .until(() -> dp.dataPlane.config().current().jwtVerifier(newKid) != null);
    String newToken = mint();
    assertThat(SignedJWT.parse(newToken).getHeader().getKeyID()).isEqualTo(newKid);
    assertAccepted("minted after the rotation", newToken);
    assertAccepted("signed by the retired key, within its grace period", oldToken);
    try (Connection c = planes.jdbc();
        PreparedStatement s =
            c.prepareStatement(
                "update signing_keys set expires_at = now() - interval '1 second' where kid = ?")) {
      s.setString(1, oldKid);
      assertThat(s.executeUpdate()).isEqualTo(1);
    }
    await("the retired key leaves the data plane's snapshot")
        .atMost(Duration.ofSeconds(30))
        .until(() -> dp.dataPlane.config().current().jwtVerifier(oldKid) == null);
    assertThat(SignedJWT.parse(oldToken).getJWTClaimsSet().getExpirationTime()).isAfter(new Date());
    return oldToken;
  }

  private void assertAccepted(String what, String token) throws Exception {
    SecretWatch.secret(token);
    AggregatedHttpResponse r = chat(token);
    assertThat(r.status().code()).as(what + ": " + r.contentUtf8()).isEqualTo(200);
    accepted++;
  }

  private String mint() {
    Rest.Response r =
        planes
            .rest()
            .post(
                "/v1/tokens",
                planes.adminKey(),
                Rest.json(
                    Map.of(
                        "customer_id", tenant.customerId(),
                        "project_id", tenant.projectId(),
                        "key_id", key.id(),
                        "ttl_seconds", 600)));
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return SecretWatch.secret(r.text("token"));
  }

  /** The control plane's private signing key {@code kid}, from its database and master key. */
  private ECKey realSigningKey(String kid) throws Exception {
    MasterKey master = MasterKey.load(null, planes.controlPlane().dataDir(), new SecureRandom());
    try (Connection c = planes.jdbc();
        PreparedStatement s =
            c.prepareStatement("select private_key_ciphertext from signing_keys where kid = ?")) {
      s.setString(1, kid);
      try (ResultSet rs = s.executeQuery()) {
        assertThat(rs.next()).as("signing key " + kid + " in the database").isTrue();
        byte[] plain = master.decrypt(rs.getBytes(1), "signing_key:" + kid);
        return ECKey.parse(new String(plain, StandardCharsets.UTF_8));
      }
    }
  }

  /** Valid claims for the tenant's key, then {@code change}. */
  private JWTClaimsSet claims(Consumer<JWTClaimsSet.Builder> change) {
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    JWTClaimsSet.Builder b =
        new JWTClaimsSet.Builder()
            .issuer(dp.dataPlane.config().current().jwtIssuer())
            .audience("agentrouter-dataplane")
            .subject(UUID.randomUUID().toString())
            .claim("customer_id", tenant.customerId())
            .claim("project_id", tenant.projectId())
            .claim("dataplane_id", dataplaneId)
            .jwtID(key.id())
            .issueTime(Date.from(now))
            .notBeforeTime(Date.from(now))
            .expirationTime(Date.from(now.plusSeconds(600)));
    change.accept(b);
    return b.build();
  }

  private static JWSHeader header(String kid) {
    return new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(kid).type(JOSEObjectType.JWT).build();
  }

  private static String sign(ECKey key, JWSHeader header, JWTClaimsSet claims)
      throws JOSEException {
    SignedJWT jwt = new SignedJWT(header, claims);
    jwt.sign(new ECDSASigner(key));
    return jwt.serialize();
  }

  private String hmac(byte[] secret, String kid) throws JOSEException {
    JWSSigner signer = new MACSigner(secret.length >= 32 ? secret : pad(secret));
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(kid).type(JOSEObjectType.JWT).build(),
            claims(c -> {}));
    jwt.sign(signer);
    return jwt.serialize();
  }

  private static byte[] pad(byte[] b) {
    return java.util.Arrays.copyOf(b, 32);
  }

  private static String pem(byte[] der) {
    return "-----BEGIN PUBLIC KEY-----\n"
        + java.util.Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
            .encodeToString(der)
        + "\n-----END PUBLIC KEY-----\n";
  }

  private static String claimsJson(SignedJWT template, String claim, Object value)
      throws Exception {
    Map<String, Object> json = new LinkedHashMap<>(template.getJWTClaimsSet().toJSONObject());
    json.put(claim, value);
    return com.nimbusds.jose.util.JSONObjectUtils.toJSONString(json);
  }

  private static String b64(String json) {
    return Base64URL.encode(json.getBytes(StandardCharsets.UTF_8)).toString();
  }

  /** Armeria's client: it reads a 401 sent before the body was consumed, as HTTP/2 allows. */
  private AggregatedHttpResponse chat(String token) {
    return WebClient.builder(dp.url())
        .responseTimeout(Duration.ofSeconds(30))
        .build()
        .execute(
            HttpRequest.of(
                RequestHeaders.builder(HttpMethod.POST, "/v1/chat/completions")
                    .contentType(MediaType.JSON)
                    .add("authorization", "Bearer " + token)
                    .build(),
                HttpData.ofUtf8(CHAT)))
        .aggregate()
        .join();
  }
}
