package io.agentrouter.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The OAuth 2.0 device authorization grant (RFC 8628) against an OIDC issuer: discover its
 * endpoints, ask for a device and user code, tell the user where to enter it (stderr), and poll the
 * token endpoint, honouring {@code authorization_pending}, {@code slow_down} and expiry.
 *
 * <pre>
 * CLI ──discovery──▶ issuer/.well-known/openid-configuration
 * CLI ──client_id, scope──▶ device_authorization_endpoint ──▶ device_code, user_code, verification_uri
 * user ──(browser) enters user_code──▶ issuer
 * CLI ──device_code (every interval s)──▶ token_endpoint ──▶ pending … pending … access_token
 * </pre>
 */
final class DeviceCodeFlow {
  static final String GRANT = "urn:ietf:params:oauth:grant-type:device_code";

  /** The tokens the issuer granted. */
  record Tokens(String accessToken, String idToken) {}

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final ObjectMapper json = new ObjectMapper();
  private final CliContext ctx;

  DeviceCodeFlow(CliContext ctx) {
    this.ctx = ctx;
  }

  Tokens run(String issuer, String clientId, String scope) {
    String base = issuer.endsWith("/") ? issuer.substring(0, issuer.length() - 1) : issuer;
    JsonNode discovery = get(URI.create(base + "/.well-known/openid-configuration"));
    String deviceEndpoint = discovery.path("device_authorization_endpoint").asText("");
    String tokenEndpoint = discovery.path("token_endpoint").asText("");
    if (deviceEndpoint.isEmpty() || tokenEndpoint.isEmpty()) {
      throw new CliException(
          ExitCodes.AUTH,
          "issuer "
              + issuer
              + " does not advertise a device_authorization_endpoint and token_endpoint (the"
              + " device-code flow needs both); log in with --api-key instead");
    }
    HttpResponse<String> started =
        post(URI.create(deviceEndpoint), Map.of("client_id", clientId, "scope", scope));
    JsonNode auth = parse(started, deviceEndpoint);
    if (started.statusCode() != 200) {
      throw new CliException(
          ExitCodes.AUTH,
          "device authorization at " + deviceEndpoint + " failed: " + describe(auth, started));
    }
    String deviceCode = auth.path("device_code").asText("");
    String userCode = auth.path("user_code").asText("");
    String verify = auth.path("verification_uri").asText(auth.path("verification_url").asText(""));
    String verifyComplete = auth.path("verification_uri_complete").asText("");
    long interval = Math.max(0, auth.path("interval").asLong(5));
    Instant deadline = Instant.now().plusSeconds(auth.path("expires_in").asLong(600));
    if (deviceCode.isEmpty() || userCode.isEmpty() || verify.isEmpty()) {
      throw new CliException(
          ExitCodes.AUTH,
          "device authorization at "
              + deviceEndpoint
              + " answered without device_code, user_code or verification_uri");
    }

    PrintWriter err = ctx.err();
    err.println("To sign in, open " + verify + " and enter the code " + userCode);
    if (!verifyComplete.isEmpty()) {
      err.println("(or open " + verifyComplete + ")");
    }
    err.print("Waiting for authorization");
    err.flush();
    try {
      while (true) {
        if (Instant.now().isAfter(deadline)) {
          throw new CliException(
              ExitCodes.AUTH, "the device code expired before it was authorized; run login again");
        }
        ctx.sleeper().sleep(Duration.ofSeconds(interval));
        HttpResponse<String> polled =
            post(
                URI.create(tokenEndpoint),
                Map.of("grant_type", GRANT, "device_code", deviceCode, "client_id", clientId));
        JsonNode body = parse(polled, tokenEndpoint);
        if (polled.statusCode() == 200 && body.hasNonNull("access_token")) {
          err.println(" done");
          err.flush();
          return new Tokens(body.path("access_token").asText(), body.path("id_token").asText(""));
        }
        String error = body.path("error").asText("");
        switch (error) {
          case "authorization_pending" -> {}
          case "slow_down" -> interval += 5;
          case "access_denied" ->
              throw new CliException(ExitCodes.AUTH, "authorization was denied at " + issuer);
          case "expired_token" ->
              throw new CliException(
                  ExitCodes.AUTH,
                  "the device code expired before it was authorized; run login again");
          default ->
              throw new CliException(
                  ExitCodes.AUTH,
                  "token endpoint " + tokenEndpoint + " failed: " + describe(body, polled));
        }
        err.print(".");
        err.flush();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCodes.AUTH, "login interrupted");
    } finally {
      err.flush();
    }
  }

  private JsonNode get(URI uri) {
    try {
      HttpResponse<String> r =
          http.send(
              HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new CliException(
            ExitCodes.AUTH,
            "OIDC discovery at " + uri + " answered " + r.statusCode() + " (expected 200)");
      }
      return parse(r, uri.toString());
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.UNAVAILABLE, "cannot reach the OIDC issuer at " + uri + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCodes.AUTH, "login interrupted");
    }
  }

  private HttpResponse<String> post(URI uri, Map<String, String> form) {
    String body =
        new LinkedHashMap<>(form)
            .entrySet().stream()
                .map(
                    e ->
                        URLEncoder.encode(e.getKey(), StandardCharsets.UTF_8)
                            + "="
                            + URLEncoder.encode(e.getValue(), StandardCharsets.UTF_8))
                .collect(Collectors.joining("&"));
    try {
      return http.send(
          HttpRequest.newBuilder(uri)
              .timeout(Duration.ofSeconds(30))
              .header("content-type", "application/x-www-form-urlencoded")
              .header("accept", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(body))
              .build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new CliException(ExitCodes.UNAVAILABLE, "cannot reach " + uri + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCodes.AUTH, "login interrupted");
    }
  }

  private JsonNode parse(HttpResponse<String> r, String where) {
    try {
      return json.readTree(r.body());
    } catch (IOException e) {
      throw new CliException(
          ExitCodes.AUTH, where + " answered " + r.statusCode() + " with a body that is not JSON");
    }
  }

  private static String describe(JsonNode body, HttpResponse<String> r) {
    String error = body.path("error").asText("HTTP " + r.statusCode());
    String description = body.path("error_description").asText("");
    return description.isEmpty() ? error : error + ": " + description;
  }
}
