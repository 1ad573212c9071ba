package io.agentrouter.controlplane.identity;

import static java.util.Objects.requireNonNull;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import io.agentrouter.controlplane.rpc.ApiException;
import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.text.ParseException;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bearer tokens from the configured OIDC issuers. Each issuer's JWKS location comes from its
 * discovery document; keys are cached (and refreshed on an unknown kid) by Nimbus. The (iss, sub)
 * pair becomes a user principal on first sight.
 */
public final class OidcAuthenticator {
  private static final Logger logger = LoggerFactory.getLogger(OidcAuthenticator.class);
  private static final Set<JWSAlgorithm> ALGORITHMS =
      Set.of(
          JWSAlgorithm.RS256,
          JWSAlgorithm.RS384,
          JWSAlgorithm.RS512,
          JWSAlgorithm.PS256,
          JWSAlgorithm.ES256,
          JWSAlgorithm.ES384,
          JWSAlgorithm.EdDSA);

  private final Map<String, URI> issuers;
  private final @Nullable String audience;
  private final PrincipalStore principals;
  private final HttpClient http;
  private final Map<String, DefaultJWTProcessor<SecurityContext>> processors =
      new ConcurrentHashMap<>();

  public OidcAuthenticator(
      List<URI> issuers, @Nullable String audience, PrincipalStore principals) {
    Map<String, URI> m = new ConcurrentHashMap<>();
    for (URI u : issuers) {
      m.put(u.toString(), u);
    }
    this.issuers = Map.copyOf(m);
    this.audience = audience;
    this.principals = requireNonNull(principals, "principals");
    this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  }

  boolean enabled() {
    return !issuers.isEmpty();
  }

  Caller authenticate(String token) {
    String issuer;
    try {
      issuer = SignedJWT.parse(token).getJWTClaimsSet().getIssuer();
    } catch (ParseException e) {
      throw ApiException.unauthenticated(
          "bearer token is neither an AgentRouter API key (sk-ar-...) nor a signed JWT");
    }
    if (issuer == null || !issuers.containsKey(stripSlash(issuer))) {
      throw ApiException.unauthenticated(
          "bearer token issuer '"
              + issuer
              + "' is not trusted (expected one of AGENTROUTER_OIDC_ISSUERS: "
              + issuers.keySet()
              + ")");
    }
    JWTClaimsSet claims;
    try {
      claims = processor(issuer).process(token, null);
    } catch (BadJOSEException e) {
      throw ApiException.unauthenticated("bearer token rejected: " + e.getMessage());
    } catch (JOSEException | ParseException e) {
      throw ApiException.unauthenticated("bearer token rejected: " + e.getMessage());
    }
    String display = firstNonBlank(claims, "email", "preferred_username", "name");
    Principal p =
        principals.provisionOidc(
            issuer, claims.getSubject(), display == null ? claims.getSubject() : display);
    return new Caller(p, Caller.Credential.OIDC_TOKEN, null, null, null);
  }

  private DefaultJWTProcessor<SecurityContext> processor(String issuer) {
    DefaultJWTProcessor<SecurityContext> existing = processors.get(issuer);
    if (existing != null) {
      return existing;
    }
    URI jwksUri = discoverJwksUri(issuer);
    JWKSource<SecurityContext> source;
    try {
      URL url = jwksUri.toURL();
      source =
          JWKSourceBuilder.create(url)
              .cache(Duration.ofMinutes(15).toMillis(), Duration.ofSeconds(30).toMillis())
              .rateLimited(Duration.ofSeconds(10).toMillis())
              .retrying(true)
              .build();
    } catch (java.net.MalformedURLException e) {
      throw ApiException.unavailable(
          "OIDC issuer '" + issuer + "' publishes an unusable jwks_uri '" + jwksUri + "'", null);
    }
    DefaultJWTProcessor<SecurityContext> p = new DefaultJWTProcessor<>();
    // ID tokens say "JWT"; RFC 9068 access tokens say "at+jwt"; some issuers say nothing.
    p.setJWSTypeVerifier(
        new DefaultJOSEObjectTypeVerifier<>(
            JOSEObjectType.JWT, new JOSEObjectType("at+jwt"), null));
    p.setJWSKeySelector(new JWSVerificationKeySelector<>(ALGORITHMS, source));
    Set<String> required = new HashSet<>(Set.of("sub", "exp", "iss"));
    p.setJWTClaimsSetVerifier(
        new DefaultJWTClaimsVerifier<>(
            audience, new JWTClaimsSet.Builder().issuer(issuer).build(), required));
    processors.put(issuer, p);
    return p;
  }

  private URI discoverJwksUri(String issuer) {
    URI discovery = URI.create(stripSlash(issuer) + "/.well-known/openid-configuration");
    try {
      HttpResponse<String> resp =
          http.send(
              HttpRequest.newBuilder(discovery).timeout(Duration.ofSeconds(5)).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      if (resp.statusCode() != 200) {
        throw ApiException.unavailable(
            "OIDC discovery at " + discovery + " answered " + resp.statusCode() + " (expected 200)",
            Duration.ofSeconds(5));
      }
      Object jwks = com.nimbusds.jose.util.JSONObjectUtils.parse(resp.body()).get("jwks_uri");
      if (!(jwks instanceof String s)) {
        throw ApiException.unavailable(
            "OIDC discovery at " + discovery + " has no jwks_uri", Duration.ofSeconds(5));
      }
      return URI.create(s);
    } catch (IOException | ParseException e) {
      logger.warn("OIDC discovery failed for {}: {}", issuer, e.toString());
      throw ApiException.unavailable(
          "OIDC discovery at " + discovery + " failed: " + e.getMessage(), Duration.ofSeconds(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw ApiException.unavailable("interrupted during OIDC discovery", null);
    }
  }

  private static @Nullable String firstNonBlank(JWTClaimsSet claims, String... names) {
    for (String n : names) {
      Object v = claims.getClaim(n);
      if (v instanceof String s && !s.isBlank()) {
        return s.length() > 255 ? s.substring(0, 255) : s;
      }
    }
    return null;
  }

  private static String stripSlash(String s) {
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }
}
