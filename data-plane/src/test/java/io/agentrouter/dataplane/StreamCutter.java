package io.agentrouter.dataplane;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A streaming chat client that hangs up: it sends one streaming chat completion over a plain
 * HTTP/1.1 socket, reads the SSE answer, and closes the socket after {@code cutAfter} content
 * chunks, or, with {@code cutAfter == 0}, after {@code waitBeforeCutMillis} without having read a
 * byte. A socket keeps the moment of the cut exact: it is when {@link Socket#close()} runs, as when
 * a client process dies or a user presses stop.
 */
public final class StreamCutter {
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * What the client saw.
   *
   * @param contentChunks content chunks read before the cut
   * @param bytesBeforeCut response bytes read before the cut (0: cut before the first byte)
   * @param cutNanos {@link System#nanoTime()} just before the socket closed
   * @param requestId the {@code x-request-id} of the answer; null when cut before the headers
   * @param ended whether the answer ended ({@code [DONE]} or end of stream) before the cut
   */
  public record Cut(
      int contentChunks, long bytesBeforeCut, long cutNanos, String requestId, boolean ended) {}

  private StreamCutter() {}

  /**
   * Runs one request against {@code port}.
   *
   * @param body the chat completion request, {@code "stream": true}
   * @param headers extra request headers as {@code name: value} lines, may be empty
   */
  public static Cut run(
      int port, String apiKey, String body, String headers, int cutAfter, long waitBeforeCutMillis)
      throws IOException {
    byte[] payload = body.getBytes(StandardCharsets.UTF_8);
    try (Socket s = new Socket()) {
      s.setTcpNoDelay(true);
      s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      s.setSoTimeout(30_000);
      OutputStream out = s.getOutputStream();
      String head =
          "POST /v1/chat/completions HTTP/1.1\r\n"
              + "Host: 127.0.0.1:"
              + port
              + "\r\n"
              + "Authorization: Bearer "
              + apiKey
              + "\r\n"
              + "Content-Type: application/json\r\n"
              + "Accept: text/event-stream\r\n"
              + "Content-Length: "
              + payload.length
              + "\r\n"
              + headers
              + "\r\n";
      out.write(head.getBytes(StandardCharsets.US_ASCII));
      out.write(payload);
      out.flush();
      InputStream in = s.getInputStream();
      if (cutAfter == 0) {
        sleep(waitBeforeCutMillis);
        long available = in.available();
        long at = System.nanoTime();
        s.close();
        return new Cut(0, available, at, null, false);
      }
      Reader r = new Reader(in);
      String statusLine = r.line();
      if (statusLine == null || !statusLine.startsWith("HTTP/1.1 200")) {
        throw new IOException("expected a 200 stream, got: " + statusLine);
      }
      String requestId = null;
      boolean chunked = false;
      for (String h = r.line(); h != null && !h.isEmpty(); h = r.line()) {
        String lower = h.toLowerCase(Locale.ROOT);
        if (lower.startsWith("x-request-id:")) {
          requestId = h.substring(h.indexOf(':') + 1).strip();
        } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
          chunked = true;
        }
      }
      if (!chunked) {
        throw new IOException("expected a chunked stream");
      }
      // Body: chunk size lines and chunk data; SSE events end with a blank line.
      ByteArrayOutputStream event = new ByteArrayOutputStream();
      int content = 0;
      while (true) {
        String size = r.line();
        if (size == null) {
          return new Cut(content, r.read, System.nanoTime(), requestId, true);
        }
        int n = Integer.parseInt(size.strip().split(";")[0], 16);
        if (n == 0) {
          return new Cut(content, r.read, System.nanoTime(), requestId, true);
        }
        for (int i = 0; i < n; i++) {
          int b = r.next();
          if (b < 0) {
            return new Cut(content, r.read, System.nanoTime(), requestId, true);
          }
          event.write(b);
          int len = event.size();
          byte[] buf = event.toByteArray();
          if (len >= 2 && buf[len - 1] == '\n' && buf[len - 2] == '\n') {
            String text = new String(buf, StandardCharsets.UTF_8).strip();
            event.reset();
            if (text.equals("data: [DONE]")) {
              return new Cut(content, r.read, System.nanoTime(), requestId, true);
            }
            if (text.startsWith("data: ") && isContent(JSON.readTree(text.substring(6)))) {
              content++;
              if (content == cutAfter) {
                long at = System.nanoTime();
                s.close();
                return new Cut(content, r.read, at, requestId, false);
              }
            }
          }
        }
        r.line(); // the CRLF after the chunk's data
      }
    }
  }

  private static boolean isContent(JsonNode chunk) {
    for (JsonNode c : chunk.path("choices")) {
      if (!c.path("delta").path("content").asText("").isEmpty()) {
        return true;
      }
    }
    return false;
  }

  /** The client's own pause before it hangs up: part of the scenario, not a wait for a state. */
  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Byte-at-a-time over a buffer, with a count of bytes read. */
  private static final class Reader {
    private final InputStream in;
    private final byte[] buf = new byte[8192];
    private int pos;
    private int len;
    long read;

    Reader(InputStream in) {
      this.in = in;
    }

    int next() throws IOException {
      if (pos == len) {
        len = in.read(buf);
        pos = 0;
        if (len <= 0) {
          len = 0;
          return -1;
        }
      }
      read++;
      return buf[pos++] & 0xff;
    }

    /** A CRLF-terminated line without its terminator, or null at the end of the stream. */
    String line() throws IOException {
      StringBuilder sb = new StringBuilder();
      int b;
      while ((b = next()) >= 0) {
        if (b == '\n') {
          int l = sb.length();
          return l > 0 && sb.charAt(l - 1) == '\r' ? sb.substring(0, l - 1) : sb.toString();
        }
        sb.append((char) b);
      }
      return sb.isEmpty() ? null : sb.toString();
    }
  }
}
