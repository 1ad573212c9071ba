package io.agentrouter.dataplane.sync;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Timestamp;
import io.agentrouter.common.config.ApiKeyPepper;
import io.agentrouter.common.config.BudgetPosition;
import io.agentrouter.common.config.CatalogModel;
import io.agentrouter.common.config.ConfigSnapshot;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.common.config.KeyStatus;
import io.agentrouter.common.config.Limits;
import io.agentrouter.common.config.ModelKind;
import io.agentrouter.common.config.ProjectConfig;
import io.agentrouter.common.config.ProviderConfig;
import io.agentrouter.common.config.RouteConfig;
import io.agentrouter.common.config.SigningKey;
import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.dataplane.DataPlane;
import io.agentrouter.dataplane.config.ConfigException;
import io.agentrouter.dataplane.provider.ProviderTranslator;
import io.agentrouter.dataplane.provider.ProviderType;
import io.agentrouter.dataplane.provider.ProviderTypes;
import io.agentrouter.dataplane.provider.openai.AzureOpenAiTranslator;
import io.agentrouter.proto.dataplane.v1.DataplaneSnapshot;
import io.agentrouter.proto.dataplane.v1.ProviderCredential;
import io.agentrouter.proto.dataplane.v1.SigningPublicKey;
import io.agentrouter.proto.dataplane.v1.SnapshotKey;
import io.agentrouter.proto.dataplane.v1.SnapshotKeyStatus;
import io.agentrouter.proto.dataplane.v1.SnapshotModel;
import io.agentrouter.proto.dataplane.v1.SnapshotProject;
import io.agentrouter.proto.dataplane.v1.SnapshotRoute;
import io.agentrouter.proto.dataplane.v1.SnapshotRouteTarget;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Proto at the edge: turns the control plane's {@link DataplaneSnapshot} into the {@code common}
 * {@link ConfigSnapshot} the data plane runs on. Only the shape is translated here; whether the
 * result is consistent (routes reach catalog models, keys reach projects, …) is checked by the same
 * compilation the file source goes through.
 *
 * <p>Provider credentials are a project's own (BYOK): each becomes a provider named {@code
 * <type>-<provider_key_id>} that only that project can reach, with the catalog models of its type;
 * a credential without a project serves every project. Route targets name {@code type/model} and
 * the credential to call it with.
 */
