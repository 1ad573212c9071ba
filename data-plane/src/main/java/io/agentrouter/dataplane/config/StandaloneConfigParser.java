package io.agentrouter.dataplane.config;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.agentrouter.common.config.ApiKeyPepper;
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
import io.agentrouter.common.keys.ApiKeys;
import java.math.BigDecimal;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Reads the standalone config file (YAML or JSON, same fields) into a {@link ConfigSnapshot}.
 * Secrets come from environment variables ({@code api_key_env}, {@code token_env}, {@code
 * api_key_pepper_env}) so the file itself can be committed. The format is documented in {@code
 * docs/data-plane.md}.
 */
public final class StandaloneConfigParser {
  static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);
  static final Duration DEFAULT_FIRST_TOKEN_TIMEOUT = Duration.ofSeconds(60);
  private static final ObjectMapper YAML = new YAMLMapper();

  private final Function<String, @Nullable String> env;
  private final ApiKeyPepper fallbackPepper;

  /**
   * @param env environment lookup
   * @param fallbackPepper used when the file names no pepper; only full key tokens work then
   */
  public StandaloneConfigParser(
      Function<String, @Nullable String> env, ApiKeyPepper fallbackPepper) {
    this.env = requireNonNull(env, "env");
    this.fallbackPepper = requireNonNull(fallbackPepper, "fallbackPepper");
  }

  /** Parses {@code content}; {@code origin} names the file in messages. */
  public ConfigSnapshot parse(byte[] content, String origin) {
    JsonNode root;
    try {
      // YAML is a superset of JSON, so one parser reads both.
      root = YAML.readTree(content);
    } catch (JsonProcessingException e) {
      // The location only: the parser's message may quote a line holding a secret.
      var loc = e.getLocation();
      throw new ConfigException(
          origin
              + " is not valid YAML or JSON"
              + (loc == null
                  ? ""
                  : " (line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ")"));
    } catch (java.io.IOException e) {
      throw new ConfigException(origin + " cannot be read: " + e.getClass().getSimpleName());
    }
    if (root == null || !root.isObject()) {
      throw new ConfigException(origin + " is empty or not a mapping (expected: providers, keys…)");
    }
    List<String> problems = new ArrayList<>();
    checkFields(
        root,
        origin,
        problems,
        "version",
        "dataplane_id",
        "api_key_pepper_env",
        "providers",
        "models",
        "routes",
        "projects",
        "keys",
        "jwt");

    ApiKeyPepper pepper = fallbackPepper;
    boolean explicitPepper = false;
    String pepperEnv = text(root, "api_key_pepper_env");
    if (pepperEnv != null) {
      String v = env.apply(pepperEnv);
      if (v == null || v.isBlank()) {
        problems.add("api_key_pepper_env names " + pepperEnv + ", which is not set");
      } else {
        try {
          pepper = ApiKeyPepper.of(decodePepper(v.strip()));
          explicitPepper = true;
        } catch (IllegalArgumentException e) {
          problems.add("the pepper in " + pepperEnv + ": " + e.getMessage());
        }
      }
    }

    List<ProviderConfig> providers = new ArrayList<>();
    each(
        root,
        "providers",
        problems,
        (n, where) -> {
          checkFields(
              n,
              where,
              problems,
              "name",
              "type",
              "base_url",
              "api_key_env",
              "api_key",
              "api_version",
              "timeout_ms",
              "first_token_timeout_ms");
          String name = required(n, "name", where, problems);
          String type = required(n, "type", where, problems);
          String baseUrl = required(n, "base_url", where, problems);
          String apiKey = "";
          String keyEnv = text(n, "api_key_env");
          if (keyEnv != null) {
            String v = env.apply(keyEnv);
            if (v == null) {
              problems.add(where + ": api_key_env names " + keyEnv + ", which is not set");
            } else {
              apiKey = v.strip();
            }
          } else if (text(n, "api_key") != null) {
            apiKey = text(n, "api_key");
          }
          if (name == null || type == null || baseUrl == null) {
            return;
          }
          try {
            providers.add(
                new ProviderConfig(
                    name,
                    type,
                    baseUrl,
                    apiKey,
                    text(n, "api_version"),
                    millis(n, "timeout_ms", DEFAULT_TIMEOUT),
                    millis(n, "first_token_timeout_ms", DEFAULT_FIRST_TOKEN_TIMEOUT)));
          } catch (IllegalArgumentException e) {
            problems.add(where + ": " + e.getMessage());
          }
        });

    List<CatalogModel> catalog = new ArrayList<>();
    each(
        root,
        "models",
        problems,
        (n, where) -> {
          checkFields(
              n,
              where,
              problems,
              "provider",
              "model",
              "upstream_model",
              "kind",
              "input_usd_per_mtok",
              "cached_input_usd_per_mtok",
              "output_usd_per_mtok",
              "image_usd");
          String provider = required(n, "provider", where, problems);
          String model = required(n, "model", where, problems);
          if (provider == null || model == null) {
            return;
          }
          try {
            String upstream = text(n, "upstream_model");
            BigDecimal input = money(n, "input_usd_per_mtok");
            catalog.add(
                new CatalogModel(
                    provider,
                    model,
                    upstream == null ? model : upstream,
                    ModelKind.fromWireName(textOr(n, "kind", "chat")),
                    input,
                    n.has("cached_input_usd_per_mtok")
                        ? money(n, "cached_input_usd_per_mtok")
                        : input,
                    money(n, "output_usd_per_mtok"),
                    money(n, "image_usd")));
          } catch (IllegalArgumentException e) {
            problems.add(where + ": " + e.getMessage());
          }
        });

    List<RouteConfig> routes = new ArrayList<>();
    each(
        root,
        "routes",
        problems,
        (n, where) -> {
          checkFields(n, where, problems, "alias", "project", "targets", "fallback_on");
          String alias = required(n, "alias", where, problems);
          if (alias == null) {
            return;
          }
          List<RouteConfig.RouteTarget> targets = new ArrayList<>();
          each(
              n,
              "targets",
              problems,
              (t, tw) -> {
                checkFields(t, tw, problems, "provider", "model", "weight");
                String p = required(t, "provider", tw, problems);
                String m = required(t, "model", tw, problems);
                if (p != null && m != null) {
                  try {
                    targets.add(
                        new RouteConfig.RouteTarget(
                            p, m, t.path("weight").asInt(targets.isEmpty() ? 1 : 0)));
                  } catch (IllegalArgumentException e) {
                    problems.add(tw + ": " + e.getMessage());
                  }
                }
              });
          Set<ErrorClass> fallbackOn = RouteConfig.DEFAULT_FALLBACK_ON;
          if (n.has("fallback_on")) {
            Set<ErrorClass> set = new LinkedHashSet<>();
            for (JsonNode c : n.get("fallback_on")) {
              try {
                set.add(ErrorClass.fromWireName(c.asText()));
              } catch (IllegalArgumentException e) {
                problems.add(where + ": " + e.getMessage());
              }
            }
            fallbackOn = set;
          }
          try {
            routes.add(new RouteConfig(alias, text(n, "project"), targets, fallbackOn));
          } catch (IllegalArgumentException e) {
            problems.add(where + ": " + e.getMessage());
          }
        });

    List<ProjectConfig> projects = new ArrayList<>();
    each(
        root,
        "projects",
        problems,
        (n, where) -> {
          checkFields(n, where, problems, "id", "customer", "default_model");
          String id = required(n, "id", where, problems);
          if (id != null) {
            projects.add(
                new ProjectConfig(id, textOr(n, "customer", id), text(n, "default_model")));
          }
        });

    List<KeyConfig> keys = new ArrayList<>();
    boolean anyDigest = false;
    for (JsonNode n : root.path("keys")) {
      anyDigest |= n.has("digest");
    }
    if (anyDigest && !explicitPepper) {
      problems.add(
          "keys given as id + digest need api_key_pepper_env (the pepper the digests were"
              + " made with)");
    }
    ApiKeyPepper keyPepper = pepper;
    each(
        root,
        "keys",
        problems,
        (n, where) -> {
          checkFields(
              n,
              where,
              problems,
              "token",
              "token_env",
              "id",
              "digest",
              "project",
              "name",
              "status",
              "expires_at",
              "limits",
              "allowed_models",
              "monthly_budget_usd");
          String project = required(n, "project", where, problems);
          UUID keyId = null;
          String digest = null;
          String token = text(n, "token");
          String tokenEnv = text(n, "token_env");
          if (tokenEnv != null) {
            token = env.apply(tokenEnv);
            if (token == null) {
              problems.add(where + ": token_env names " + tokenEnv + ", which is not set");
              return;
            }
            token = token.strip();
          }
          if (token != null) {
            ApiKeys.Parsed parsed = ApiKeys.parse(token);
            if (parsed == null) {
              problems.add(
                  where
                      + ": the token "
                      + ApiKeys.redact(token)
                      + " is not a well-formed sk-ar- key (generate one with: gen-key)");
              return;
            }
            keyId = parsed.keyId();
            digest = ApiKeys.digest(keyPepper.bytes(), parsed.secret());
          } else {
            String id = required(n, "id", where, problems);
            digest = required(n, "digest", where, problems);
            if (id == null || digest == null) {
              return;
            }
            try {
              keyId = UUID.fromString(id);
            } catch (IllegalArgumentException e) {
              problems.add(where + ": id '" + id + "' is not a UUID");
              return;
            }
          }
          if (project == null) {
            return;
          }
          JsonNode l = n.path("limits");
          checkFields(
              l,
              where + ".limits",
              problems,
              "requests_per_minute",
              "tokens_per_minute",
              "concurrent_requests");
          Set<String> allowed = new LinkedHashSet<>();
          n.path("allowed_models").forEach(m -> allowed.add(m.asText()));
          try {
            keys.add(
                new KeyConfig(
                    keyId,
                    digest,
                    projectCustomer(root, project),
                    project,
                    textOr(n, "name", keyId.toString()),
                    KeyStatus.valueOf(
                        textOr(n, "status", "active").toUpperCase(java.util.Locale.ROOT)),
                    n.has("expires_at") ? Instant.parse(n.get("expires_at").asText()) : null,
                    new Limits(
                        l.path("requests_per_minute").asLong(0),
                        l.path("tokens_per_minute").asLong(0),
                        l.path("concurrent_requests").asInt(0)),
                    n.has("monthly_budget_usd") ? money(n, "monthly_budget_usd") : null,
                    allowed));
          } catch (IllegalArgumentException | DateTimeParseException e) {
            problems.add(where + ": " + e.getMessage());
          }
        });

    List<SigningKey> signingKeys = new ArrayList<>();
    JsonNode jwt = root.path("jwt");
    String issuer = null;
    if (!jwt.isMissingNode()) {
      checkFields(jwt, "jwt", problems, "issuer", "keys");
      issuer = required(jwt, "issuer", "jwt", problems);
      each(
          jwt,
          "keys",
          problems,
          (k, where) -> {
            String kid = required(k, "kid", where, problems);
            if (kid != null) {
              signingKeys.add(new SigningKey(kid, k.toString()));
            }
          });
    }

    if (!problems.isEmpty()) {
      throw new ConfigException(problems.stream().map(p -> origin + ": " + p).toList());
    }
    String version = textOr(root, "version", contentHash(content));
    return new ConfigSnapshot(
        version,
        text(root, "dataplane_id"),
        pepper,
        providers,
        catalog,
        routes,
        projects,
        keys,
        issuer,
        signingKeys);
  }

  private static String projectCustomer(JsonNode root, String project) {
    for (JsonNode p : root.path("projects")) {
      if (project.equals(p.path("id").asText())) {
        return textOr(p, "customer", project);
      }
    }
    return project;
  }

  private interface Each {
    void accept(JsonNode node, String where);
  }

  private static void each(JsonNode parent, String field, List<String> problems, Each each) {
    JsonNode list = parent.get(field);
    if (list == null || list.isNull()) {
      return;
    }
    if (!list.isArray()) {
      problems.add(field + " is a " + list.getNodeType() + " (expected: a list)");
      return;
    }
    for (int i = 0; i < list.size(); i++) {
      JsonNode n = list.get(i);
      String where = field + "[" + i + "]";
      if (!n.isObject()) {
        problems.add(where + " is a " + n.getNodeType() + " (expected: a mapping)");
        continue;
      }
      each.accept(n, where);
    }
  }

  private static void checkFields(
      JsonNode n, String where, List<String> problems, String... known) {
    if (!n.isObject()) {
      return;
    }
    Set<String> allowed = Set.of(known);
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (!allowed.contains(f)) {
        problems.add(
            where
                + " has unknown field '"
                + f
                + "' (expected one of: "
                + String.join(", ", known)
                + ")");
      }
    }
  }

  private static @Nullable String text(JsonNode n, String field) {
    JsonNode v = n.get(field);
    return v == null || v.isNull() ? null : v.asText();
  }

  private static String textOr(JsonNode n, String field, String dflt) {
    String v = text(n, field);
    return v == null ? dflt : v;
  }

  private static @Nullable String required(
      JsonNode n, String field, String where, List<String> problems) {
    String v = text(n, field);
    if (v == null || v.isBlank()) {
      problems.add(where + " lacks '" + field + "'");
      return null;
    }
    return v;
  }

  private static Duration millis(JsonNode n, String field, Duration dflt) {
    JsonNode v = n.get(field);
    return v == null ? dflt : Duration.ofMillis(v.asLong());
  }

  private static BigDecimal money(JsonNode n, String field) {
    JsonNode v = n.get(field);
    if (v == null || v.isNull()) {
      return BigDecimal.ZERO;
    }
    try {
      BigDecimal d = new BigDecimal(v.asText());
      if (d.signum() < 0) {
        throw new IllegalArgumentException(field + ": " + d + " (expected: >= 0)");
      }
      return d;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(field + ": '" + v.asText() + "' (expected: a number)");
    }
  }

  /** Decodes a pepper given as hex (even length, hex digits only) or else base64. */
  public static byte[] decodePepper(String v) {
    if (v.length() % 2 == 0 && v.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
      return HexFormat.of().parseHex(v);
    }
    try {
      return Base64.getDecoder().decode(v);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("not hex or base64", e);
    }
  }

  static String contentHash(byte[] content) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(content);
      return "file-" + HexFormat.of().formatHex(d, 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
