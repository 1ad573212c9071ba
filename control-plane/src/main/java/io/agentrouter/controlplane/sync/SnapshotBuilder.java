package io.agentrouter.controlplane.sync;

import static io.agentrouter.controlplane.db.Tables.API_KEYS;
import static io.agentrouter.controlplane.db.Tables.CONFIG_EPOCH;
import static io.agentrouter.controlplane.db.Tables.PROJECTS;
import static io.agentrouter.controlplane.db.Tables.SIGNING_KEYS;
import static java.util.Objects.requireNonNull;

import com.google.protobuf.ByteString;
import io.agentrouter.controlplane.catalog.CatalogStore;
import io.agentrouter.controlplane.catalog.CatalogStore.ModelRow;
import io.agentrouter.controlplane.db.tables.records.ApiKeysRecord;
import io.agentrouter.controlplane.db.tables.records.ProjectsRecord;
import io.agentrouter.controlplane.keys.Pepper;
import io.agentrouter.controlplane.providerkeys.ProviderKeyCrypto;
import io.agentrouter.controlplane.providerkeys.ProviderKeyStore;
import io.agentrouter.controlplane.providerkeys.ProviderKeyStore.ProviderKeyRow;
import io.agentrouter.controlplane.routes.RouteStore;
import io.agentrouter.controlplane.routes.RouteStore.RouteRow;
import io.agentrouter.controlplane.routes.RouteStore.Target;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.proto.dataplane.v1.BudgetPosition;
import io.agentrouter.proto.dataplane.v1.DataplaneSnapshot;
import io.agentrouter.proto.dataplane.v1.ProviderCredential;
import io.agentrouter.proto.dataplane.v1.SigningPublicKey;
import io.agentrouter.proto.dataplane.v1.SnapshotKey;
import io.agentrouter.proto.dataplane.v1.SnapshotKeyStatus;
import io.agentrouter.proto.dataplane.v1.SnapshotModel;
import io.agentrouter.proto.dataplane.v1.SnapshotProject;
import io.agentrouter.proto.dataplane.v1.SnapshotRoute;
import io.agentrouter.proto.dataplane.v1.SnapshotRouteTarget;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the immutable snapshot of one region from a single consistent read (repeatable read): its
 * version is the config epoch that read saw, so a snapshot and its version always agree. The result
 * is validated (every route target names a catalog model and a credential it carries) before anyone
 * may publish it.
 */
public final class SnapshotBuilder {
  private static final Logger logger = LoggerFactory.getLogger(SnapshotBuilder.class);

  /** A region's snapshot (no data-plane id yet), its epoch and a hash of its content. */
  public record Built(long epoch, DataplaneSnapshot snapshot, String contentHash) {
    @Override
    public String toString() {
      return "Built[epoch=" + epoch + ", hash=" + contentHash + "]";
    }
  }

  private final DSLContext dsl;
  private final ProviderKeyCrypto crypto;
  private final Pepper pepper;
  private final BudgetPositionSource budgets;
  private final String jwtIssuer;
  private final Clock clock;

  public SnapshotBuilder(
      DSLContext dsl,
      ProviderKeyCrypto crypto,
      Pepper pepper,
      BudgetPositionSource budgets,
      String jwtIssuer,
      Clock clock) {
    this.dsl = requireNonNull(dsl, "dsl");
    this.crypto = requireNonNull(crypto, "crypto");
    this.pepper = requireNonNull(pepper, "pepper");
    this.budgets = requireNonNull(budgets, "budgets");
    this.jwtIssuer = requireNonNull(jwtIssuer, "jwtIssuer");
    this.clock = requireNonNull(clock, "clock");
  }

  public Built build(String region) {
    return dsl.transactionResult(
        cfg -> {
          DSLContext tx = cfg.dsl();
          tx.execute("set transaction isolation level repeatable read, read only");
          return build(tx, region);
        });
  }

