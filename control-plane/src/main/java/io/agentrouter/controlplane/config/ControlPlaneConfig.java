package io.agentrouter.controlplane.config;

import static java.util.Objects.requireNonNull;

import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Settings of one control-plane process, read from {@code AGENTROUTER_*} environment variables.
 *
 * @param httpPort the one port (gRPC, REST, internal endpoints); 0 picks a free port
 * @param dataDir holds master.key, admin.key and the embedded PostgreSQL
 * @param dbUrl JDBC URL of an external PostgreSQL; null runs the embedded one
 * @param masterKeyBase64 base64 of the 32-byte master key; null reads or creates
 *     data-dir/master.key
 * @param oidcIssuers issuer URLs whose bearer tokens are accepted
 * @param oidcAudience required {@code aud} of OIDC tokens; null accepts any
 * @param jwtIssuer the {@code iss} of minted MP JWTs
 * @param allowPrivateUpstreams {@code AGENTROUTER_ALLOW_PRIVATE_UPSTREAMS}: provider base URLs may
 *     point at loopback and private ranges (never at cloud metadata)
 */
public record ControlPlaneConfig(
    int httpPort,
    Path dataDir,
    @Nullable String dbUrl,
    @Nullable String dbUser,
    @Nullable String dbPassword,
    @Nullable String masterKeyBase64,
    List<URI> oidcIssuers,
    @Nullable String oidcAudience,
    String jwtIssuer,
    boolean allowPrivateUpstreams) {

  /** Without private upstreams (the default). */
  public ControlPlaneConfig(
      int httpPort,
      Path dataDir,
      @Nullable String dbUrl,
      @Nullable String dbUser,
      @Nullable String dbPassword,
      @Nullable String masterKeyBase64,
      List<URI> oidcIssuers,
      @Nullable String oidcAudience,
      String jwtIssuer) {
    this(
        httpPort,
        dataDir,
        dbUrl,
        dbUser,
        dbPassword,
        masterKeyBase64,
        oidcIssuers,
        oidcAudience,
        jwtIssuer,
        false);
  }

  public ControlPlaneConfig {
    requireNonNull(dataDir, "dataDir");
    requireNonNull(oidcIssuers, "oidcIssuers");
    requireNonNull(jwtIssuer, "jwtIssuer");
    if (httpPort < 0 || httpPort > 65535) {
      throw new IllegalArgumentException(
          "AGENTROUTER_HTTP_PORT: " + httpPort + " (expected 0-65535)");
    }
    oidcIssuers = List.copyOf(oidcIssuers);
  }

  /** Default issuer of MP JWTs when AGENTROUTER_JWT_ISSUER is not set. */
  public static final String DEFAULT_JWT_ISSUER = "agentrouter-control-plane";

  public static ControlPlaneConfig fromEnv(Map<String, String> env) {
    String port = env.getOrDefault("AGENTROUTER_HTTP_PORT", "8080");
    int httpPort;
    try {
      httpPort = Integer.parseInt(port.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "AGENTROUTER_HTTP_PORT: '" + port + "' is not a number (expected 0-65535)", e);
    }
    List<URI> issuers = new ArrayList<>();
    for (String s :
        blankToNull(env.get("AGENTROUTER_OIDC_ISSUERS")) == null
            ? new String[0]
            : env.get("AGENTROUTER_OIDC_ISSUERS").split(",")) {
      String v = s.strip();
      if (v.isEmpty()) {
        continue;
      }
      URI uri = URI.create(v.endsWith("/") ? v.substring(0, v.length() - 1) : v);
      if (uri.getScheme() == null
          || !(uri.getScheme().equals("https") || uri.getScheme().equals("http"))
          || uri.getHost() == null) {
        throw new IllegalArgumentException(
            "AGENTROUTER_OIDC_ISSUERS: '"
                + v
                + "' is not an issuer URL (expected https://host[/path])");
      }
      issuers.add(uri);
    }
    return new ControlPlaneConfig(
        httpPort,
        Path.of(env.getOrDefault("AGENTROUTER_DATA_DIR", "./.agentrouter")),
        blankToNull(env.get("AGENTROUTER_DB_URL")),
        blankToNull(env.get("AGENTROUTER_DB_USER")),
        blankToNull(env.get("AGENTROUTER_DB_PASSWORD")),
        blankToNull(env.get("AGENTROUTER_MASTER_KEY")),
        issuers,
        blankToNull(env.get("AGENTROUTER_OIDC_AUDIENCE")),
        env.getOrDefault("AGENTROUTER_JWT_ISSUER", DEFAULT_JWT_ISSUER),
        "true"
            .equalsIgnoreCase(env.getOrDefault("AGENTROUTER_ALLOW_PRIVATE_UPSTREAMS", "").strip()));
  }

  private static @Nullable String blankToNull(@Nullable String s) {
    return s == null || s.isBlank() ? null : s.strip();
  }

  /** Never print the database password or the master key. */
  @Override
  public String toString() {
    return "ControlPlaneConfig[httpPort="
        + httpPort
        + ", dataDir="
        + dataDir
        + ", db="
        + (dbUrl == null ? "embedded" : redactUrl(dbUrl))
        + ", oidcIssuers="
        + oidcIssuers
        + ", jwtIssuer="
        + jwtIssuer
        + "]";
  }

  private static String redactUrl(String url) {
    int q = url.indexOf('?');
    return q < 0 ? url : url.substring(0, q) + "?…";
  }

  public ControlPlaneConfig withHttpPort(int port) {
    return new ControlPlaneConfig(
        port,
        dataDir,
        dbUrl,
        dbUser,
        dbPassword,
        masterKeyBase64,
        oidcIssuers,
        oidcAudience,
        jwtIssuer);
  }
}
