package io.agentrouter.controlplane.keys;

import static io.agentrouter.controlplane.db.Tables.API_KEYS;
import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.db.tables.records.ApiKeysRecord;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.jooq.DSLContext;
import org.jspecify.annotations.Nullable;

/** API keys in PostgreSQL: metadata and the HMAC digest of the secret, never the secret. */
public final class KeyStore {
  private final DSLContext dsl;

  public KeyStore(DSLContext dsl) {
    this.dsl = requireNonNull(dsl, "dsl");
  }

  /** A stored key. customerId/projectId are null only for the bootstrap operator's key. */
  public record KeyRow(
      UUID id,
      UUID principalId,
      @Nullable UUID customerId,
      @Nullable UUID projectId,
      String name,
      String digest,
      String lastFour,
      int requestsPerMinute,
      long tokensPerMinute,
      int maxConcurrentRequests,
      @Nullable Long monthlyBudgetMicros,
      List<String> allowedModels,
      @Nullable Instant expiresAt,
      Instant createdAt,
      @Nullable Instant revokedAt) {

    public KeyRow {
      requireNonNull(id, "id");
      requireNonNull(principalId, "principalId");
      requireNonNull(name, "name");
      requireNonNull(digest, "digest");
      allowedModels = List.copyOf(allowedModels);
    }

    public boolean expired(Instant now) {
      return expiresAt != null && !now.isBefore(expiresAt);
    }

    /** The digest stays out of logs too. */
    @Override
    public String toString() {
      return "KeyRow[id=" + id + ", projectId=" + projectId + ", name=" + name + "]";
    }
  }

  /** Inserts within the caller's transaction context ({@code tx} may be the plain DSL). */
  public static void insert(DSLContext tx, KeyRow k) {
    tx.insertInto(API_KEYS)
        .set(API_KEYS.ID, k.id())
        .set(API_KEYS.PRINCIPAL_ID, k.principalId())
        .set(API_KEYS.CUSTOMER_ID, k.customerId())
        .set(API_KEYS.PROJECT_ID, k.projectId())
        .set(API_KEYS.NAME, k.name())
        .set(API_KEYS.DIGEST, k.digest())
        .set(API_KEYS.LAST_FOUR, k.lastFour())
        .set(API_KEYS.REQUESTS_PER_MINUTE, k.requestsPerMinute())
        .set(API_KEYS.TOKENS_PER_MINUTE, k.tokensPerMinute())
        .set(API_KEYS.MAX_CONCURRENT_REQUESTS, k.maxConcurrentRequests())
        .set(API_KEYS.MONTHLY_BUDGET_MICROS, k.monthlyBudgetMicros())
        .set(API_KEYS.ALLOWED_MODELS, String.join("\n", k.allowedModels()))
        .set(API_KEYS.EXPIRES_AT, odt(k.expiresAt()))
        .set(API_KEYS.CREATED_AT, odt(k.createdAt()))
        .execute();
  }

  public void insert(KeyRow k) {
    insert(dsl, k);
  }

  public @Nullable KeyRow find(UUID id) {
    ApiKeysRecord r = dsl.selectFrom(API_KEYS).where(API_KEYS.ID.eq(id)).fetchOne();
    return r == null ? null : map(r);
  }

  public List<KeyRow> list(UUID projectId, int offset, int limit) {
    return dsl.selectFrom(API_KEYS)
        .where(API_KEYS.PROJECT_ID.eq(projectId))
        .orderBy(API_KEYS.CREATED_AT, API_KEYS.ID)
        .offset(offset)
        .limit(limit)
        .fetch(KeyStore::map);
  }

  /** Marks the key revoked (keeping the first revocation time) and returns it. */
  public @Nullable KeyRow revoke(UUID id, Instant now) {
    dsl.update(API_KEYS)
        .set(API_KEYS.REVOKED_AT, odt(now))
        .where(API_KEYS.ID.eq(id))
        .and(API_KEYS.REVOKED_AT.isNull())
        .execute();
    return find(id);
  }

  /** The project's most recently created key that still authenticates. */
  public @Nullable KeyRow newestActive(UUID projectId, Instant now) {
    ApiKeysRecord r =
        dsl.selectFrom(API_KEYS)
            .where(API_KEYS.PROJECT_ID.eq(projectId))
            .and(API_KEYS.REVOKED_AT.isNull())
            .and(API_KEYS.EXPIRES_AT.isNull().or(API_KEYS.EXPIRES_AT.gt(odt(now))))
            .orderBy(API_KEYS.CREATED_AT.desc(), API_KEYS.ID.desc())
            .limit(1)
            .fetchOne();
    return r == null ? null : map(r);
  }

  static @Nullable OffsetDateTime odt(@Nullable Instant i) {
    return i == null ? null : i.atOffset(ZoneOffset.UTC);
  }

  static KeyRow map(ApiKeysRecord r) {
    String models = r.getAllowedModels();
    return new KeyRow(
        r.getId(),
        r.getPrincipalId(),
        r.getCustomerId(),
        r.getProjectId(),
        r.getName(),
        r.getDigest(),
        r.getLastFour(),
        r.getRequestsPerMinute(),
        r.getTokensPerMinute(),
        r.getMaxConcurrentRequests(),
        r.getMonthlyBudgetMicros(),
        models.isEmpty() ? List.of() : Arrays.asList(models.split("\n")),
        r.getExpiresAt() == null ? null : r.getExpiresAt().toInstant(),
        r.getCreatedAt().toInstant(),
        r.getRevokedAt() == null ? null : r.getRevokedAt().toInstant());
  }
}
