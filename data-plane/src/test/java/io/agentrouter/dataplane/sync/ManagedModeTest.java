package io.agentrouter.dataplane.sync;

import static io.agentrouter.dataplane.sync.FakeControlPlane.Snapshots.active;
import static io.agentrouter.dataplane.sync.FakeControlPlane.Snapshots.base;
import static io.agentrouter.dataplane.sync.FakeControlPlane.Snapshots.key;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import io.agentrouter.dataplane.TestGateway;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import io.agentrouter.proto.dataplane.v1.ConfigRequest;
import io.agentrouter.proto.dataplane.v1.SnapshotKeyStatus;
import io.agentrouter.proto.dataplane.v1.SnapshotRoute;
import io.agentrouter.proto.dataplane.v1.SnapshotRouteTarget;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Managed mode against a stand-in control plane (the real one is exercised end to end in {@code
 * integration-tests}): registration, config sync with ack/nack, static stability.
 */
class ManagedModeTest {
  @TempDir Path dir;

  private static String deadUrl() {
    FakeControlPlane gone = FakeControlPlane.start();
    String url = gone.url();
    gone.close();
    return url;
  }

  @Test
  void exchangesTheTokenOnceAndReusesTheCredential() throws Exception {
    String token = TestGateway.newKey();
    try (FakeOpenAi fake = FakeOpenAi.start();
        FakeControlPlane cp = FakeControlPlane.start()) {
      cp.publish(base("1", fake.baseUrl()).addKeys(active(token)).build());
      try (ManagedGateway gw = ManagedGateway.start(cp.url(), dir, FakeControlPlane.TOKEN)) {
        await().atMost(Duration.ofSeconds(10)).until(() -> !cp.acks("1").isEmpty());
        assertThat(gw.chat(token).status().code()).isEqualTo(200);
      }
      Path credential = dir.resolve(ControlPlaneConfigSource.CREDENTIAL_FILE);
      assertThat(Files.readString(credential, StandardCharsets.US_ASCII)).startsWith("ar-dpcred-");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(credential)))
          .isEqualTo("rw-------");
      assertThat(cp.registrations).hasValue(1);

