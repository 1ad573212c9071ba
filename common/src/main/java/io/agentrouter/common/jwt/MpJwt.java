package io.agentrouter.common.jwt;

import java.time.Duration;

/**
 * The MP JWT contract between the control plane (which mints and publishes) and the data planes
 * (which verify): algorithm, audience, claim names, lifetime cap and where the key set lives.
 */
public final class MpJwt {
  /** The only signature algorithm minted and accepted. */
  public static final String ALGORITHM = "ES256";

  /** The {@code aud} every MP JWT carries; a data plane refuses any other audience. */
  public static final String AUDIENCE = "agentrouter-dataplane";

  /** Claim naming the customer (UUID) the token acts for. */
  public static final String CLAIM_CUSTOMER_ID = "customer_id";

  /** Claim naming the project (UUID) the token acts for. */
  public static final String CLAIM_PROJECT_ID = "project_id";

  /** Optional claim restricting the token to one data plane (UUID). */
  public static final String CLAIM_DATAPLANE_ID = "dataplane_id";

  /**
   * The {@code jti} claim carries the API key id (UUID) whose limits and budget apply; this is its
   * standard name, repeated here so both planes read the same constant.
   */
  public static final String CLAIM_KEY_ID = "jti";

  /** Longest lifetime a token may have ({@code exp - iat}). */
  public static final Duration MAX_TTL = Duration.ofMinutes(15);

  /** Path of the published JSON Web Key Set on the control plane. */
  public static final String JWKS_PATH = "/.well-known/jwks.json";

  private MpJwt() {}
}
