package io.agentrouter.controlplane.routes;

import static io.agentrouter.controlplane.db.Tables.ROUTES;
import static io.agentrouter.controlplane.db.Tables.ROUTE_TARGETS;
import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.db.tables.records.RoutesRecord;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jooq.DSLContext;
import org.jspecify.annotations.Nullable;

/** Routes and their targets in PostgreSQL. */
public final class RouteStore {
  private final DSLContext dsl;

  public RouteStore(DSLContext dsl) {
    this.dsl = requireNonNull(dsl, "dsl");
  }

  /** A target: a catalog model and the provider key to call it with. */
  public record Target(String model, UUID providerKeyId, int weight) {}

  /** A route. */
  public record RouteRow(
      UUID id,
      UUID customerId,
      UUID projectId,
      String alias,
      List<Target> targets,
      List<Target> fallbacks,
      List<String> fallbackOn,
      int timeoutMs,
      Instant createdAt,
      Instant updatedAt) {}

  /** Inserts or replaces a route and its targets in one transaction. */
  void save(RouteRow r, boolean create) {
    dsl.transaction(
        cfg -> {
          DSLContext tx = cfg.dsl();
          if (create) {
            tx.insertInto(ROUTES)
                .set(ROUTES.ID, r.id())
                .set(ROUTES.CUSTOMER_ID, r.customerId())
                .set(ROUTES.PROJECT_ID, r.projectId())
                .set(ROUTES.ALIAS, r.alias())
                .set(ROUTES.FALLBACK_ON, String.join(",", r.fallbackOn()))
                .set(ROUTES.TIMEOUT_MS, r.timeoutMs())
                .set(ROUTES.CREATED_AT, r.createdAt().atOffset(ZoneOffset.UTC))
                .set(ROUTES.UPDATED_AT, r.updatedAt().atOffset(ZoneOffset.UTC))
                .execute();
          } else {
            tx.update(ROUTES)
                .set(ROUTES.ALIAS, r.alias())
                .set(ROUTES.FALLBACK_ON, String.join(",", r.fallbackOn()))
                .set(ROUTES.TIMEOUT_MS, r.timeoutMs())
                .set(ROUTES.UPDATED_AT, r.updatedAt().atOffset(ZoneOffset.UTC))
                .where(ROUTES.ID.eq(r.id()))
                .execute();
            tx.deleteFrom(ROUTE_TARGETS).where(ROUTE_TARGETS.ROUTE_ID.eq(r.id())).execute();
          }
          insertTargets(tx, r.id(), false, r.targets());
          insertTargets(tx, r.id(), true, r.fallbacks());
        });
  }

  private static void insertTargets(
      DSLContext tx, UUID routeId, boolean fallback, List<Target> ts) {
    for (int i = 0; i < ts.size(); i++) {
      Target t = ts.get(i);
      tx.insertInto(ROUTE_TARGETS)
          .set(ROUTE_TARGETS.ROUTE_ID, routeId)
          .set(ROUTE_TARGETS.FALLBACK, fallback)
          .set(ROUTE_TARGETS.POSITION, i)
          .set(ROUTE_TARGETS.MODEL, t.model())
          .set(ROUTE_TARGETS.PROVIDER_KEY_ID, t.providerKeyId())
          .set(ROUTE_TARGETS.WEIGHT, t.weight())
          .execute();
    }
  }

  public @Nullable RouteRow find(UUID projectId, UUID id) {
    List<RouteRow> rows = load(dsl, ROUTES.ID.eq(id).and(ROUTES.PROJECT_ID.eq(projectId)));
    return rows.isEmpty() ? null : rows.get(0);
  }

  public @Nullable RouteRow findByAlias(UUID projectId, String alias) {
    List<RouteRow> rows = load(dsl, ROUTES.ALIAS.eq(alias).and(ROUTES.PROJECT_ID.eq(projectId)));
    return rows.isEmpty() ? null : rows.get(0);
  }

  public List<RouteRow> list(UUID projectId) {
    return load(dsl, ROUTES.PROJECT_ID.eq(projectId));
  }

  public static List<RouteRow> listIn(DSLContext dsl, Collection<UUID> projects) {
    return load(dsl, ROUTES.PROJECT_ID.in(projects));
  }

  boolean delete(UUID projectId, UUID id) {
    return dsl.deleteFrom(ROUTES)
            .where(ROUTES.ID.eq(id))
            .and(ROUTES.PROJECT_ID.eq(projectId))
            .execute()
        > 0;
  }

  private static List<RouteRow> load(DSLContext dsl, org.jooq.Condition where) {
    List<RoutesRecord> routes =
        dsl.selectFrom(ROUTES).where(where).orderBy(ROUTES.ALIAS, ROUTES.ID).fetch();
    if (routes.isEmpty()) {
      return List.of();
    }
    Map<UUID, List<Target>> primaries = new HashMap<>();
    Map<UUID, List<Target>> fallbacks = new HashMap<>();
    dsl.selectFrom(ROUTE_TARGETS)
        .where(ROUTE_TARGETS.ROUTE_ID.in(routes.stream().map(RoutesRecord::getId).toList()))
        .orderBy(ROUTE_TARGETS.ROUTE_ID, ROUTE_TARGETS.FALLBACK, ROUTE_TARGETS.POSITION)
        .forEach(
            t ->
                (t.getFallback() ? fallbacks : primaries)
                    .computeIfAbsent(t.getRouteId(), k -> new ArrayList<>())
                    .add(new Target(t.getModel(), t.getProviderKeyId(), t.getWeight())));
    return routes.stream()
        .map(
            r ->
                new RouteRow(
                    r.getId(),
                    r.getCustomerId(),
                    r.getProjectId(),
                    r.getAlias(),
                    List.copyOf(primaries.getOrDefault(r.getId(), List.of())),
                    List.copyOf(fallbacks.getOrDefault(r.getId(), List.of())),
                    r.getFallbackOn().isEmpty() ? List.of() : List.of(r.getFallbackOn().split(",")),
                    r.getTimeoutMs(),
                    r.getCreatedAt().toInstant(),
                    r.getUpdatedAt().toInstant()))
        .toList();
  }
}