      // Second start: same (now used) token in the environment, the stored credential is used.
      int acksBefore = cp.acks("1").size();
      int heartbeatsBefore = cp.heartbeats.size();
      try (ManagedGateway gw = ManagedGateway.start(cp.url(), dir, FakeControlPlane.TOKEN)) {
        await().atMost(Duration.ofSeconds(10)).until(() -> cp.heartbeats.size() > heartbeatsBefore);
        assertThat(gw.chat(token).status().code()).isEqualTo(200);
        assertThat(gw.fatal).isEmpty();
      }
      assertThat(cp.registrations).hasValue(1);
      assertThat(cp.acks("1").size()).isGreaterThanOrEqualTo(acksBefore);
      assertThat(cp.heartbeats.get(cp.heartbeats.size() - 1).getConfigVersion()).isEqualTo("1");
    }
  }

  @Test
  void aReusedTokenWithoutCredentialIsFatalAndNothingIsServed() throws Exception {
    try (FakeControlPlane cp = FakeControlPlane.start()) {
      cp.tokens.clear(); // the token was used by someone else
      try (ManagedGateway gw = ManagedGateway.start(cp.url(), dir, FakeControlPlane.TOKEN)) {
        await().atMost(Duration.ofSeconds(10)).until(() -> !gw.fatal.isEmpty());
        assertThat(gw.fatal.get(0))
            .contains("refused the registration token")
            .contains("UNAUTHENTICATED")
            .doesNotContain(FakeControlPlane.TOKEN);
        AggregatedHttpResponse health = gw.health();
        assertThat(health.status().code()).isEqualTo(503);
        assertThat(health.contentUtf8()).contains("not_ready").contains("registration token");
      }
      assertThat(Files.exists(dir.resolve(ControlPlaneConfigSource.CREDENTIAL_FILE))).isFalse();
    }
  }

  @Test
  void aRevokedKeyStopsWorkingWithinFiveSeconds() {
    String token = TestGateway.newKey();
    try (FakeOpenAi fake = FakeOpenAi.start();
        FakeControlPlane cp = FakeControlPlane.start()) {
      cp.publish(base("1", fake.baseUrl()).addKeys(active(token)).build());
      try (ManagedGateway gw = ManagedGateway.start(cp.url(), dir, FakeControlPlane.TOKEN)) {
        await().atMost(Duration.ofSeconds(10)).until(() -> !cp.acks("1").isEmpty());
        ChatCompletion c =
            gw.openAi(token)
                .chat()
                .completions()
                .create(
                    ChatCompletionCreateParams.builder()
                        .model("gpt-4o-mini")
                        .addUserMessage("Hi")
                        .build());
        assertThat(c.choices().get(0).message().content()).hasValue("Hello from the fake");

        cp.publish(
            base("2", fake.baseUrl())
                .addKeys(key(token, SnapshotKeyStatus.SNAPSHOT_KEY_STATUS_REVOKED))
                .build());
        await().atMost(Duration.ofSeconds(5)).until(() -> gw.chat(token).status().code() == 401);
        assertThat(cp.acks("2")).isNotEmpty();
        assertThat(gw.health().contentUtf8()).contains("\"config_version\":\"2\"");
      }
    }
  }

  @Test
  void anInvalidSnapshotIsNackedAndThePreviousOneKeepsServing() {
    String token = TestGateway.newKey();
    try (FakeOpenAi fake = FakeOpenAi.start();
        FakeControlPlane cp = FakeControlPlane.start()) {
      cp.publish(base("1", fake.baseUrl()).addKeys(active(token)).build());
      try (ManagedGateway gw = ManagedGateway.start(cp.url(), dir, FakeControlPlane.TOKEN)) {
        await().atMost(Duration.ofSeconds(10)).until(() -> !cp.acks("1").isEmpty());
        cp.publish(
            base("2", fake.baseUrl())
                .addKeys(active(token))
                .addRoutes(
                    SnapshotRoute.newBuilder()
                        .setProjectId(FakeControlPlane.Snapshots.PROJECT)
                        .setAlias("smart")
                        .addTargets(
                            SnapshotRouteTarget.newBuilder()
                                .setModel("openai/gpt-9-unknown")
                                .setWeight(1)))
                .build());
        await().atMost(Duration.ofSeconds(10)).until(() -> !cp.nacks().isEmpty());
        ConfigRequest nack = cp.nacks().get(0);
        assertThat(nack.getVersionInfo()).isEqualTo("1");
        assertThat(nack.getErrorDetail().getMessage())
            .contains("route 'smart'")
            .contains("gpt-9-unknown");
        assertThat(gw.chat(token).status().code()).isEqualTo(200);
        AggregatedHttpResponse health = gw.health();
        assertThat(health.status().code()).isEqualTo(200);
        assertThat(health.contentUtf8())
            .contains("\"config_version\":\"1\"")
            .contains("last_refused");
      }
    }
  }

  @Test
  void aRestartDuringAnOutageServesThePersistedSnapshot() throws Exception {
    String token = TestGateway.newKey();
    try (FakeOpenAi fake = FakeOpenAi.start()) {
      try (FakeControlPlane cp = FakeControlPlane.start()) {
        cp.publish(base("7", fake.baseUrl()).addKeys(active(token)).build());
        try (ManagedGateway gw = ManagedGateway.start(cp.url(), dir, FakeControlPlane.TOKEN)) {
          await().atMost(Duration.ofSeconds(10)).until(() -> !cp.acks("7").isEmpty());
        }
      }
      Path snapshot = dir.resolve(SnapshotVault.FILE);
      byte[] sealed = Files.readAllBytes(snapshot);
      assertThat(new String(sealed, StandardCharsets.ISO_8859_1))
          .doesNotContain("sk-provider-secret-never-logged")
          .doesNotContain("gpt-4o-mini");
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(snapshot)))
          .isEqualTo("rw-------");
      assertThat(
              PosixFilePermissions.toString(
                  Files.getPosixFilePermissions(dir.resolve(SnapshotVault.KEY_FILE))))
          .isEqualTo("rw-------");

      // The control plane is gone; the data plane restarts and serves from disk.
      try (ManagedGateway gw = ManagedGateway.start(deadUrl(), dir, null)) {
        AggregatedHttpResponse health = gw.health();
        assertThat(health.status().code()).isEqualTo(200);
        assertThat(health.contentUtf8()).contains("\"config_version\":\"7\"");
        assertThat(gw.chat(token).status().code()).isEqualTo(200);
        assertThat(gw.fatal).isEmpty();
      }
    }
  }

  @Test
  void aCorruptSnapshotWithoutControlPlaneRefusesEverything() throws Exception {
    String token = TestGateway.newKey();
    try (FakeOpenAi fake = FakeOpenAi.start()) {
      try (FakeControlPlane cp = FakeControlPlane.start()) {
        cp.publish(base("3", fake.baseUrl()).addKeys(active(token)).build());
        try (ManagedGateway gw = ManagedGateway.start(cp.url(), dir, FakeControlPlane.TOKEN)) {
          await().atMost(Duration.ofSeconds(10)).until(() -> !cp.acks("3").isEmpty());
        }
      }
      Path snapshot = dir.resolve(SnapshotVault.FILE);
      byte[] bytes = Files.readAllBytes(snapshot);
      bytes[bytes.length - 5] ^= 0x40;
      Files.write(snapshot, bytes);
      fake.reset();

      try (ManagedGateway gw = ManagedGateway.start(deadUrl(), dir, null)) {
        AggregatedHttpResponse health = gw.health();
        assertThat(health.status().code()).isEqualTo(503);
        assertThat(health.contentUtf8()).contains("not_ready").contains("does not open");
        AggregatedHttpResponse call = gw.chat(token);
        assertThat(call.status().code()).isEqualTo(503);
        assertThat(call.contentUtf8()).contains("not_ready");
        assertThat(gw.chat(TestGateway.newKey()).status().code()).isEqualTo(503);
      }
      assertThat(fake.received()).isEmpty();
    }
  }

  @Test
  void failsOverToTheNextControlPlaneReplica() {
    String token = TestGateway.newKey();
    try (FakeOpenAi fake = FakeOpenAi.start();
        FakeControlPlane cp = FakeControlPlane.start()) {
      cp.publish(base("1", fake.baseUrl()).addKeys(active(token)).build());
      try (ManagedGateway gw =
          ManagedGateway.start(deadUrl() + "," + cp.url(), dir, FakeControlPlane.TOKEN)) {
        await().atMost(Duration.ofSeconds(10)).until(() -> !cp.acks("1").isEmpty());
        assertThat(gw.chat(token).status().code()).isEqualTo(200);
      }
    }
  }
}
