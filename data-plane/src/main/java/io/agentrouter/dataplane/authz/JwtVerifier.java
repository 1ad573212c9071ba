package io.agentrouter.dataplane.authz;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.dataplane.config.RuntimeConfig;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Objects;
import java.util.UUID;

/**
 * Verifies an MP JWT minted by the control plane. Only ES256 is accepted, the key comes from the
 * snapshot by {@code kid} (a {@code jku} or {@code x5u} header is never followed: nothing here
 * touches the network), and the claims must name this audience, the snapshot's issuer, a lifetime
 * of at most 15 minutes, and in {@code jti} an active key of the same project.
 */
final class JwtVerifier {
  static final String AUDIENCE = "agentrouter-dataplane";
  static final Duration MAX_LIFETIME = Duration.ofMinutes(15);
  static final Duration SKEW = Duration.ofSeconds(30);
  private static final String INVALID = "Invalid token: ";

  private final Clock clock;

  JwtVerifier(Clock clock) {
    this.clock = clock;
  }

  ExtAuthz.Verdict verify(RuntimeConfig config, String token) {
    if (config.jwtIssuer() == null) {
      return ExtAuthz.Verdict.refused(INVALID + "this data plane accepts no MP JWTs.");
    }
    SignedJWT jwt;
    JWTClaimsSet claims;
    try {
      jwt = SignedJWT.parse(token);
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException | RuntimeException e) {
      // nimbus throws NullPointerException, not ParseException, for a segment that decodes to
      // JSON null ("bnVsbA"): any failure to parse is a refusal, never a 500.
      return ExtAuthz.Verdict.refused(INVALID + "not a signed JWT.");
    }
    JWSHeader header = jwt.getHeader();
    if (!JWSAlgorithm.ES256.equals(header.getAlgorithm())) {
      return ExtAuthz.Verdict.refused(
          INVALID + "algorithm " + header.getAlgorithm() + " (expected: ES256).");
    }
    String kid = header.getKeyID();
    JWSVerifier verifier = kid == null ? null : config.jwtVerifier(kid);
    if (verifier == null) {
      return ExtAuthz.Verdict.refused(INVALID + "unknown signing key.");
    }
    try {
      if (!jwt.verify(verifier)) {
        return ExtAuthz.Verdict.refused(INVALID + "bad signature.");
      }
    } catch (JOSEException e) {
      return ExtAuthz.Verdict.refused(INVALID + "bad signature.");
    }
    Instant now = clock.instant();
    if (!Objects.equals(config.jwtIssuer(), claims.getIssuer())) {
      return ExtAuthz.Verdict.refused(INVALID + "wrong issuer.");
    }
    if (claims.getAudience() == null || !claims.getAudience().contains(AUDIENCE)) {
      return ExtAuthz.Verdict.refused(INVALID + "wrong audience (expected: " + AUDIENCE + ").");
    }
    Date exp = claims.getExpirationTime();
    if (exp == null || !now.minus(SKEW).isBefore(exp.toInstant())) {
      return ExtAuthz.Verdict.refused(INVALID + "expired.");
    }
    if (exp.toInstant().isAfter(now.plus(MAX_LIFETIME).plus(SKEW))) {
      return ExtAuthz.Verdict.refused(INVALID + "lifetime over 15 minutes.");
    }
    Date nbf = claims.getNotBeforeTime();
    if (nbf != null && now.plus(SKEW).isBefore(nbf.toInstant())) {
      return ExtAuthz.Verdict.refused(INVALID + "not valid yet.");
    }
    String dataplane = stringClaim(claims, "dataplane_id");
    if (dataplane != null && !dataplane.equals(config.dataplaneId())) {
      return ExtAuthz.Verdict.refused(INVALID + "minted for another data plane.");
    }
    UUID keyId;
    try {
      keyId = UUID.fromString(Objects.requireNonNullElse(claims.getJWTID(), ""));
    } catch (IllegalArgumentException e) {
      return ExtAuthz.Verdict.refused(INVALID + "jti is not a key id.");
    }
    KeyConfig key = config.key(keyId);
    if (key == null || !key.usableAt(now)) {
      return ExtAuthz.Verdict.refused(INVALID + "its key is unknown, revoked or expired.");
    }
    if (!key.projectId().equals(stringClaim(claims, "project_id"))
        || !key.customerId().equals(stringClaim(claims, "customer_id"))) {
      return ExtAuthz.Verdict.refused(INVALID + "project does not match its key.");
    }
    return ExtAuthz.Verdict.ok(key);
  }

  private static String stringClaim(JWTClaimsSet claims, String name) {
    try {
      return claims.getStringClaim(name);
    } catch (ParseException e) {
      return null;
    }
  }
}
