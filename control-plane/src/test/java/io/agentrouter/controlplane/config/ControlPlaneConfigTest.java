package io.agentrouter.controlplane.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ControlPlaneConfigTest {
  @Test
  void defaults() {
    ControlPlaneConfig c = ControlPlaneConfig.fromEnv(Map.of());
    assertThat(c.httpPort()).isEqualTo(8080);
    assertThat(c.dataDir()).isEqualTo(Path.of("./.agentrouter"));
    assertThat(c.dbUrl()).isNull();
    assertThat(c.oidcIssuers()).isEmpty();
    assertThat(c.jwtIssuer()).isEqualTo("agentrouter-control-plane");
  }

  @Test
  void readsTheEnvironment() {
    ControlPlaneConfig c =
        ControlPlaneConfig.fromEnv(
            Map.of(
                "AGENTROUTER_HTTP_PORT", "9000",
                "AGENTROUTER_DB_URL", "jdbc:postgresql://db/cp",
                "AGENTROUTER_DB_PASSWORD", "hunter2",
                "AGENTROUTER_OIDC_ISSUERS",
                    "https://idp.example.com/, https://login.example.org/realms/x",
                "AGENTROUTER_OIDC_AUDIENCE", "agentrouter"));
    assertThat(c.httpPort()).isEqualTo(9000);
    assertThat(c.oidcIssuers())
        .containsExactly(
            URI.create("https://idp.example.com"),
            URI.create("https://login.example.org/realms/x"));
    assertThat(c.toString()).doesNotContain("hunter2");
  }

  @Test
  void badValuesNameTheVariable() {
    assertThatThrownBy(() -> ControlPlaneConfig.fromEnv(Map.of("AGENTROUTER_HTTP_PORT", "http")))
        .hasMessageStartingWith("AGENTROUTER_HTTP_PORT: 'http' is not a number");
    assertThatThrownBy(
            () -> ControlPlaneConfig.fromEnv(Map.of("AGENTROUTER_OIDC_ISSUERS", "idp.example.com")))
        .hasMessageStartingWith("AGENTROUTER_OIDC_ISSUERS: 'idp.example.com' is not an issuer URL");
  }
}
