package io.agentrouter.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code AGENTROUTER_IDLE_TIMEOUT_MS}: idle and half-sent connections are closed when it ends. */
class IdleTimeoutTest {
  private static final String YAML =
      """
      providers: [{name: openai, type: openai, base_url: "http://127.0.0.1:9/v1"}]
      models: [{provider: openai, model: gpt-4o-mini}]
      projects: [{id: p}]
      keys: [{token: "%s", project: p}]
      """
          .formatted(TestGateway.newKey());

  @Test
  void defaultsTo15SecondsAndRefusesZero() {
    assertThat(DataPlaneSettings.defaults().idleTimeout()).isEqualTo(Duration.ofSeconds(15));
    assertThat(
            DataPlaneSettings.fromEnv(Map.of("AGENTROUTER_IDLE_TIMEOUT_MS", "2500")::get)
                .idleTimeout())
        .isEqualTo(Duration.ofMillis(2500));
    assertThatThrownBy(
            () -> DataPlaneSettings.fromEnv(Map.of("AGENTROUTER_IDLE_TIMEOUT_MS", "0")::get))
        .hasMessageContaining("idleTimeout: 0 ms (expected: > 0)");
  }

  @Test
  void headersSentAByteAtATimeAreCutAtTheIdleTimeout() throws Exception {
    DataPlaneSettings s =
        DataPlaneSettings.fromEnv(
            Map.of(
                    "AGENTROUTER_DATAPLANE_ID", "dp-test",
                    "AGENTROUTER_CONFIG_POLL_MS", "0",
                    "AGENTROUTER_SHUTDOWN_QUIET_MS", "0",
                    "AGENTROUTER_IDLE_TIMEOUT_MS", "1000")
                ::get);
    try (TestGateway gw = TestGateway.start(YAML, s)) {
      int port = Integer.parseInt(gw.url().substring(gw.url().lastIndexOf(':') + 1));
      byte[] head =
          ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Pad: " + "a".repeat(500))
              .getBytes(StandardCharsets.US_ASCII);
      try (Socket socket = new Socket("127.0.0.1", port)) {
        socket.setSoTimeout(50);
        long start = System.nanoTime();
        OutputStream out = socket.getOutputStream();
        InputStream in = socket.getInputStream();
        long closedAfterMs = -1;
        for (int i = 0; i < head.length && closedAfterMs < 0; i++) {
          try {
            out.write(head[i]);
            out.flush();
          } catch (java.io.IOException e) {
            closedAfterMs = (System.nanoTime() - start) / 1_000_000;
            break;
          }
          try {
            if (in.read() < 0) {
              closedAfterMs = (System.nanoTime() - start) / 1_000_000;
            }
          } catch (SocketTimeoutException stillOpen) {
            // Nothing from the server yet: send the next byte.
          } catch (java.io.IOException reset) {
            closedAfterMs = (System.nanoTime() - start) / 1_000_000;
          }
        }
        // A byte every ~50 ms does not keep the connection alive: the headers never finished.
        assertThat(closedAfterMs).isBetween(900L, 5000L);
      }
    }
  }
}
