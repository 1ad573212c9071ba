package io.agentrouter.controlplane.dataplanes;

import static io.agentrouter.controlplane.db.Tables.DATAPLANES;
import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.db.tables.records.DataplanesRecord;
import io.agentrouter.controlplane.rpc.ApiException;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.UUID;
import org.jooq.DSLContext;
import org.jspecify.annotations.Nullable;

/** The data-plane registry in PostgreSQL. Tokens and credentials are stored as SHA-256 only. */
public final class DataplaneStore {
  private final DSLContext dsl;

  public DataplaneStore(DSLContext dsl) {
    this.dsl = requireNonNull(dsl, "dsl");
  }

  /** A registered data plane. */
  public record DataplaneRow(
      UUID id,
      String name,
      String region,
      String publicUrl,
      boolean pending,
      Instant createdAt,
      @Nullable Instant activatedAt,
      @Nullable Instant drainedAt,
      @Nullable Instant lastHeartbeatAt,
      @Nullable String ackedConfigVersion,
      @Nullable String lastNackVersion,
      @Nullable String lastNackError,
      @Nullable Instant lastNackAt,
      @Nullable UUID poolId,
      int registrationsLeft) {
    /** Heartbeat within {@link #HEALTHY_WITHIN} of {@code now}. */
    public boolean healthy(Instant now) {
      return lastHeartbeatAt != null && lastHeartbeatAt.isAfter(now.minus(HEALTHY_WITHIN));
    }
  }

  /**
   * Data planes should heartbeat every {@link #HEARTBEAT_INTERVAL}; one that missed three in a row
   * gets no new traffic.
   */
  public static final java.time.Duration HEARTBEAT_INTERVAL = java.time.Duration.ofSeconds(10);

  public static final java.time.Duration HEALTHY_WITHIN = HEARTBEAT_INTERVAL.multipliedBy(3);

  public DataplaneRow insert(
      UUID id,
      String name,
      String region,
      String publicUrl,
      String tokenHash,
      int maxInstances,
      Instant now) {
    int n =
        dsl.insertInto(DATAPLANES)
            .set(DATAPLANES.ID, id)
            .set(DATAPLANES.NAME, name)
            .set(DATAPLANES.REGION, region)
            .set(DATAPLANES.PUBLIC_URL, publicUrl)
            .set(DATAPLANES.REGISTRATION_TOKEN_HASH, tokenHash)
            .set(DATAPLANES.REGISTRATIONS_LEFT, maxInstances)
            .set(DATAPLANES.CREATED_AT, now.atOffset(ZoneOffset.UTC))
            .onConflictDoNothing()
            .execute();
    if (n == 0) {
      throw ApiException.conflict(
          "a data plane named '" + name + "' is already registered (expected a unique name)");
    }
    return requireNonNull(find(id), "inserted data plane");
  }

  public @Nullable DataplaneRow find(UUID id) {
    DataplanesRecord r = dsl.selectFrom(DATAPLANES).where(DATAPLANES.ID.eq(id)).fetchOne();
    return r == null ? null : map(r);
  }

  public List<DataplaneRow> list() {
    return dsl.selectFrom(DATAPLANES)
        .orderBy(DATAPLANES.CREATED_AT, DATAPLANES.ID)
        .fetch(DataplaneStore::map);
  }

  /**
   * Data planes that may receive new traffic for a region: registered, not drained, and with a
   * heartbeat within {@link #HEALTHY_WITHIN}.
   */
  public List<DataplaneRow> eligible(String region) {
    return dsl.selectFrom(DATAPLANES)
        .where(DATAPLANES.REGION.eq(region))
        .and(DATAPLANES.DRAINED_AT.isNull())
        .and(
            DATAPLANES.LAST_HEARTBEAT_AT.gt(
                Instant.now().minus(HEALTHY_WITHIN).atOffset(ZoneOffset.UTC)))
        .orderBy(DATAPLANES.CREATED_AT, DATAPLANES.ID)
        .fetch(DataplaneStore::map);
  }

  public @Nullable DataplaneRow drain(UUID id, Instant now) {
    dsl.update(DATAPLANES)
        .set(DATAPLANES.DRAINED_AT, now.atOffset(ZoneOffset.UTC))
        .where(DATAPLANES.ID.eq(id))
        .and(DATAPLANES.DRAINED_AT.isNull())
        .execute();
    return find(id);
  }

