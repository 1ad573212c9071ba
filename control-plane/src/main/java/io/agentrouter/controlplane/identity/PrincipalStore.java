package io.agentrouter.controlplane.identity;

import static io.agentrouter.controlplane.db.Tables.PRINCIPALS;
import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.db.tables.records.PrincipalsRecord;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
import org.jooq.DSLContext;
import org.jspecify.annotations.Nullable;

/** Principals in PostgreSQL. */
public final class PrincipalStore {
  private final DSLContext dsl;
  private final Clock clock;

  public PrincipalStore(DSLContext dsl, Clock clock) {
    this.dsl = requireNonNull(dsl, "dsl");
    this.clock = requireNonNull(clock, "clock");
  }

  public @Nullable Principal find(UUID id) {
    PrincipalsRecord r = dsl.selectFrom(PRINCIPALS).where(PRINCIPALS.ID.eq(id)).fetchOne();
    return r == null ? null : map(r);
  }

  public @Nullable Principal findOidc(String issuer, String subject) {
    PrincipalsRecord r =
        dsl.selectFrom(PRINCIPALS)
            .where(PRINCIPALS.OIDC_ISSUER.eq(issuer))
            .and(PRINCIPALS.OIDC_SUBJECT.eq(subject))
            .fetchOne();
    return r == null ? null : map(r);
  }

  /** The user principal of an OIDC identity, created on first sight (race-safe). */
  public Principal provisionOidc(String issuer, String subject, String displayName) {
    Principal existing = findOidc(issuer, subject);
    if (existing != null) {
      return existing;
    }
    dsl.insertInto(PRINCIPALS)
        .set(PRINCIPALS.ID, UUID.randomUUID())
        .set(PRINCIPALS.KIND, Principal.Kind.USER.db)
        .set(PRINCIPALS.DISPLAY_NAME, displayName)
        .set(PRINCIPALS.OIDC_ISSUER, issuer)
        .set(PRINCIPALS.OIDC_SUBJECT, subject)
        .set(PRINCIPALS.PLATFORM_ROLE, "none")
        .set(PRINCIPALS.CREATED_AT, now())
        .onConflict(PRINCIPALS.OIDC_ISSUER, PRINCIPALS.OIDC_SUBJECT)
        .doNothing()
        .execute();
    return requireNonNull(findOidc(issuer, subject), "provisioned principal");
  }

  /** Inserts the bootstrap operator inside the caller's transaction. */
  public static Principal insertBootstrapOperator(DSLContext tx, Instant now) {
    UUID id = UUID.randomUUID();
    tx.insertInto(PRINCIPALS)
        .set(PRINCIPALS.ID, id)
        .set(PRINCIPALS.KIND, Principal.Kind.BOOTSTRAP_OPERATOR.db)
        .set(PRINCIPALS.DISPLAY_NAME, "operator")
        .set(PRINCIPALS.PLATFORM_ROLE, "operator")
        .set(PRINCIPALS.CREATED_AT, now.atOffset(ZoneOffset.UTC))
        .execute();
    return new Principal(id, Principal.Kind.BOOTSTRAP_OPERATOR, "operator", null, null, true, now);
  }

  public static boolean bootstrapDone(DSLContext tx) {
    return tx.fetchExists(PRINCIPALS, PRINCIPALS.KIND.eq(Principal.Kind.BOOTSTRAP_OPERATOR.db));
  }

  private java.time.OffsetDateTime now() {
    return clock.instant().truncatedTo(ChronoUnit.MICROS).atOffset(ZoneOffset.UTC);
  }

  static Principal map(PrincipalsRecord r) {
    return new Principal(
        r.getId(),
        Principal.Kind.fromDb(r.getKind()),
        r.getDisplayName(),
        r.getOidcIssuer(),
        r.getOidcSubject(),
        "operator".equals(r.getPlatformRole()),
        r.getCreatedAt().toInstant());
  }
}
