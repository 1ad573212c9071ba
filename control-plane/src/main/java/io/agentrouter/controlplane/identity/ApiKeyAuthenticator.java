package io.agentrouter.controlplane.identity;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import io.agentrouter.common.keys.ApiKeys;
import io.agentrouter.controlplane.keys.KeyStore;
import io.agentrouter.controlplane.keys.KeyStore.KeyRow;
import io.agentrouter.controlplane.keys.Pepper;
import io.agentrouter.controlplane.rpc.ApiException;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;

/**
 * Verifies {@code sk-ar-} keys: the checksum refuses a mistyped key before any lookup; the key id
 * finds the row (through a small, short-lived cache); the digest is compared in constant time.
 */
public final class ApiKeyAuthenticator {
  static final String NOT_RECOGNISED = "API key is not recognised";

  private final KeyStore keys;
  private final PrincipalStore principals;
  private final Pepper pepper;
  private final Clock clock;
  private final Cache<UUID, Optional<KeyRow>> cache;

  public ApiKeyAuthenticator(
      KeyStore keys, PrincipalStore principals, Pepper pepper, Clock clock, Ticker ticker) {
    this.keys = requireNonNull(keys, "keys");
    this.principals = requireNonNull(principals, "principals");
    this.pepper = requireNonNull(pepper, "pepper");
    this.clock = requireNonNull(clock, "clock");
    // Bounded and short-lived: another replica's revocation is seen within the expiry.
    this.cache =
        Caffeine.newBuilder()
            .maximumSize(10_000)
            .expireAfterWrite(Duration.ofSeconds(5))
            .ticker(requireNonNull(ticker, "ticker"))
            .build();
  }

  Caller authenticate(String token) {
    ApiKeys.Parsed parsed = ApiKeys.parse(token);
    if (parsed == null) {
      throw ApiException.unauthenticated(
          "API key is malformed or mistyped (expected sk-ar-<key id>.<secret><checksum> exactly as"
              + " issued)");
    }
    KeyRow row = cache.get(parsed.keyId(), id -> Optional.ofNullable(keys.find(id))).orElse(null);
    if (row == null || !ApiKeys.digestMatches(row.digest(), pepper.digest(parsed.secret()))) {
      throw ApiException.unauthenticated(NOT_RECOGNISED);
    }
    if (row.revokedAt() != null) {
      throw ApiException.unauthenticated("API key '" + row.id() + "' has been revoked");
    }
    if (row.expired(clock.instant())) {
      throw ApiException.unauthenticated(
          "API key '" + row.id() + "' expired at " + row.expiresAt());
    }
    Principal principal = principals.find(row.principalId());
    if (principal == null) {
      throw ApiException.unauthenticated(NOT_RECOGNISED);
    }
    return new Caller(
        principal, Caller.Credential.API_KEY, row.id(), row.customerId(), row.projectId());
  }

  /** Forgets a key at once (after revocation on this replica). */
  public void invalidate(UUID keyId) {
    cache.invalidate(keyId);
  }
}