  private Built build(DSLContext tx, String region) {
    long epoch = tx.select(CONFIG_EPOCH.EPOCH).from(CONFIG_EPOCH).fetchSingle().value1();
    Instant now = clock.instant();
    DataplaneSnapshot.Builder b =
        DataplaneSnapshot.newBuilder()
            .setRegion(region)
            .setJwtIssuer(jwtIssuer)
            .setApiKeyPepper(ByteString.copyFrom(pepper.bytes()));

    List<ProjectsRecord> projects =
        tx.selectFrom(PROJECTS)
            // Home region, or allowed: a data plane holds exactly the projects it may serve.
            .where(
                PROJECTS
                    .REGION
                    .eq(region)
                    .or(DSL.val(region).eq(DSL.any(PROJECTS.ALLOWED_REGIONS))))
            .orderBy(PROJECTS.CREATED_AT, PROJECTS.ID)
            .fetch();
    Set<UUID> projectIds = new HashSet<>();
    for (ProjectsRecord p : projects) {
      projectIds.add(p.getId());
      b.addProjects(
          SnapshotProject.newBuilder()
              .setProjectId(p.getId().toString())
              .setCustomerId(p.getCustomerId().toString())
              .setRegion(p.getRegion())
              .setDefaultModel(p.getDefaultModel())
              .setMonthlyBudgetMicros(
                  p.getMonthlyBudgetMicros() == null ? 0 : p.getMonthlyBudgetMicros()));
    }

    Map<UUID, UUID> keyProject = new HashMap<>();
    for (ApiKeysRecord k :
        tx.selectFrom(API_KEYS)
            .where(API_KEYS.PROJECT_ID.in(projectIds))
            .orderBy(API_KEYS.CREATED_AT, API_KEYS.ID)
            .fetch()) {
      keyProject.put(k.getId(), k.getProjectId());
      SnapshotKey.Builder kb =
          SnapshotKey.newBuilder()
              .setKeyId(k.getId().toString())
              .setDigest(k.getDigest())
              .setCustomerId(k.getCustomerId().toString())
              .setProjectId(k.getProjectId().toString())
              .setPrincipalId(k.getPrincipalId().toString())
              .setRequestsPerMinute(k.getRequestsPerMinute())
              .setTokensPerMinute(k.getTokensPerMinute())
              .setMaxConcurrentRequests(k.getMaxConcurrentRequests())
              .setMonthlyBudgetMicros(
                  k.getMonthlyBudgetMicros() == null ? 0 : k.getMonthlyBudgetMicros())
              .setStatus(
                  k.getRevokedAt() == null
                      ? SnapshotKeyStatus.SNAPSHOT_KEY_STATUS_ACTIVE
                      : SnapshotKeyStatus.SNAPSHOT_KEY_STATUS_REVOKED);
      if (!k.getAllowedModels().isEmpty()) {
        kb.addAllAllowedModels(List.of(k.getAllowedModels().split("\n")));
      }
      if (k.getExpiresAt() != null) {
        kb.setExpiresAt(Fields.timestamp(k.getExpiresAt().toInstant()));
      }
      b.addKeys(kb);
    }

    Set<UUID> credentials = new HashSet<>();
    Set<UUID> undecryptable = new HashSet<>();
    for (ProviderKeyRow pk : ProviderKeyStore.listIn(tx, projectIds)) {
      String secret;
      try {
        secret = crypto.open(pk.customerId(), pk.projectId(), pk.id(), pk.sealed());
      } catch (IllegalStateException e) {
        // One undecryptable row must not take every project of the region down with it: the row
        // and the route targets using it are left out, the rest of the snapshot is published.
        logger.error(
            "Snapshot for region {}: leaving out a provider key: {}", region, e.getMessage());
        undecryptable.add(pk.id());
        continue;
      }
      credentials.add(pk.id());
      b.addProviderCredentials(
          ProviderCredential.newBuilder()
              .setProviderKeyId(pk.id().toString())
              .setProjectId(pk.projectId().toString())
              .setProvider(pk.provider())
              .setBaseUrl(pk.baseUrl())
              .setSecret(secret));
    }

    Set<String> modelIds = new HashSet<>();
    for (ModelRow m : CatalogStore.list(tx, null)) {
      modelIds.add(m.modelId());
      b.addModels(
          SnapshotModel.newBuilder()
              .setModelId(m.modelId())
              .setProvider(m.provider())
              .setName(m.name())
              .setInputPerMillionTokensMicros(orZero(m.inputPerMillion()))
              .setOutputPerMillionTokensMicros(orZero(m.outputPerMillion()))
              .setCachedInputPerMillionTokensMicros(orZero(m.cachedInputPerMillion()))
              .setPerImageMicros(orZero(m.perImage()))
              .setContextWindow(m.contextWindow())
              .setMaxOutputTokens(m.maxOutputTokens())
              .setChat(m.chat())
              .setEmbeddings(m.embeddings())
              .setImageGeneration(m.imageGeneration()));
    }

    for (RouteRow r : RouteStore.listIn(tx, projectIds)) {
      SnapshotRoute.Builder rb =
          SnapshotRoute.newBuilder()
              .setRouteId(r.id().toString())
              .setProjectId(r.projectId().toString())
              .setAlias(r.alias())
              .addAllFallbackOn(r.fallbackOn())
              .setTimeoutMs(r.timeoutMs());
      for (Target t : r.targets()) {
        if (!undecryptable.contains(t.providerKeyId())) {
          rb.addTargets(target(r, t, modelIds, credentials));
        }
      }
      for (Target t : r.fallbacks()) {
        if (!undecryptable.contains(t.providerKeyId())) {
          rb.addFallbacks(target(r, t, modelIds, credentials));
        }
      }
      if (rb.getTargetsCount() == 0) {
        logger.error(
            "Snapshot for region {}: leaving out route '{}' of project {}: none of its targets'"
                + " provider keys decrypts",
            region,
            r.alias(),
            r.projectId());
        continue;
      }
      b.addRoutes(rb);
    }

    tx.selectFrom(SIGNING_KEYS)
        .where(
            SIGNING_KEYS
                .EXPIRES_AT
                .isNull()
                .or(SIGNING_KEYS.EXPIRES_AT.gt(now.atOffset(ZoneOffset.UTC))))
        .orderBy(SIGNING_KEYS.CREATED_AT)
        .forEach(
            s -> {
              SigningPublicKey.Builder sk =
                  SigningPublicKey.newBuilder()
                      .setKid(s.getKid())
                      .setAlgorithm(s.getAlgorithm())
                      .setPublicJwk(s.getPublicJwk());
              if (s.getExpiresAt() != null) {
                sk.setExpiresAt(Fields.timestamp(s.getExpiresAt().toInstant()));
              }
              b.addSigningKeys(sk);
            });

    YearMonth month = YearMonth.from(now.atZone(ZoneOffset.UTC));
    BudgetPositionSource.Positions pos = budgets.monthToDate(projectIds, month);
    pos.byProject().entrySet().stream()
        .filter(e -> projectIds.contains(e.getKey()))
        .sorted(Map.Entry.comparingByKey())
        .forEach(
            e ->
                b.addBudgetPositions(
                    BudgetPosition.newBuilder()
                        .setProjectId(e.getKey().toString())
                        .setMonth(month.toString())
                        .setSpentMicros(e.getValue())));
    pos.byKey().entrySet().stream()
        .filter(e -> keyProject.containsKey(e.getKey()))
        .sorted(Map.Entry.comparingByKey())
        .forEach(
            e ->
                b.addBudgetPositions(
                    BudgetPosition.newBuilder()
                        .setProjectId(keyProject.get(e.getKey()).toString())
                        .setKeyId(e.getKey().toString())
                        .setMonth(month.toString())
                        .setSpentMicros(e.getValue())));

    DataplaneSnapshot content = b.build();
    return new Built(epoch, content, hash(content));
  }

  private static SnapshotRouteTarget target(
      RouteRow r, Target t, Set<String> models, Set<UUID> credentials) {
    if (!models.contains(t.model())) {
      throw new IllegalStateException(
          "route '"
              + r.alias()
              + "' of project "
              + r.projectId()
              + " targets '"
              + t.model()
              + "', which is not in the catalog (expected a catalog model)");
    }
    if (!credentials.contains(t.providerKeyId())) {
      throw new IllegalStateException(
          "route '"
              + r.alias()
              + "' of project "
              + r.projectId()
              + " uses provider key "
              + t.providerKeyId()
              + ", which the snapshot does not carry");
    }
    return SnapshotRouteTarget.newBuilder()
        .setModel(t.model())
        .setProviderKeyId(t.providerKeyId().toString())
        .setWeight(t.weight())
        .build();
  }

  private static long orZero(Long v) {
    return v == null ? 0 : v;
  }

  private static String hash(DataplaneSnapshot s) {
    try {
      return java.util.HexFormat.of()
          .formatHex(MessageDigest.getInstance("SHA-256").digest(s.toByteArray()));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
