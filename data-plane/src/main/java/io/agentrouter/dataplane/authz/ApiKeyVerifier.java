package io.agentrouter.dataplane.authz;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.common.keys.ApiKeys;
import io.agentrouter.dataplane.config.RuntimeConfig;
import java.time.Clock;
import java.time.Duration;
import java.util.UUID;

/**
 * Checks an {@code sk-ar-} key: format and checksum (no lookup for a mistyped key), then one
 * hash-map hit by key id, then a constant-time comparison of HMAC digests.
 *
 * <p>Parsing a token and computing its HMAC cost more than the rest of the chain's own work, and
 * they depend only on the token and the snapshot's pepper. So both are cached per snapshot: a
 * bounded cache keyed by the whole token (equality, never a hash alone, so one token cannot stand
 * for another), dropped whenever the snapshot changes. The key lookup, the constant-time digest
 * comparison and the status and expiry checks still run on every request, against the current
 * snapshot, so a revoked, expired, removed or re-issued key is refused as soon as its snapshot is.
 */
final class ApiKeyVerifier {
  private static final String INVALID =
      "Incorrect API key provided. Check the key, or create a new one.";
  static final int CACHE_SIZE = 10_000;
  private static final Duration CACHE_TTL = Duration.ofMinutes(10);

  private final Clock clock;
  private volatile PerSnapshot cache = new PerSnapshot(null);

  ApiKeyVerifier(Clock clock) {
    this.clock = clock;
  }

  ExtAuthz.Verdict verify(RuntimeConfig config, String token) {
    Checked checked = checked(config, token);
    if (checked == null) {
      return ExtAuthz.Verdict.refused(INVALID);
    }
    KeyConfig key = config.key(checked.keyId());
    if (key == null || !ApiKeys.digestMatches(key.digest(), checked.digest())) {
      return ExtAuthz.Verdict.refused(INVALID);
    }
    if (!key.usableAt(clock.instant())) {
      return ExtAuthz.Verdict.refused(
          "This API key has been revoked or has expired (key id " + key.keyId() + ").");
    }
    return ExtAuthz.Verdict.ok(key);
  }

  /** The token's key id and digest under {@code config}'s pepper, or null when malformed. */
  private Checked checked(RuntimeConfig config, String token) {
    PerSnapshot c = cache;
    if (c.config != config) {
      c = new PerSnapshot(config);
      cache = c;
    }
    Checked hit = c.tokens.getIfPresent(token);
    if (hit != null) {
      return hit;
    }
    ApiKeys.Parsed parsed = ApiKeys.parse(token);
    if (parsed == null) {
      // Not cached: malformed input is refused before any HMAC, and must not evict good entries.
      return null;
    }
    // Computed even for an unknown id, so timing does not tell ids apart.
    Checked fresh = new Checked(parsed.keyId(), ApiKeys.digest(config.pepper(), parsed.secret()));
    c.tokens.put(token, fresh);
    return fresh;
  }

  /** The cache of one snapshot; a new snapshot starts with an empty one. */
  private static final class PerSnapshot {
    final RuntimeConfig config;
    final Cache<String, Checked> tokens =
        Caffeine.newBuilder()
            .maximumSize(CACHE_SIZE)
            .expireAfterAccess(CACHE_TTL)
            .executor(Runnable::run)
            .build();

    PerSnapshot(RuntimeConfig config) {
      this.config = config;
    }
  }

  /** A well-formed token's key id and HMAC digest; the secret itself is not kept. */
  private record Checked(UUID keyId, String digest) {
    @Override
    public String toString() {
      return "Checked[keyId=" + keyId + "]";
    }
  }
}
