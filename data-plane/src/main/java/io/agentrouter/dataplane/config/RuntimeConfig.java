package io.agentrouter.dataplane.config;

import static java.util.Objects.requireNonNull;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import io.agentrouter.common.config.CatalogModel;
import io.agentrouter.common.config.ConfigSnapshot;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.common.config.ModelKind;
import io.agentrouter.common.config.ProjectConfig;
import io.agentrouter.common.config.ProviderConfig;
import io.agentrouter.common.config.RouteConfig;
import io.agentrouter.common.config.SigningKey;
import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.dataplane.provider.ProviderTarget;
import io.agentrouter.dataplane.provider.ProviderTranslator;
import io.agentrouter.dataplane.provider.ProviderTranslators;
import io.agentrouter.dataplane.provider.ProviderType;
import io.agentrouter.dataplane.provider.ProviderTypes;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * A validated snapshot with the lookups the request path needs precomputed: keys by id, routes by
 * name, catalog models by bare name and by {@code provider/model}, JWT verifiers by {@code kid}.
 * Built once per snapshot, off the request path; immutable afterwards.
 */
public final class RuntimeConfig {
  private final ConfigSnapshot snapshot;
  private final byte[] pepper;
  private final Map<UUID, KeyConfig> keys;
  private final Map<String, ProjectConfig> projects;
  private final Map<String, Upstream> upstreams;
  private final Map<String, Route> byCatalogId;
  private final Map<String, List<Route>> byBareName;
  private final Map<String, Route> globalAliases;
  private final Map<String, Map<String, Route>> projectAliases;
  private final Map<String, ProjectCatalog> projectCatalogs;
  private final Map<String, JWSVerifier> jwtVerifiers;

  /**
   * Catalog models reachable through one project's own providers (BYOK credentials): by internal
   * id, by display id ({@code type/model}) and by bare name. No other project can reach them.
   */
  private record ProjectCatalog(
      Map<String, Route> byId, Map<String, Route> byDisplayId, Map<String, List<Route>> byBare) {
    ProjectCatalog() {
      this(new HashMap<>(), new java.util.LinkedHashMap<>(), new HashMap<>());
    }
  }

  private RuntimeConfig(
      ConfigSnapshot snapshot,
      Map<UUID, KeyConfig> keys,
      Map<String, ProjectConfig> projects,
      Map<String, Upstream> upstreams,
      Map<String, Route> byCatalogId,
      Map<String, List<Route>> byBareName,
      Map<String, Route> globalAliases,
      Map<String, Map<String, Route>> projectAliases,
      Map<String, ProjectCatalog> projectCatalogs,
      Map<String, JWSVerifier> jwtVerifiers) {
    this.snapshot = snapshot;
    this.pepper = snapshot.pepper().bytes();
    this.keys = keys;
    this.projects = projects;
    this.upstreams = upstreams;
    this.byCatalogId = byCatalogId;
    this.byBareName = byBareName;
    this.globalAliases = globalAliases;
    this.projectAliases = projectAliases;
    this.projectCatalogs = projectCatalogs;
    this.jwtVerifiers = jwtVerifiers;
  }