final class SnapshotMapper {
  static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);
  static final Duration DEFAULT_FIRST_TOKEN_TIMEOUT = Duration.ofMinutes(1);
  private static final Map<String, String> DEFAULT_BASE_URLS =
      Map.of(
          "openai", "https://api.openai.com/v1",
          "anthropic", "https://api.anthropic.com",
          "gemini", "https://generativelanguage.googleapis.com");

  /**
   * The control plane's provider types that this data plane speaks with another type's translator:
   * an OpenAI-compatible server (Groq, Mistral, Ollama, vLLM, …) is the OpenAI wire format at its
   * own base URL.
   */
  private static final Map<String, String> WIRE_TYPES = Map.of("openai_compatible", "openai");

  private static final Logger log = LoggerFactory.getLogger(SnapshotMapper.class);

  private final Clock clock;
  private final Map<ProviderType, ProviderTranslator> translators = DataPlane.defaultTranslators();

  SnapshotMapper(Clock clock) {
    this.clock = requireNonNull(clock, "clock");
  }

  /**
   * Whether this data plane can serve {@code kind} through providers of the control plane's {@code
   * type}. The catalog is global, so a model a translator cannot serve (an embeddings model of a
   * chat-only provider) is left out of that credential's catalog instead of rejecting the whole
   * snapshot.
   */
  private boolean serves(String type, ModelKind kind) {
    ProviderType t = ProviderTypes.fromWireName(WIRE_TYPES.getOrDefault(type, type));
    ProviderTranslator tr = t == null ? null : translators.get(t);
    return tr != null && tr.supports(kind);
  }

  /**
   * Maps {@code s}, which the control plane sent as {@code version}.
   *
   * @throws ConfigException naming every field that cannot be mapped
   */
  ConfigSnapshot map(DataplaneSnapshot s, String version) {
    List<String> problems = new ArrayList<>();
    if (version.isEmpty()) {
      problems.add("snapshot version is empty (expected: a decimal version)");
    }
    ApiKeyPepper pepper = null;
    try {
      pepper = ApiKeyPepper.of(s.getApiKeyPepper().toByteArray());
    } catch (IllegalArgumentException e) {
      problems.add("api_key_pepper: " + e.getMessage());
    }

    // Providers: one per credential.
    Map<String, ProviderConfig> byCredential = new HashMap<>();
    List<ProviderConfig> providers = new ArrayList<>();
    // Provider name -> the control plane's type, which catalog ids and route targets use.
    Map<String, String> controlPlaneType = new HashMap<>();
    for (ProviderCredential c : s.getProviderCredentialsList()) {
      String type = c.getProvider();
      String baseUrl = c.getBaseUrl().isEmpty() ? DEFAULT_BASE_URLS.get(type) : c.getBaseUrl();
      if (baseUrl == null) {
        problems.add(
            "provider credential "
                + c.getProviderKeyId()
                + " of type '"
                + type
                + "' has no base_url (expected: one, as this type has no default)");
        continue;
      }
      String name = type + "-" + c.getProviderKeyId();
      ProviderConfig p =
          new ProviderConfig(
              name,
              WIRE_TYPES.getOrDefault(type, type),
              baseUrl,
              c.getSecret(),
              type.equals("azure_openai") ? AzureOpenAiTranslator.DEFAULT_API_VERSION : null,
              DEFAULT_TIMEOUT,
              DEFAULT_FIRST_TOKEN_TIMEOUT,
              c.getProjectId().isEmpty() ? null : c.getProjectId());
      if (byCredential.putIfAbsent(c.getProviderKeyId(), p) != null) {
        problems.add(
            "provider credential " + c.getProviderKeyId() + " is listed twice (expected: once)");
        continue;
      }
      providers.add(p);
      controlPlaneType.put(p.name(), type);
    }

    // The catalog, per provider: every model of the provider's type.
    List<CatalogModel> catalog = new ArrayList<>();
    for (ProviderConfig p : providers) {
      String cpType = controlPlaneType.get(p.name());
      for (SnapshotModel m : s.getModelsList()) {
        if (!m.getProvider().equals(cpType) || !serves(cpType, kind(m))) {
          continue;
        }
        if (m.getName().isEmpty()) {
          problems.add("catalog model '" + m.getModelId() + "' has no name");
          continue;
        }
        BigDecimal input = usd(m.getInputPerMillionTokensMicros());
        catalog.add(
            new CatalogModel(
                p.name(),
                m.getName(),
                m.getName(),
                kind(m),
                input,
                m.getCachedInputPerMillionTokensMicros() == 0
                    ? input
                    : usd(m.getCachedInputPerMillionTokensMicros()),
                usd(m.getOutputPerMillionTokensMicros()),
                usd(m.getPerImageMicros())));
      }
    }

    List<ProjectConfig> projects = new ArrayList<>();
    for (SnapshotProject p : s.getProjectsList()) {
      try {
        projects.add(
            new ProjectConfig(
                p.getProjectId(),
                p.getCustomerId(),
                defaultModel(p, s, providers, controlPlaneType),
                new Limits(p.getRequestsPerMinute(), p.getTokensPerMinute(), 0),
                p.getMonthlyBudgetMicros() > 0 ? usd(p.getMonthlyBudgetMicros()) : null));
      } catch (IllegalArgumentException e) {
        problems.add("project " + p.getProjectId() + ": " + e.getMessage());
      }
    }

    List<RouteConfig> routes = new ArrayList<>();
    for (SnapshotRoute r : s.getRoutesList()) {
      List<RouteConfig.RouteTarget> targets = new ArrayList<>();
      boolean anyWeight = r.getTargetsList().stream().anyMatch(t -> t.getWeight() > 0);
      boolean ok = true;
      for (SnapshotRouteTarget t : r.getTargetsList()) {
        RouteConfig.RouteTarget rt =
            target(
                r,
                t,
                anyWeight ? t.getWeight() : 1,
                byCredential,
                providers,
                controlPlaneType,
                problems);
        ok &= rt != null;
        if (rt != null) {
          targets.add(rt);
        }
      }
      for (SnapshotRouteTarget t : r.getFallbacksList()) {
        RouteConfig.RouteTarget rt =
            target(r, t, 0, byCredential, providers, controlPlaneType, problems);
        ok &= rt != null;
        if (rt != null) {
          targets.add(rt);
        }
      }
      Set<ErrorClass> fallbackOn = EnumSet.noneOf(ErrorClass.class);
      for (String c : r.getFallbackOnList()) {
        try {
          fallbackOn.add(ErrorClass.fromWireName(c));
        } catch (IllegalArgumentException e) {
          problems.add("route '" + r.getAlias() + "': " + e.getMessage());
          ok = false;
        }
      }
      if (!ok) {
        continue;
      }
      try {
        routes.add(
            new RouteConfig(
                r.getAlias(),
                r.getProjectId().isEmpty() ? null : r.getProjectId(),
                targets,
                r.getFallbackOnCount() == 0 ? RouteConfig.DEFAULT_FALLBACK_ON : fallbackOn));
      } catch (IllegalArgumentException e) {
        problems.add(e.getMessage());
      }
    }

    List<KeyConfig> keys = new ArrayList<>();
    for (SnapshotKey k : s.getKeysList()) {
      try {
        keys.add(
            new KeyConfig(
                UUID.fromString(k.getKeyId()),
                k.getDigest(),
                k.getCustomerId(),
                k.getProjectId(),
                k.getKeyId(),
                // Anything but an explicit ACTIVE fails closed.
                k.getStatus() == SnapshotKeyStatus.SNAPSHOT_KEY_STATUS_ACTIVE
                    ? KeyStatus.ACTIVE
                    : KeyStatus.REVOKED,
                k.hasExpiresAt() ? instant(k.getExpiresAt()) : null,
                new Limits(
                    k.getRequestsPerMinute(), k.getTokensPerMinute(), k.getMaxConcurrentRequests()),
                k.getMonthlyBudgetMicros() > 0 ? usd(k.getMonthlyBudgetMicros()) : null,
                new LinkedHashSet<>(k.getAllowedModelsList())));
      } catch (IllegalArgumentException e) {
        problems.add("key '" + k.getKeyId() + "': " + e.getMessage());
      }
    }

    Instant now = clock.instant();
    List<SigningKey> signingKeys = new ArrayList<>();
    for (SigningPublicKey k : s.getSigningKeysList()) {
      if (!"ES256".equals(k.getAlgorithm())) {
        problems.add(
            "signing key '" + k.getKid() + "' uses '" + k.getAlgorithm() + "' (expected: ES256)");
        continue;
      }
      if (k.hasExpiresAt() && !instant(k.getExpiresAt()).isAfter(now)) {
        continue; // retired: tokens with this kid are refused
      }
      signingKeys.add(new SigningKey(k.getKid(), k.getPublicJwk()));
    }

    List<BudgetPosition> positions = new ArrayList<>();
    for (io.agentrouter.proto.dataplane.v1.BudgetPosition b : s.getBudgetPositionsList()) {
      try {
        positions.add(
            new BudgetPosition(
                b.getProjectId(),
                b.getKeyId().isEmpty() ? null : b.getKeyId(),
                YearMonth.parse(b.getMonth()),
                usd(b.getSpentMicros())));
      } catch (DateTimeParseException | IllegalArgumentException e) {
        problems.add(
            "budget position of project '"
                + b.getProjectId()
                + "' month '"
                + b.getMonth()
                + "': "
                + e.getMessage()
                + " (expected: YYYY-MM and spent_micros >= 0)");
      }
    }

    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return new ConfigSnapshot(
        version,
        s.getDataplaneId().isEmpty() ? null : s.getDataplaneId(),
        requireNonNull(pepper, "pepper"),
        providers,
        catalog,
        routes,
        projects,
        keys,
        s.getJwtIssuer().isEmpty() ? null : s.getJwtIssuer(),
        signingKeys,
        positions);
  }

  /** A route target: {@code type/model} at the credential named, or the project's of that type. */
  private static RouteConfig.@Nullable RouteTarget target(
      SnapshotRoute r,
      SnapshotRouteTarget t,
      int weight,
      Map<String, ProviderConfig> byCredential,
      List<ProviderConfig> providers,
      Map<String, String> controlPlaneType,
      List<String> problems) {
    int slash = t.getModel().indexOf('/');
    if (slash <= 0 || slash == t.getModel().length() - 1) {
      problems.add(
          "route '"
              + r.getAlias()
              + "' targets '"
              + t.getModel()
              + "' (expected: provider/model, e.g. openai/gpt-4o)");
      return null;
    }
    String type = t.getModel().substring(0, slash);
    String model = t.getModel().substring(slash + 1);
    ProviderConfig p = null;
    if (!t.getProviderKeyId().isEmpty()) {
      p = byCredential.get(t.getProviderKeyId());
      if (p == null) {
        problems.add(
            "route '"
                + r.getAlias()
                + "' names provider credential "
                + t.getProviderKeyId()
                + ", which the snapshot does not carry");
        return null;
      }
      if (p.projectId() != null && !p.projectId().equals(r.getProjectId())) {
        problems.add(
            "route '"
                + r.getAlias()
                + "' of project '"
                + r.getProjectId()
                + "' names provider credential "
                + t.getProviderKeyId()
                + " of project '"
                + p.projectId()
                + "' (expected: the route's own project's)");
        return null;
      }
    } else {
      for (ProviderConfig c : providers) {
        if (type.equals(controlPlaneType.get(c.name())) && r.getProjectId().equals(c.projectId())) {
          p = c;
          break;
        }
      }
      if (p == null) {
        for (ProviderConfig c : providers) {
          if (type.equals(controlPlaneType.get(c.name())) && c.projectId() == null) {
            p = c;
            break;
          }
        }
      }
      if (p == null) {
        problems.add(
            "route '"
                + r.getAlias()
                + "' targets '"
                + t.getModel()
                + "' but project '"
                + r.getProjectId()
                + "' has no "
                + type
                + " provider credential");
        return null;
      }
    }
    if (!type.equals(controlPlaneType.get(p.name()))) {
      problems.add(
          "route '"
              + r.getAlias()
              + "' targets '"
              + t.getModel()
              + "' with a "
              + controlPlaneType.get(p.name())
              + " credential (expected: a "
              + type
              + " one)");
      return null;
    }
    return new RouteConfig.RouteTarget(p.name(), model, Math.max(0, weight));
  }

  /**
   * The project's default model when this snapshot can serve it, else null. A project whose default
   * names a provider it has no credential for yet (a fresh project) must not make the data plane
   * reject every project's configuration; its requests without a model get a 400 instead.
   */
  private @Nullable String defaultModel(
      SnapshotProject p,
      DataplaneSnapshot s,
      List<ProviderConfig> providers,
      Map<String, String> controlPlaneType) {
    String dm = p.getDefaultModel();
    if (dm.isEmpty()) {
      return null;
    }
    for (SnapshotRoute r : s.getRoutesList()) {
      if (dm.equals(r.getAlias())
          && (r.getProjectId().isEmpty() || r.getProjectId().equals(p.getProjectId()))) {
        return dm;
      }
    }
    int slash = dm.indexOf('/');
    String type = slash > 0 ? dm.substring(0, slash) : null;
    String name = slash > 0 ? dm.substring(slash + 1) : dm;
    for (ProviderConfig c : providers) {
      String cpType = controlPlaneType.get(c.name());
      if (c.projectId() != null && !c.projectId().equals(p.getProjectId())) {
        continue;
      }
      if (type != null && !type.equals(cpType) && !type.equals(c.name())) {
        continue;
      }
      for (SnapshotModel m : s.getModelsList()) {
        if (m.getProvider().equals(cpType) && m.getName().equals(name) && serves(cpType, kind(m))) {
          return dm;
        }
      }
    }
    log.info(
        "project {}: default model '{}' has no provider credential in this snapshot; requests"
            + " without a model get a 400 until one is added",
        p.getProjectId(),
        dm);
    return null;
  }

  private static ModelKind kind(SnapshotModel m) {
    if (m.getChat()) {
      return ModelKind.CHAT;
    }
    if (m.getEmbeddings()) {
      return ModelKind.EMBEDDINGS;
    }
    if (m.getImageGeneration()) {
      return ModelKind.IMAGES;
    }
    return ModelKind.CHAT;
  }

  static BigDecimal usd(long micros) {
    return micros == 0 ? BigDecimal.ZERO : BigDecimal.valueOf(micros, 6).stripTrailingZeros();
  }

  private static Instant instant(Timestamp t) {
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos());
  }
}
