package io.agentrouter.dataplane.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Measures time to the first streamed content chunk, one request at a time over one keep-alive
 * HTTP/1.1 connection: {@code TimeToFirstChunk host port key warmup count}. Prints p50 and p99 in
 * microseconds. Reads each response to its end before the next request.
 */
public final class TimeToFirstChunk {
  private TimeToFirstChunk() {}

  public static void main(String[] args) throws IOException {
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    String key = args[2];
    int warmup = Integer.parseInt(args[3]);
    int count = Integer.parseInt(args[4]);
    byte[] body =
        "{\"model\":\"bench\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]}"
            .getBytes(StandardCharsets.UTF_8);
    byte[] head =
        ("POST /v1/chat/completions HTTP/1.1\r\nHost: "
                + host
                + "\r\nContent-Type: application/json\r\nAuthorization: Bearer "
                + key
                + "\r\nContent-Length: "
                + body.length
                + "\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII);
    byte[] marker = "\"content\":\"Hello!\"".getBytes(StandardCharsets.US_ASCII);
    long[] samples = new long[count];
    try (Socket s = new Socket(host, port)) {
      s.setTcpNoDelay(true);
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();
      byte[] buf = new byte[65536];
      for (int i = 0; i < warmup + count; i++) {
        long start = System.nanoTime();
        out.write(head);
        out.write(body);
        out.flush();
        int len = 0;
        long first = -1;
        while (true) {
          int n = in.read(buf, len, buf.length - len);
          if (n < 0) {
            throw new IOException("connection closed");
          }
          len += n;
          if (first < 0 && indexOf(buf, len, marker) >= 0) {
            first = System.nanoTime() - start;
          }
          if (complete(buf, len)) {
            break;
          }
        }
        if (i >= warmup) {
          samples[i - warmup] = first;
        }
      }
    }
    Arrays.sort(samples);
    System.out.printf(
        "p50_us=%d p99_us=%d%n", samples[count / 2] / 1000, samples[(int) (count * 0.99)] / 1000);
  }

  private static int indexOf(byte[] b, int len, byte[] m) {
    outer:
    for (int i = 0; i + m.length <= len; i++) {
      for (int j = 0; j < m.length; j++) {
        if (b[i + j] != m[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  /** A whole response: by Content-Length, or by the last chunk of chunked encoding. */
  private static boolean complete(byte[] b, int len) {
    int headerEnd = indexOf(b, len, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    if (headerEnd < 0) {
      return false;
    }
    String headers = new String(b, 0, headerEnd, StandardCharsets.US_ASCII).toLowerCase();
    int cl = headers.indexOf("content-length:");
    if (cl >= 0) {
      int eol = headers.indexOf("\r\n", cl);
      int length =
          Integer.parseInt(headers.substring(cl + 15, eol < 0 ? headers.length() : eol).strip());
      return len >= headerEnd + 4 + length;
    }
    return endsWith(b, len, "0\r\n\r\n");
  }

  private static boolean endsWith(byte[] b, int len, String s) {
    byte[] t = s.getBytes(StandardCharsets.US_ASCII);
    if (len < t.length) {
      return false;
    }
    for (int i = 0; i < t.length; i++) {
      if (b[len - t.length + i] != t[i]) {
        return false;
      }
    }
    return true;
  }
}