  /** Validates {@code snapshot} and builds its lookups; throws with every problem found. */
  public static RuntimeConfig compile(ConfigSnapshot snapshot, ProviderTranslators translators) {
    requireNonNull(snapshot, "snapshot");
    requireNonNull(translators, "translators");
    List<String> problems = new ArrayList<>();

    Map<String, Upstream> upstreams = new HashMap<>();
    for (ProviderConfig p : snapshot.providers()) {
      ProviderType type = ProviderTypes.fromWireName(p.type());
      if (type == null) {
        problems.add(
            "provider '"
                + p.name()
                + "' has type '"
                + p.type()
                + "' (expected one of: openai, azure_openai, anthropic, gemini)");
        continue;
      }
      ProviderTranslator translator = translators.get(type);
      if (translator == null) {
        problems.add(
            "provider '"
                + p.name()
                + "' has type '"
                + p.type()
                + "', which this data plane build cannot serve (supported: "
                + translators.supportedTypes()
                + ")");
        continue;
      }
      if (!p.baseUrl().startsWith("http://") && !p.baseUrl().startsWith("https://")) {
        problems.add(
            "provider '"
                + p.name()
                + "' has base URL '"
                + p.baseUrl()
                + "' (expected: http:// or https://)");
        continue;
      }
      String baseUrl =
          p.baseUrl().endsWith("/")
              ? p.baseUrl().substring(0, p.baseUrl().length() - 1)
              : p.baseUrl();
      ProviderTarget target =
          new ProviderTarget(p.name(), type, baseUrl, p.apiKey(), p.apiVersion());
      if (upstreams.putIfAbsent(p.name(), new Upstream(p, target, translator)) != null) {
        problems.add("provider name '" + p.name() + "' is used twice (expected: unique names)");
      }
    }

    Map<String, Route> byCatalogId = new HashMap<>();
    Map<String, List<Route>> byBareName = new HashMap<>();
    Map<String, ProjectCatalog> projectCatalogs = new HashMap<>();
    java.util.Set<String> allCatalogIds = new java.util.HashSet<>();
    for (CatalogModel m : snapshot.catalog()) {
      Upstream u = upstreams.get(m.provider());
      if (u == null) {
        problems.add(
            "catalog model '"
                + m.id()
                + "' names provider '"
                + m.provider()
                + "' (known: "
                + new TreeSet<>(upstreams.keySet())
                + ")");
        continue;
      }
      if (!u.translator().supports(m.kind())) {
        problems.add(
            "catalog model '"
                + m.id()
                + "' is a "
                + m.kind().wireName()
                + " model, which provider type '"
                + u.config().type()
                + "' does not serve");
        continue;
      }
      Target t = new Target(u, m);
      Route r =
          new Route(m.id(), false, m.kind(), List.of(t), new int[] {1}, 1, Set.<ErrorClass>of());
      if (!allCatalogIds.add(m.id())) {
        problems.add("catalog model '" + m.id() + "' is listed twice (expected: once)");
        continue;
      }
      String owner = u.config().projectId();
      if (owner != null) {
        // A tenant's own credential: only its project may reach these models.
        ProjectCatalog pc = projectCatalogs.computeIfAbsent(owner, k -> new ProjectCatalog());
        pc.byId().put(m.id(), r);
        pc.byDisplayId().putIfAbsent(u.config().type() + "/" + m.model(), r);
        pc.byBare().computeIfAbsent(m.model(), k -> new ArrayList<>(1)).add(r);
        continue;
      }
      byCatalogId.put(m.id(), r);
      byBareName.computeIfAbsent(m.model(), k -> new ArrayList<>(1)).add(r);
    }

    Map<String, ProjectConfig> projects = new HashMap<>();
    for (ProjectConfig p : snapshot.projects()) {
      if (projects.putIfAbsent(p.id(), p) != null) {
        problems.add("project '" + p.id() + "' is listed twice (expected: once)");
      }
    }

    Map<String, Route> globalAliases = new HashMap<>();
    Map<String, Map<String, Route>> projectAliases = new HashMap<>();
    for (RouteConfig rc : snapshot.routes()) {
      List<Target> targets = new ArrayList<>();
      int[] weights = new int[rc.targets().size()];
      int total = 0;
      ModelKind kind = null;
      boolean ok = true;
      for (int i = 0; i < rc.targets().size(); i++) {
        RouteConfig.RouteTarget rt = rc.targets().get(i);
        String targetId = rt.provider() + "/" + rt.model();
        ProjectCatalog own = rc.projectId() == null ? null : projectCatalogs.get(rc.projectId());
        Route model = own == null ? null : own.byId().get(targetId);
        if (model == null) {
          model = byCatalogId.get(targetId);
        }
        if (model == null) {
          problems.add(
              "route '"
                  + rc.alias()
                  + "' targets '"
                  + rt.provider()
                  + "/"
                  + rt.model()
                  + "', which is not in the catalog (known: "
                  + knownIds(byCatalogId, own)
                  + ")");
          ok = false;
          continue;
        }
        if (kind != null && kind != model.kind()) {
          problems.add(
              "route '"
                  + rc.alias()
                  + "' mixes "
                  + kind.wireName()
                  + " and "
                  + model.kind().wireName()
                  + " models (expected: one kind)");
          ok = false;
        }
        kind = model.kind();
        targets.add(model.targets().get(0));
        weights[i] = rt.weight();
        total += rt.weight();
      }
      if (!ok) {
        continue;
      }
      if (rc.projectId() != null && !projects.containsKey(rc.projectId())) {
        problems.add(
            "route '" + rc.alias() + "' belongs to unknown project '" + rc.projectId() + "'");
        continue;
      }
      if (rc.alias().indexOf('/') >= 0 && byCatalogId.containsKey(rc.alias())) {
        problems.add("route alias '" + rc.alias() + "' hides the catalog model of the same name");
        continue;
      }
      Route r =
          new Route(rc.alias(), true, kind, List.copyOf(targets), weights, total, rc.fallbackOn());
      Map<String, Route> scope =
          rc.projectId() == null
              ? globalAliases
              : projectAliases.computeIfAbsent(rc.projectId(), k -> new HashMap<>());
      if (scope.putIfAbsent(rc.alias(), r) != null) {
        problems.add("route alias '" + rc.alias() + "' is defined twice in the same scope");
      }
    }

    for (Upstream u : upstreams.values()) {
      String owner = u.config().projectId();
      if (owner != null && !projects.containsKey(owner)) {
        problems.add("provider '" + u.name() + "' belongs to unknown project '" + owner + "'");
      }
    }

    Map<UUID, KeyConfig> keys = new HashMap<>();
    for (KeyConfig k : snapshot.keys()) {
      if (!projects.containsKey(k.projectId())) {
        problems.add("key " + k.keyId() + " belongs to unknown project '" + k.projectId() + "'");
        continue;
      }
      if (keys.putIfAbsent(k.keyId(), k) != null) {
        problems.add("key " + k.keyId() + " is listed twice (expected: once)");
      }
    }

    Map<String, JWSVerifier> verifiers = new HashMap<>();
    for (SigningKey sk : snapshot.signingKeys()) {
      try {
        JWK jwk = JWK.parse(sk.publicJwk());
        if (!(jwk instanceof ECKey ec) || !Curve.P_256.equals(ec.getCurve())) {
          problems.add("signing key '" + sk.kid() + "' is not an EC P-256 key (expected: ES256)");
          continue;
        }
        if (ec.isPrivate()) {
          problems.add("signing key '" + sk.kid() + "' contains a private key (expected: public)");
          continue;
        }
        verifiers.put(sk.kid(), new ECDSAVerifier(ec));
      } catch (ParseException | JOSEException e) {
        problems.add("signing key '" + sk.kid() + "' is not a valid JWK: " + e.getMessage());
      }
    }

    RuntimeConfig rc =
        new RuntimeConfig(
            snapshot,
            Map.copyOf(keys),
            Map.copyOf(projects),
            Map.copyOf(upstreams),
            Map.copyOf(byCatalogId),
            Map.copyOf(byBareName),
            Map.copyOf(globalAliases),
            Map.copyOf(projectAliases),
            Map.copyOf(projectCatalogs),
            Map.copyOf(verifiers));
    for (ProjectConfig p : projects.values()) {
      if (p.defaultModel() != null && rc.lookup(p.id(), p.defaultModel()) == null) {
        problems.add(
            "project '"
                + p.id()
                + "' has default model '"
                + p.defaultModel()
                + "', which resolves to nothing");
      }
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return rc;
  }

  private static TreeSet<String> knownIds(Map<String, Route> global, @Nullable ProjectCatalog own) {
    TreeSet<String> ids = new TreeSet<>(global.keySet());
    if (own != null) {
      ids.addAll(own.byDisplayId().keySet());
    }
    return ids;
  }

  public ConfigSnapshot snapshot() {
    return snapshot;
  }

  public String version() {
    return snapshot.version();
  }

  public @Nullable String dataplaneId() {
    return snapshot.dataplaneId();
  }

  /** The pepper bytes; callers must not modify them. */
  public byte[] pepper() {
    return pepper;
  }

  public @Nullable KeyConfig key(UUID keyId) {
    return keys.get(keyId);
  }

  public Set<UUID> keyIds() {
    return keys.keySet();
  }

  public @Nullable ProjectConfig project(String projectId) {
    return projects.get(projectId);
  }

  public @Nullable JWSVerifier jwtVerifier(String kid) {
    return jwtVerifiers.get(kid);
  }

  public @Nullable String jwtIssuer() {
    return snapshot.jwtIssuer();
  }

  public @Nullable Upstream upstream(String name) {
    return upstreams.get(name);
  }

  /** A project alias, a global alias, or a catalog id. Null when none matches. */
  public @Nullable Route lookup(String projectId, String name) {
    Map<String, Route> own = projectAliases.get(projectId);
    if (own != null) {
      Route r = own.get(name);
      if (r != null) {
        return r;
      }
    }
    Route r = globalAliases.get(name);
    if (r != null) {
      return r;
    }
    ProjectCatalog pc = projectCatalogs.get(projectId);
    if (pc != null) {
      r = pc.byId().get(name);
      if (r == null) {
        r = pc.byDisplayId().get(name);
      }
      if (r != null) {
        return r;
      }
    }
    r = byCatalogId.get(name);
    if (r != null) {
      return r;
    }
    if (pc != null) {
      List<Route> ownBare = pc.byBare().get(name);
      if (ownBare != null) {
        return ownBare.size() == 1 ? ownBare.get(0) : null;
      }
    }
    List<Route> bare = byBareName.get(name);
    return bare != null && bare.size() == 1 ? bare.get(0) : null;
  }

  /** Catalog routes sharing a bare name, for the ambiguity message; empty when none. */
  public List<Route> bareName(String name) {
    List<Route> bare = byBareName.get(name);
    return bare == null ? List.of() : bare;
  }

  /**
   * The selectors a project can use, in display form: aliases by name, catalog models by bare name
   * when it is unique and by {@code provider/model} otherwise. Insertion-ordered: aliases first.
   */
  public Map<String, Route> visibleModels(String projectId) {
    Map<String, Route> out = new java.util.LinkedHashMap<>();
    Map<String, Route> own = projectAliases.getOrDefault(projectId, Map.of());
    new TreeSet<>(own.keySet()).forEach(n -> out.put(n, own.get(n)));
    new TreeSet<>(globalAliases.keySet()).forEach(n -> out.putIfAbsent(n, globalAliases.get(n)));
    ProjectCatalog pc = projectCatalogs.get(projectId);
    if (pc != null) {
      for (String id : new TreeSet<>(pc.byDisplayId().keySet())) {
        Route r = pc.byDisplayId().get(id);
        String bare = r.targets().get(0).model().model();
        out.putIfAbsent(pc.byBare().get(bare).size() == 1 ? bare : id, r);
      }
    }
    for (String id : new TreeSet<>(byCatalogId.keySet())) {
      Route r = byCatalogId.get(id);
      String bare = r.targets().get(0).model().model();
      out.putIfAbsent(byBareName.get(bare).size() == 1 ? bare : id, r);
    }
    return out;
  }
}
