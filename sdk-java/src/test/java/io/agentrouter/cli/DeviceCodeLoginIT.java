package io.agentrouter.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.QueryParams;
import com.linecorp.armeria.server.Server;
import io.agentrouter.cli.CliRunner.Run;
import io.agentrouter.controlplane.testing.ControlPlaneExtension;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code login --issuer} runs the RFC 8628 device-code flow. mock-oauth2-server (6.0.2) is the real
 * OIDC server here: it signs the tokens and the control plane verifies them against its discovery
 * document and JWKS. It has no device authorization endpoint (navikt/mock-oauth2-server#766), so a
 * small in-test authorization server speaks the device grant (discovery, device codes, polling with
 * authorization_pending and slow_down) and hands out tokens minted by mock-oauth2-server.
 */
class DeviceCodeLoginIT {
  static final MockOAuth2Server oauth = start();
  static final ObjectMapper json = new ObjectMapper();

  @RegisterExtension
  static final ControlPlaneExtension cp = new ControlPlaneExtension(() -> List.of(oidcIssuer()));

  static Server deviceServer;
  static String deviceIssuer;
  static final AtomicInteger polls = new AtomicInteger();

  @TempDir Path home;

  static MockOAuth2Server start() {
    MockOAuth2Server s = new MockOAuth2Server();
    s.start();
    return s;
  }

  static URI oidcIssuer() {
    String s = oauth.issuerUrl("default").toString();
    return URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s);
  }

  static HttpResponse json(HttpStatus status, String body) {
    return HttpResponse.of(status, MediaType.JSON_UTF_8, body);
  }

  @BeforeAll
  static void startDeviceServer() {
    deviceServer =
        Server.builder()
            .http(0)
            .service(
                "/.well-known/openid-configuration",
                (ctx, req) ->
                    json(
                        HttpStatus.OK,
                        "{\"issuer\":\"%s\",\"device_authorization_endpoint\":\"%s/device\",\"token_endpoint\":\"%s/token\"}"
                            .formatted(deviceIssuer, deviceIssuer, deviceIssuer)))
            .service(
                "/device",
                (ctx, req) ->
                    HttpResponse.of(
                        req.aggregate()
                            .thenApply(
                                agg -> {
                                  QueryParams form = QueryParams.fromQueryString(agg.contentUtf8());
                                  String client = form.get("client_id", "");
                                  if (!client.startsWith("agentrouter-cli")) {
                                    return json(
                                        HttpStatus.BAD_REQUEST, "{\"error\":\"invalid_client\"}");
                                  }
                                  return json(
                                      HttpStatus.OK,
                                      "{\"device_code\":\"dc-%s\",\"user_code\":\"WDJB-MJHT\",\"verification_uri\":\"%s/activate\",\"expires_in\":600,\"interval\":1}"
                                          .formatted(client, deviceIssuer));
                                })))
            .service(
                "/token",
                (ctx, req) ->
                    HttpResponse.of(
                        req.aggregate()
                            .thenApply(
                                agg -> {
                                  QueryParams form = QueryParams.fromQueryString(agg.contentUtf8());
                                  if (!DeviceCodeFlow.GRANT.equals(form.get("grant_type"))) {
                                    return json(
                                        HttpStatus.BAD_REQUEST,
                                        "{\"error\":\"unsupported_grant_type\"}");
                                  }
                                  if (form.get("device_code", "")
                                      .equals("dc-agentrouter-cli-denied")) {
                                    return json(
                                        HttpStatus.BAD_REQUEST, "{\"error\":\"access_denied\"}");
                                  }
                                  int n = polls.incrementAndGet();
                                  if (n == 1) {
                                    return json(
                                        HttpStatus.BAD_REQUEST,
                                        "{\"error\":\"authorization_pending\"}");
                                  }
                                  if (n == 2) {
                                    return json(
                                        HttpStatus.BAD_REQUEST, "{\"error\":\"slow_down\"}");
                                  }
                                  String token =
                                      oauth
                                          .issueToken(
                                              "default",
                                              "dana",
                                              "agentrouter",
                                              Map.of("email", "dana@example.com"),
                                              3600)
                                          .serialize();
                                  return json(
                                      HttpStatus.OK,
                                      "{\"access_token\":\"%s\",\"token_type\":\"Bearer\",\"expires_in\":3600}"
                                          .formatted(token));
                                })))
            .build();
    deviceServer.start().join();
    deviceIssuer = "http://127.0.0.1:" + deviceServer.activeLocalPort();
  }

  @AfterAll
  static void stop() {
    deviceServer.stop().join();
    oauth.shutdown();
  }

  @Test
  void deviceCodeLoginPollsUntilAuthorizedThenWhoamiShowsTheOidcUser() throws Exception {
    polls.set(0);
    CliRunner cli = new CliRunner(home);
    Run login =
        cli.run(
            "--base-url",
            cp.baseUrl(),
            "login",
            "--issuer",
            deviceIssuer,
            "--client-id",
            "agentrouter-cli");

    assertThat(login.code()).as(login.err()).isZero();
    assertThat(login.err())
        .contains("open " + deviceIssuer + "/activate and enter the code WDJB-MJHT")
        .contains("Waiting for authorization")
        .contains("done");
    assertThat(login.out()).contains("Logged in to " + cp.baseUrl());
    // interval 1 s, again after authorization_pending, then 5 s more after slow_down (RFC 8628 3.5)
    assertThat(cli.slept)
        .containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(6));

    Path file = home.resolve("agentrouter/config.json");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    JsonNode profile = json.readTree(file.toFile()).path("profiles").path("default");
    assertThat(profile.path("access_token").asText()).isNotBlank();
    assertThat(profile.has("api_key")).isFalse();

    Run me = cli.run("whoami", "-o", "json");
    assertThat(me.code()).as(me.err()).isZero();
    JsonNode body = json.readTree(me.out());
    assertThat(body.path("principal").path("oidc_subject").asText()).isEqualTo("dana");
    assertThat(body.path("principal").path("oidc_issuer").asText())
        .isEqualTo(oidcIssuer().toString());
    assertThat(body.path("credential").path("kind").asText())
        .isEqualTo("CREDENTIAL_KIND_OIDC_TOKEN");
  }

  @Test
  void aDeniedAuthorizationIsAnAuthError() {
    Run r =
        new CliRunner(home)
            .run(
                "--base-url",
                cp.baseUrl(),
                "login",
                "--issuer",
                deviceIssuer,
                "--client-id",
                "agentrouter-cli-denied");
    assertThat(r.code()).isEqualTo(ExitCodes.AUTH);
    assertThat(r.err()).contains("error: authorization was denied at " + deviceIssuer);
    assertThat(home.resolve("agentrouter/config.json")).doesNotExist();
  }

  @Test
  void anIssuerWithoutADeviceEndpointIsNamed() {
    // mock-oauth2-server's own discovery document has no device_authorization_endpoint.
    Run r =
        new CliRunner(home)
            .run(
                "--base-url",
                cp.baseUrl(),
                "login",
                "--issuer",
                oidcIssuer().toString(),
                "--client-id",
                "agentrouter-cli");
    assertThat(r.code()).isEqualTo(ExitCodes.AUTH);
    assertThat(r.err().strip())
        .isEqualTo(
            "error: issuer "
                + oidcIssuer()
                + " does not advertise a device_authorization_endpoint and token_endpoint (the"
                + " device-code flow needs both); log in with --api-key instead");
  }

  @Test
  void loginNeedsAClientIdWithAnIssuer() {
    Run r = new CliRunner(home).run("--base-url", cp.baseUrl(), "login", "--issuer", deviceIssuer);
    assertThat(r.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(r.err().strip()).isEqualTo("error: --issuer needs --client-id (the OIDC client id)");
  }
}
