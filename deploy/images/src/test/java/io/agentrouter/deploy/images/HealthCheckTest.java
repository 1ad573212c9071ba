package io.agentrouter.deploy.images;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The compose health check: healthy only on a 2xx answer, never on silence or an error. */
class HealthCheckTest {

  private HttpServer server;

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/internal/health", exchange -> answer(exchange, 200, "ok"));
    server.createContext("/starting", exchange -> answer(exchange, 503, "not ready"));
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  @Test
  void healthyWhenTheEndpointAnswers200() {
    assertThat(HealthCheck.check(url("/internal/health"))).isTrue();
  }

  @Test
  void unhealthyWhenTheEndpointAnswersAnError() {
    assertThat(HealthCheck.check(url("/starting"))).isFalse();
    assertThat(HealthCheck.check(url("/missing"))).isFalse();
  }

  @Test
  void unhealthyWhenNothingListens() throws IOException {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      closedPort = socket.getLocalPort();
    }

    assertThat(HealthCheck.check("http://127.0.0.1:" + closedPort + "/internal/health")).isFalse();
  }

  @Test
  void unhealthyOnAMalformedUrl() {
    assertThat(HealthCheck.check("not a url")).isFalse();
  }

  private String url(String path) {
    return "http://127.0.0.1:" + server.getAddress().getPort() + path;
  }

  private static void answer(com.sun.net.httpserver.HttpExchange exchange, int status, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
    exchange.close();
  }
}