  /**
   * Exchanges a registration token (by hash) for a credential (by hash). The first exchange
   * activates the registered data plane; while registrations are left, each later one adds a
   * sibling instance with the same region and URL. The last one clears the token hash. The token
   * row is locked, so concurrent exchanges never register more instances than allowed.
   */
  public @Nullable DataplaneRow activate(String tokenHash, String credentialHash, Instant now) {
    return dsl.transactionResult(
        cfg -> {
          DSLContext tx = cfg.dsl();
          DataplanesRecord r =
              tx.selectFrom(DATAPLANES)
                  .where(DATAPLANES.REGISTRATION_TOKEN_HASH.eq(tokenHash))
                  .forUpdate()
                  .fetchOne();
          if (r == null || r.getRegistrationsLeft() <= 0) {
            return null;
          }
          int left = r.getRegistrationsLeft() - 1;
          tx.update(DATAPLANES)
              .set(DATAPLANES.REGISTRATIONS_LEFT, left)
              .set(DATAPLANES.REGISTRATION_TOKEN_HASH, left == 0 ? null : tokenHash)
              .where(DATAPLANES.ID.eq(r.getId()))
              .execute();
          if (r.getCredentialHash() == null) {
            DataplanesRecord first =
                tx.update(DATAPLANES)
                    .set(DATAPLANES.CREDENTIAL_HASH, credentialHash)
                    .set(DATAPLANES.ACTIVATED_AT, now.atOffset(ZoneOffset.UTC))
                    .where(DATAPLANES.ID.eq(r.getId()))
                    .returning()
                    .fetchOne();
            return map(requireNonNull(first));
          }
          UUID id = UUID.randomUUID();
          DataplanesRecord sibling =
              tx.insertInto(DATAPLANES)
                  .set(DATAPLANES.ID, id)
                  .set(DATAPLANES.NAME, r.getName() + "-" + id.toString().substring(0, 8))
                  .set(DATAPLANES.REGION, r.getRegion())
                  .set(DATAPLANES.PUBLIC_URL, r.getPublicUrl())
                  .set(DATAPLANES.CREDENTIAL_HASH, credentialHash)
                  .set(DATAPLANES.CREATED_AT, now.atOffset(ZoneOffset.UTC))
                  .set(DATAPLANES.ACTIVATED_AT, now.atOffset(ZoneOffset.UTC))
                  .set(DATAPLANES.REGISTRATIONS_LEFT, 0)
                  .set(DATAPLANES.POOL_ID, r.getId())
                  .returning()
                  .fetchOne();
          return map(requireNonNull(sibling));
        });
  }

  /** Records a heartbeat from the data plane holding this credential; null when unknown. */
  public @Nullable DataplaneRow heartbeat(
      String credentialHash, String configVersion, Instant now) {
    DataplanesRecord r =
        dsl.update(DATAPLANES)
            .set(DATAPLANES.LAST_HEARTBEAT_AT, now.atOffset(ZoneOffset.UTC))
            .set(DATAPLANES.ACKED_CONFIG_VERSION, configVersion.isEmpty() ? null : configVersion)
            .where(DATAPLANES.CREDENTIAL_HASH.eq(credentialHash))
            .returning()
            .fetchOne();
    return r == null ? null : map(r);
  }

  /** The activated data plane holding this credential (by hash); null when unknown. */
  public @Nullable DataplaneRow byCredential(String credentialHash) {
    DataplanesRecord r =
        dsl.selectFrom(DATAPLANES).where(DATAPLANES.CREDENTIAL_HASH.eq(credentialHash)).fetchOne();
    return r == null ? null : map(r);
  }

  /** Records that the data plane applied a config version. */
  public void recordAck(UUID id, String version) {
    dsl.update(DATAPLANES)
        .set(DATAPLANES.ACKED_CONFIG_VERSION, version)
        .where(DATAPLANES.ID.eq(id))
        .execute();
  }

  /** Records that the data plane rejected a config version, and why. */
  public void recordNack(UUID id, String version, String error, Instant now) {
    dsl.update(DATAPLANES)
        .set(DATAPLANES.LAST_NACK_VERSION, version)
        .set(DATAPLANES.LAST_NACK_ERROR, error)
        .set(DATAPLANES.LAST_NACK_AT, now.atOffset(ZoneOffset.UTC))
        .where(DATAPLANES.ID.eq(id))
        .execute();
  }

  /**
   * Data planes that may receive Prompt traffic for a region: activated, not drained, and with a
   * heartbeat at or after {@code heartbeatSince}.
   */
  public List<DataplaneRow> healthy(String region, Instant heartbeatSince) {
    return dsl.selectFrom(DATAPLANES)
        .where(DATAPLANES.REGION.eq(region))
        .and(DATAPLANES.DRAINED_AT.isNull())
        .and(DATAPLANES.CREDENTIAL_HASH.isNotNull())
        .and(DATAPLANES.LAST_HEARTBEAT_AT.ge(heartbeatSince.atOffset(ZoneOffset.UTC)))
        .orderBy(DATAPLANES.CREATED_AT, DATAPLANES.ID)
        .fetch(DataplaneStore::map);
  }

  public boolean delete(UUID id) {
    return dsl.deleteFrom(DATAPLANES).where(DATAPLANES.ID.eq(id)).execute() > 0;
  }

  static DataplaneRow map(DataplanesRecord r) {
    return new DataplaneRow(
        r.getId(),
        r.getName(),
        r.getRegion(),
        r.getPublicUrl(),
        r.getCredentialHash() == null,
        r.getCreatedAt().toInstant(),
        r.getActivatedAt() == null ? null : r.getActivatedAt().toInstant(),
        r.getDrainedAt() == null ? null : r.getDrainedAt().toInstant(),
        r.getLastHeartbeatAt() == null ? null : r.getLastHeartbeatAt().toInstant(),
        r.getAckedConfigVersion(),
        r.getLastNackVersion(),
        r.getLastNackError(),
        r.getLastNackAt() == null ? null : r.getLastNackAt().toInstant(),
        r.getPoolId(),
        r.getRegistrationTokenHash() == null ? 0 : r.getRegistrationsLeft());
  }
}
