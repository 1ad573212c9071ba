package io.agentrouter.dataplane.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.agentrouter.dataplane.TestGateway;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * A client that stops reading a stream while the provider keeps sending: the data plane stops
 * reading the provider too, so what is in flight stays in the sockets' buffers (a few MB) rather
 * than piling up in the data plane's heap.
 */
class SlowClientBackpressureTest {
  private static final long STREAM_BYTES = 256L << 20;
  private static final long BOUND = 48L << 20;

  @Test
  void aClientThatStopsReadingStopsTheProviderToo() throws Exception {
    String token = TestGateway.newKey();
    try (FastProvider provider = new FastProvider();
        TestGateway gw =
            TestGateway.start(
                """
                providers: [{name: openai, type: openai, base_url: "%s", first_token_timeout_ms: 60000}]
                models: [{provider: openai, model: m}]
                projects: [{id: p}]
                keys: [{token: "%s", project: p}]
                """
                    .formatted(provider.baseUrl(), token));
        Socket client =
            new Socket(InetAddress.getLoopbackAddress(), URI.create(gw.url()).getPort())) {
      String body =
          "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
      OutputStream out = client.getOutputStream();
      out.write(
          ("POST /v1/chat/completions HTTP/1.1\r\nHost: dp\r\nAuthorization: Bearer "
                  + token
                  + "\r\nContent-Type: application/json\r\nContent-Length: "
                  + body.length()
                  + "\r\n\r\n"
                  + body)
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      InputStream in = client.getInputStream();
      byte[] head = new byte[12];
      assertThat(in.readNBytes(head, 0, head.length)).isEqualTo(12);
      assertThat(new String(head, StandardCharsets.US_ASCII)).isEqualTo("HTTP/1.1 200");
      // The client reads nothing more. The provider writes until the buffers are full, then waits.
      await()
          .atMost(Duration.ofSeconds(30))
          .pollDelay(Duration.ofSeconds(2))
          .until(provider::stalled);
      long written = provider.written.get();
      org.slf4j.LoggerFactory.getLogger("MEASURED")
          .info(
              "MEASURED backpressure: a client that stopped reading let the provider send {} KB"
                  + " of a {} MB stream before it stalled",
              written >> 10,
              STREAM_BYTES >> 20);
      assertThat(written)
          .as("bytes the provider could send to a client that stopped reading")
          .isLessThan(BOUND);

      // Reading again resumes the stream where it stood.
      byte[] buf = new byte[1 << 16];
      long read = 0;
      while (read < 4L * BOUND) {
        int n = in.read(buf);
        assertThat(n).isPositive();
        read += n;
      }
      assertThat(provider.written.get()).isGreaterThan(written);
    }
  }

  /** An OpenAI-style provider that streams 256 MB of chunks as fast as its socket takes them. */
  private static final class FastProvider implements AutoCloseable {
    final ServerSocket server;
    final AtomicLong written = new AtomicLong();
    final AtomicLong lastWriteNanos = new AtomicLong(System.nanoTime());
    final Thread thread;

    FastProvider() throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      thread = Thread.ofPlatform().daemon().start(this::serve);
    }

    String baseUrl() {
      return "http://127.0.0.1:" + server.getLocalPort() + "/v1";
    }

    /** No write has completed for a second: the provider is held by backpressure. */
    boolean stalled() {
      return System.nanoTime() - lastWriteNanos.get() > 1_000_000_000L;
    }

    private void serve() {
      try (Socket s = server.accept()) {
        InputStream in = s.getInputStream();
        // Skip the request head and its body (Content-Length).
        StringBuilder headers = new StringBuilder();
        while (!headers.toString().endsWith("\r\n\r\n")) {
          int c = in.read();
          if (c < 0) {
            return;
          }
          headers.append((char) c);
        }
        int length = 0;
        for (String line : headers.toString().split("\r\n")) {
          if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
            length = Integer.parseInt(line.substring(15).strip());
          }
        }
        in.readNBytes(length);
        OutputStream out = s.getOutputStream();
        out.write(
            ("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII));
        byte[] event =
            ("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
                    + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
                    + "x".repeat(4000)
                    + "\"},\"finish_reason\":null}]}\n\n")
                .getBytes(StandardCharsets.US_ASCII);
        byte[] chunk = frame(event);
        while (written.get() < STREAM_BYTES) {
          out.write(chunk);
          written.addAndGet(chunk.length);
          lastWriteNanos.set(System.nanoTime());
        }
      } catch (IOException e) {
        // The data plane closed the stream: done.
      }
    }

    private static byte[] frame(byte[] data) {
      byte[] head = (Integer.toHexString(data.length) + "\r\n").getBytes(StandardCharsets.US_ASCII);
      byte[] out = new byte[head.length + data.length + 2];
      System.arraycopy(head, 0, out, 0, head.length);
      System.arraycopy(data, 0, out, head.length, data.length);
      out[out.length - 2] = '\r';
      out[out.length - 1] = '\n';
      return out;
    }

    @Override
    public void close() throws IOException {
      server.close();
      thread.interrupt();
    }
  }
}
