package io.agentrouter.controlplane.tokens;

import static java.util.Objects.requireNonNull;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.agentrouter.common.jwt.MpJwt;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/** Signs MP JWTs with the current signing key, for callers inside the control plane (Prompt). */
public final class MpJwtMinter {
  private final SigningKeys signingKeys;
  private final String issuer;
  private final Clock clock;

  public MpJwtMinter(SigningKeys signingKeys, String issuer, Clock clock) {
    this.signingKeys = requireNonNull(signingKeys, "signingKeys");
    this.issuer = requireNonNull(issuer, "issuer");
    this.clock = requireNonNull(clock, "clock");
  }

  /** A token for {@code keyId} of the project; {@code ttl} is capped at {@link MpJwt#MAX_TTL}. */
  public String mint(
      UUID principalId,
      UUID customerId,
      UUID projectId,
      UUID keyId,
      @Nullable UUID dataplaneId,
      Duration ttl) {
    if (ttl.isNegative() || ttl.isZero() || ttl.compareTo(MpJwt.MAX_TTL) > 0) {
      throw new IllegalArgumentException(
          "ttl: " + ttl + " (expected: > 0 and <= " + MpJwt.MAX_TTL + ")");
    }
    Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
    JWTClaimsSet.Builder claims =
        new JWTClaimsSet.Builder()
            .issuer(issuer)
            .audience(MpJwt.AUDIENCE)
            .subject(principalId.toString())
            .claim(MpJwt.CLAIM_CUSTOMER_ID, customerId.toString())
            .claim(MpJwt.CLAIM_PROJECT_ID, projectId.toString())
            .jwtID(keyId.toString())
            .issueTime(Date.from(now))
            .notBeforeTime(Date.from(now))
            .expirationTime(Date.from(now.plus(ttl)));
    if (dataplaneId != null) {
      claims.claim(MpJwt.CLAIM_DATAPLANE_ID, dataplaneId.toString());
    }
    ECKey signer = signingKeys.signer();
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.ES256)
                .keyID(signer.getKeyID())
                .type(JOSEObjectType.JWT)
                .build(),
            claims.build());
    try {
      jwt.sign(new ECDSASigner(signer));
    } catch (JOSEException e) {
      throw new IllegalStateException("ES256 signing failed", e);
    }
    return jwt.serialize();
  }
}
