package io.agentrouter.controlplane.providerkeys;

import static io.agentrouter.controlplane.db.Tables.PROVIDER_KEYS;
import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.db.tables.records.ProviderKeysRecord;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import org.jooq.DSLContext;
import org.jspecify.annotations.Nullable;

/** Provider keys in PostgreSQL; secrets only as envelope ciphertext. */
public final class ProviderKeyStore {
  private final DSLContext dsl;

  public ProviderKeyStore(DSLContext dsl) {
    this.dsl = requireNonNull(dsl, "dsl");
  }

  /** A provider key row; {@code sealed} holds ciphertext only. */
  public record ProviderKeyRow(
      UUID id,
      UUID customerId,
      UUID projectId,
      String provider,
      String name,
      String baseUrl,
      String lastFour,
      ProviderKeyCrypto.Sealed sealed,
      Instant createdAt,
      Instant updatedAt) {}

  void insert(ProviderKeyRow r) {
    dsl.insertInto(PROVIDER_KEYS)
        .set(PROVIDER_KEYS.ID, r.id())
        .set(PROVIDER_KEYS.CUSTOMER_ID, r.customerId())
        .set(PROVIDER_KEYS.PROJECT_ID, r.projectId())
        .set(PROVIDER_KEYS.PROVIDER, r.provider())
        .set(PROVIDER_KEYS.NAME, r.name())
        .set(PROVIDER_KEYS.BASE_URL, r.baseUrl())
        .set(PROVIDER_KEYS.LAST_FOUR, r.lastFour())
        .set(PROVIDER_KEYS.MASTER_KEY_ID, r.sealed().masterKeyId())
        .set(PROVIDER_KEYS.WRAPPED_DATA_KEY, r.sealed().wrappedDataKey())
        .set(PROVIDER_KEYS.SECRET_CIPHERTEXT, r.sealed().secretCiphertext())
        .set(PROVIDER_KEYS.CREATED_AT, r.createdAt().atOffset(ZoneOffset.UTC))
        .set(PROVIDER_KEYS.UPDATED_AT, r.updatedAt().atOffset(ZoneOffset.UTC))
        .execute();
  }

  void update(ProviderKeyRow r) {
    dsl.update(PROVIDER_KEYS)
        .set(PROVIDER_KEYS.NAME, r.name())
        .set(PROVIDER_KEYS.BASE_URL, r.baseUrl())
        .set(PROVIDER_KEYS.LAST_FOUR, r.lastFour())
        .set(PROVIDER_KEYS.MASTER_KEY_ID, r.sealed().masterKeyId())
        .set(PROVIDER_KEYS.WRAPPED_DATA_KEY, r.sealed().wrappedDataKey())
        .set(PROVIDER_KEYS.SECRET_CIPHERTEXT, r.sealed().secretCiphertext())
        .set(PROVIDER_KEYS.UPDATED_AT, r.updatedAt().atOffset(ZoneOffset.UTC))
        .where(PROVIDER_KEYS.ID.eq(r.id()))
        .execute();
  }

  public @Nullable ProviderKeyRow find(UUID projectId, UUID id) {
    ProviderKeysRecord r =
        dsl.selectFrom(PROVIDER_KEYS)
            .where(PROVIDER_KEYS.ID.eq(id))
            .and(PROVIDER_KEYS.PROJECT_ID.eq(projectId))
            .fetchOne();
    return r == null ? null : map(r);
  }

  public List<ProviderKeyRow> list(UUID projectId) {
    return dsl.selectFrom(PROVIDER_KEYS)
        .where(PROVIDER_KEYS.PROJECT_ID.eq(projectId))
        .orderBy(PROVIDER_KEYS.CREATED_AT, PROVIDER_KEYS.ID)
        .fetch(ProviderKeyStore::map);
  }

  public static List<ProviderKeyRow> listIn(DSLContext dsl, java.util.Collection<UUID> projects) {
    return dsl.selectFrom(PROVIDER_KEYS)
        .where(PROVIDER_KEYS.PROJECT_ID.in(projects))
        .orderBy(PROVIDER_KEYS.CREATED_AT, PROVIDER_KEYS.ID)
        .fetch(ProviderKeyStore::map);
  }

  boolean delete(UUID projectId, UUID id) {
    return dsl.deleteFrom(PROVIDER_KEYS)
            .where(PROVIDER_KEYS.ID.eq(id))
            .and(PROVIDER_KEYS.PROJECT_ID.eq(projectId))
            .execute()
        > 0;
  }

  static ProviderKeyRow map(ProviderKeysRecord r) {
    return new ProviderKeyRow(
        r.getId(),
        r.getCustomerId(),
        r.getProjectId(),
        r.getProvider(),
        r.getName(),
        r.getBaseUrl(),
        r.getLastFour(),
        new ProviderKeyCrypto.Sealed(
            r.getMasterKeyId(), r.getWrappedDataKey(), r.getSecretCiphertext()),
        r.getCreatedAt().toInstant(),
        r.getUpdatedAt().toInstant());
  }
}
