package io.agentrouter.common.config;

import static java.util.Objects.requireNonNull;

/**
 * A public key MP JWTs are verified with.
 *
 * @param kid the JWS {@code kid} header value
 * @param publicJwk the public key as a JWK JSON object (never a private key)
 */
public record SigningKey(String kid, String publicJwk) {
  public SigningKey {
    requireNonNull(kid, "kid");
    requireNonNull(publicJwk, "publicJwk");
  }
}
