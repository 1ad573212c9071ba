package io.agentrouter.dataplane.sync;

import static io.agentrouter.dataplane.sync.FakeControlPlane.Snapshots.active;
import static io.agentrouter.dataplane.sync.FakeControlPlane.Snapshots.base;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.agentrouter.dataplane.TestGateway;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import io.agentrouter.dataplane.spool.UsageSpool;
import io.agentrouter.proto.dataplane.v1.UsageRecord;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Usage records reach the control plane exactly as served, survive restarts, leave when acked. */
class UsageSpoolTest {
  @TempDir Path dir;

  @Test
  void recordsSurviveARestartAreResentUntilAckedAndDroppedAfter() throws Exception {
    String token = TestGateway.newKey();
    List<String> ids = new ArrayList<>();
    try (FakeOpenAi fake = FakeOpenAi.start();
        FakeControlPlane cp = FakeControlPlane.start()) {
      cp.publish(base("1", fake.baseUrl()).addKeys(active(token)).build());
      cp.ackUsage = false; // delivered, never acked
      try (ManagedGateway gw = ManagedGateway.start(cp.url(), dir, FakeControlPlane.TOKEN)) {
        await().atMost(Duration.ofSeconds(10)).until(() -> !cp.acks("1").isEmpty());
        for (int i = 0; i < 3; i++) {
          ids.add(gw.chat(token).headers().get("x-request-id"));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> cp.usage.keySet().containsAll(ids));
        assertThat(gw.spool.pending()).isEqualTo(3);
      }
      UsageRecord first = cp.usageRecords.get(0);
      assertThat(first.getPromptTokens()).isEqualTo(10);
      assertThat(first.getCompletionTokens()).isEqualTo(4);
      assertThat(first.getCostMicros()).isEqualTo(18); // 10 x $1/M + 4 x $2/M
      assertThat(first.getStatusCode()).isEqualTo(200);
      assertThat(first.getProjectId()).isEqualTo(FakeControlPlane.Snapshots.PROJECT);

      // The three unacked records are on disk while no gateway runs.
      try (UsageSpool onDisk = UsageSpool.open(dir.resolve("spool"), 1 << 20, 64 * 1024)) {
        assertThat(onDisk.pending()).isEqualTo(3);
      }

      // Restart: the unacked records come back from disk and are delivered again, now acked.
      cp.ackUsage = true;
      try (ManagedGateway gw = ManagedGateway.start(cp.url(), dir, null)) {
        await()
            .atMost(Duration.ofSeconds(10))
            .until(() -> ids.stream().allMatch(id -> cp.usage.get(id).get() >= 2));
        await().atMost(Duration.ofSeconds(10)).until(() -> gw.spool.pending() == 0);
      }
      // Deduplicated by request id: three records, whatever the deliveries.
      assertThat(cp.usageRecords).hasSize(3);
      assertThat(Set.copyOf(cp.usageRecords.stream().map(UsageRecord::getRequestId).toList()))
          .containsExactlyInAnyOrderElementsOf(ids);

      // Acked records are gone for good: nothing is left to resend after another restart.
      try (ManagedGateway gw = ManagedGateway.start(cp.url(), dir, null)) {
        assertThat(gw.spool.pending()).isZero();
      }
    }
  }

  @Test
  void theSpoolKeepsRecordsWhileTheControlPlaneIsDownAndDeliversThemLater() throws Exception {
    String token = TestGateway.newKey();
    List<String> ids = new ArrayList<>();
    try (FakeOpenAi fake = FakeOpenAi.start()) {
      int port;
      try (FakeControlPlane cp = FakeControlPlane.start()) {
        port = cp.port();
        cp.publish(base("1", fake.baseUrl()).addKeys(active(token)).build());
        try (ManagedGateway gw = ManagedGateway.start(cp.url(), dir, FakeControlPlane.TOKEN)) {
          await().atMost(Duration.ofSeconds(10)).until(() -> !cp.acks("1").isEmpty());
        }
      }
      // Control plane down: requests are served, records wait on disk.
      try (ManagedGateway gw = ManagedGateway.start("http://127.0.0.1:" + port, dir, null)) {
        for (int i = 0; i < 5; i++) {
          assertThat(gw.chat(token).status().code()).isEqualTo(200);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> gw.spool.pending() == 5);
        try (FakeControlPlane back = FakeControlPlane.start(port)) {
          back.credentials.addAll(credentialsOf(dir));
          await().atMost(Duration.ofSeconds(20)).until(() -> gw.spool.pending() == 0);
          assertThat(back.usageRecords).hasSize(5);
          back.usageRecords.forEach(r -> ids.add(r.getRequestId()));
        }
      }
      assertThat(Set.copyOf(ids)).hasSize(5);
    }
  }

  @Test
  void aTornTailIsCutAndTheRestIsKept() throws Exception {
    Path spoolDir = dir.resolve("spool");
    try (UsageSpool spool = UsageSpool.open(spoolDir, 1 << 20, 64 * 1024)) {
      spool.accept(SpoolRecords.record("req_a"));
      spool.accept(SpoolRecords.record("req_b"));
      await().atMost(Duration.ofSeconds(5)).until(() -> spool.take(10).size() == 2);
    }
    Path segment;
    try (var files = java.nio.file.Files.list(spoolDir)) {
      segment = files.filter(p -> p.toString().endsWith(".seg")).findFirst().orElseThrow();
    }
    // A crash in the middle of a third record.
    java.nio.file.Files.write(
        segment, new byte[] {0, 0, 0, 50, 1, 2, 3, 4, 9}, java.nio.file.StandardOpenOption.APPEND);
    try (UsageSpool spool = UsageSpool.open(spoolDir, 1 << 20, 64 * 1024)) {
      assertThat(spool.take(10))
          .extracting(UsageRecord::getRequestId)
          .containsExactly("req_a", "req_b");
    }
  }

  private static List<String> credentialsOf(Path dir) throws java.io.IOException {
    return List.of(
        java.nio.file.Files.readString(dir.resolve(ControlPlaneConfigSource.CREDENTIAL_FILE))
            .strip());
  }
}
