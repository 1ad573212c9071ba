package io.agentrouter.common.config;

import static java.util.Objects.requireNonNull;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Set;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * An API key as the data plane sees it: never the secret, only its digest.
 *
 * @param keyId the id embedded in the key token (and the {@code jti} of MP JWTs minted for it)
 * @param digest lowercase hex HMAC-SHA-256(pepper, secret)
 * @param customerId owning customer
 * @param projectId owning project
 * @param name a human label
 * @param status revoked keys are refused
 * @param expiresAt refused from this instant on; null for never
 * @param limits per-key rate limits
 * @param monthlyBudgetUsd spending cap, null for none
 * @param allowedModels model selectors (alias, {@code provider/model} or bare name) this key may
 *     use; empty for all
 */
public record KeyConfig(
    UUID keyId,
    String digest,
    String customerId,
    String projectId,
    String name,
    KeyStatus status,
    @Nullable Instant expiresAt,
    Limits limits,
    @Nullable BigDecimal monthlyBudgetUsd,
    Set<String> allowedModels) {
  public KeyConfig {
    requireNonNull(keyId, "keyId");
    requireNonNull(digest, "digest");
    requireNonNull(customerId, "customerId");
    requireNonNull(projectId, "projectId");
    requireNonNull(name, "name");
    requireNonNull(status, "status");
    requireNonNull(limits, "limits");
    allowedModels = Set.copyOf(allowedModels);
    if (digest.length() != 64) {
      throw new IllegalArgumentException(
          "digest of key " + keyId + ": " + digest.length() + " characters (expected: 64 hex)");
    }
  }

  /** Usable at {@code now}: active and not expired. */
  public boolean usableAt(Instant now) {
    return status == KeyStatus.ACTIVE && (expiresAt == null || now.isBefore(expiresAt));
  }

  @Override
  public String toString() {
    return "KeyConfig[keyId=" + keyId + ", projectId=" + projectId + ", status=" + status + "]";
  }
}
