package io.agentrouter.controlplane.tokens;

import static io.agentrouter.controlplane.db.Tables.SIGNING_KEYS;
import static java.util.Objects.requireNonNull;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import io.agentrouter.common.jwt.MpJwt;
import io.agentrouter.controlplane.crypto.MasterKey;
import io.agentrouter.controlplane.db.tables.records.SigningKeysRecord;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.jooq.DSLContext;
import org.jspecify.annotations.Nullable;

/**
 * The ES256 key set that signs MP JWTs. The newest unretired key signs; a rotation retires it and
 * keeps it published until every token it could have signed has expired. Private keys are stored
 * AES-256-GCM-encrypted under the master key, bound to their kid.
 */
public final class SigningKeys {
  /** How long a retired key stays published: the longest token lifetime plus clock skew. */
  static final Duration RETIRED_GRACE = MpJwt.MAX_TTL.plus(Duration.ofMinutes(1));

  private static final Duration RELOAD_AFTER = Duration.ofSeconds(30);
  private static final long ADVISORY_LOCK = 0x4152_5349_474eL; // "ARSIGN"

  private final DSLContext dsl;
  private final MasterKey masterKey;
  private final Clock clock;
  private final AtomicReference<@Nullable State> state = new AtomicReference<>();

  /** A published key: its public JWK and lifecycle. */
  public record Published(
      String kid,
      ECKey publicJwk,
      Instant createdAt,
      boolean active,
      @Nullable Instant expiresAt) {}

  private record State(List<Published> published, ECKey signer, Instant loadedAt) {}

  public SigningKeys(DSLContext dsl, MasterKey masterKey, Clock clock) {
    this.dsl = requireNonNull(dsl, "dsl");
    this.masterKey = requireNonNull(masterKey, "masterKey");
    this.clock = requireNonNull(clock, "clock");
  }

  /** Makes sure an active key exists (first start) and loads the set. */
  public void init() {
    dsl.transaction(
        cfg -> {
          DSLContext tx = cfg.dsl();
          tx.execute("select pg_advisory_xact_lock(" + ADVISORY_LOCK + ")");
          if (!tx.fetchExists(SIGNING_KEYS, SIGNING_KEYS.RETIRED_AT.isNull())) {
            insertNew(tx, now());
          }
        });
    reload();
  }

  /** Retires the active key and creates a new one, atomically. */
  public Published rotate() {
    dsl.transaction(
        cfg -> {
          DSLContext tx = cfg.dsl();
          tx.execute("select pg_advisory_xact_lock(" + ADVISORY_LOCK + ")");
          Instant now = now();
          tx.update(SIGNING_KEYS)
              .set(SIGNING_KEYS.RETIRED_AT, now.atOffset(ZoneOffset.UTC))
              .set(SIGNING_KEYS.EXPIRES_AT, now.plus(RETIRED_GRACE).atOffset(ZoneOffset.UTC))
              .where(SIGNING_KEYS.RETIRED_AT.isNull())
              .execute();
          insertNew(tx, now);
        });
    return reload().published().get(0);
  }

  /** The key new tokens are signed with. */
  public ECKey signer() {
    return fresh().signer();
  }

  /** Keys in the JWKS, newest first. */
  public List<Published> published() {
    return fresh().published();
  }

  /** The JWKS document ({@code {"keys": [...]}}), public parts only. */
  public String jwksJson() {
    List<com.nimbusds.jose.jwk.JWK> keys = new ArrayList<>();
    for (Published p : published()) {
      keys.add(p.publicJwk());
    }
    return new JWKSet(keys).toString(true);
  }

  private State fresh() {
    State s = state.get();
    if (s == null || Duration.between(s.loadedAt(), clock.instant()).compareTo(RELOAD_AFTER) > 0) {
      return reload();
    }
    return s;
  }

  private State reload() {
    Instant now = clock.instant();
    List<SigningKeysRecord> rows =
        dsl.selectFrom(SIGNING_KEYS)
            .where(
                SIGNING_KEYS
                    .EXPIRES_AT
                    .isNull()
                    .or(SIGNING_KEYS.EXPIRES_AT.gt(now.atOffset(ZoneOffset.UTC))))
            .orderBy(SIGNING_KEYS.CREATED_AT.desc(), SIGNING_KEYS.KID.desc())
            .fetch();
    List<Published> published = new ArrayList<>();
    ECKey signer = null;
    for (SigningKeysRecord r : rows) {
      boolean active = r.getRetiredAt() == null;
      try {
        published.add(
            new Published(
                r.getKid(),
                ECKey.parse(r.getPublicJwk()),
                r.getCreatedAt().toInstant(),
                active,
                r.getExpiresAt() == null ? null : r.getExpiresAt().toInstant()));
        if (active && signer == null) {
          signer =
              ECKey.parse(
                  new String(
                      masterKey.decrypt(r.getPrivateKeyCiphertext(), context(r.getKid())),
                      StandardCharsets.UTF_8));
        }
      } catch (ParseException e) {
        throw new IllegalStateException(
            "signing key " + r.getKid() + " is stored in an unreadable form", e);
      }
    }
    if (signer == null) {
      throw new IllegalStateException("no active signing key (expected one after init())");
    }
    State s = new State(List.copyOf(published), signer, now);
    state.set(s);
    return s;
  }

  private void insertNew(DSLContext tx, Instant now) {
    String kid =
        "ar-"
            + now.toString().substring(0, 10).replace("-", "")
            + "-"
            + UUID.randomUUID().toString().substring(0, 8);
    ECKey key;
    try {
      key =
          new ECKeyGenerator(Curve.P_256)
              .keyID(kid)
              .algorithm(JWSAlgorithm.ES256)
              .keyUse(KeyUse.SIGNATURE)
              .generate();
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot generate a P-256 key", e);
    }
    tx.insertInto(SIGNING_KEYS)
        .set(SIGNING_KEYS.KID, kid)
        .set(SIGNING_KEYS.ALGORITHM, MpJwt.ALGORITHM)
        .set(SIGNING_KEYS.PUBLIC_JWK, key.toPublicJWK().toJSONString())
        .set(
            SIGNING_KEYS.PRIVATE_KEY_CIPHERTEXT,
            masterKey.encrypt(key.toJSONString().getBytes(StandardCharsets.UTF_8), context(kid)))
        .set(SIGNING_KEYS.CREATED_AT, now.atOffset(ZoneOffset.UTC))
        .execute();
  }

  private Instant now() {
    return clock.instant().truncatedTo(ChronoUnit.MICROS);
  }

  private static String context(String kid) {
    return "signing_key:" + kid;
  }
}
