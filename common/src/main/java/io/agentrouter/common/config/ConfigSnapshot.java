package io.agentrouter.common.config;

import static java.util.Objects.requireNonNull;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Everything a data plane needs to serve requests, as of one version. Immutable; a data plane swaps
 * a whole snapshot at once and never edits one in place.
 *
 * @param version opaque, increasing version (the control plane's counter, or a file's content hash)
 * @param dataplaneId the data plane this snapshot was built for, echoed in {@code
 *     x-agentrouter-dataplane}; may be null in standalone mode
 * @param pepper the HMAC key API-key digests were made with
 * @param jwtIssuer the {@code iss} an MP JWT must carry; null disables MP JWT authentication
 * @param signingKeys public keys MP JWTs are verified with, by {@code kid}
 * @param budgetPositions spend already recorded this month per key and per project, as the control
 *     plane knew it when it built the snapshot; empty in standalone mode
 */
public record ConfigSnapshot(
    String version,
    @Nullable String dataplaneId,
    ApiKeyPepper pepper,
    List<ProviderConfig> providers,
    List<CatalogModel> catalog,
    List<RouteConfig> routes,
    List<ProjectConfig> projects,
    List<KeyConfig> keys,
    @Nullable String jwtIssuer,
    List<SigningKey> signingKeys,
    List<BudgetPosition> budgetPositions) {

  /** A snapshot without budget positions (standalone mode). */
  public ConfigSnapshot(
      String version,
      @Nullable String dataplaneId,
      ApiKeyPepper pepper,
      List<ProviderConfig> providers,
      List<CatalogModel> catalog,
      List<RouteConfig> routes,
      List<ProjectConfig> projects,
      List<KeyConfig> keys,
      @Nullable String jwtIssuer,
      List<SigningKey> signingKeys) {
    this(
        version,
        dataplaneId,
        pepper,
        providers,
        catalog,
        routes,
        projects,
        keys,
        jwtIssuer,
        signingKeys,
        List.of());
  }

  public ConfigSnapshot {
    requireNonNull(version, "version");
    requireNonNull(pepper, "pepper");
    providers = List.copyOf(providers);
    catalog = List.copyOf(catalog);
    routes = List.copyOf(routes);
    projects = List.copyOf(projects);
    keys = List.copyOf(keys);
    signingKeys = List.copyOf(signingKeys);
    budgetPositions = List.copyOf(budgetPositions);
  }

  @Override
  public String toString() {
    return "ConfigSnapshot[version="
        + version
        + ", providers="
        + providers.size()
        + ", catalog="
        + catalog.size()
        + ", routes="
        + routes.size()
        + ", projects="
        + projects.size()
        + ", keys="
        + keys.size()
        + "]";
  }
}
