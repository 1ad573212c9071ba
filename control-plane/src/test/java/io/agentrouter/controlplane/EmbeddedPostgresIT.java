package io.agentrouter.controlplane;

import static org.assertj.core.api.Assertions.assertThat;

import io.agentrouter.controlplane.config.ControlPlaneConfig;
import io.agentrouter.controlplane.testing.Rest;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Without AGENTROUTER_DB_URL: PostgreSQL runs embedded in the data directory and keeps its rows.
 */
class EmbeddedPostgresIT {
  @TempDir Path dataDir;

  @Test
  void theEmbeddedDatabaseSurvivesARestart() throws Exception {
    ControlPlaneConfig config =
        new ControlPlaneConfig(
            0,
            dataDir,
            null,
            null,
            null,
            null,
            List.of(),
            null,
            ControlPlaneConfig.DEFAULT_JWT_ISSUER);
    ByteArrayOutputStream banner = new ByteArrayOutputStream();
    String customer;
    String admin;
    try (ControlPlane cp =
        ControlPlane.start(config, new PrintStream(banner, true, StandardCharsets.UTF_8))) {
      admin = Files.readString(dataDir.resolve("admin.key")).strip();
      Rest.Response created =
          new Rest(cp.baseUrl()).post("/v1/customers", admin, "{\"name\":\"Embedded\"}");
      assertThat(created.status()).as(created.body()).isEqualTo(200);
      customer = created.text("customer_id");
    }
    assertThat(Files.isDirectory(dataDir.resolve("postgres"))).isTrue();
    banner.reset();
    try (ControlPlane cp =
        ControlPlane.start(config, new PrintStream(banner, true, StandardCharsets.UTF_8))) {
      assertThat(cp.bootstrapKey()).isNull();
      Rest.Response got = new Rest(cp.baseUrl()).get("/v1/customers/" + customer, admin);
      assertThat(got.status()).as(got.body()).isEqualTo(200);
      assertThat(got.text("name")).isEqualTo("Embedded");
    }
    assertThat(banner.toString(StandardCharsets.UTF_8)).isEmpty();
  }
}
