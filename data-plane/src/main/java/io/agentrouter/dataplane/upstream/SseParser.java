package io.agentrouter.dataplane.upstream;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;

/**
 * Incremental server-sent-events parser: feed it bytes as they arrive, get whole events back. Lines
 * end in LF, CRLF or CR; {@code data:} lines of one event are joined with LF; comments are skipped.
 * Not thread-safe; one per stream.
 */
public final class SseParser {

  /** Receives one complete event. */
  public interface Listener {
    void onEvent(@Nullable String event, String data);
  }

  private final ByteArrayOutputStream line = new ByteArrayOutputStream(256);
  private final StringBuilder data = new StringBuilder();
  private @Nullable String event;
  private boolean hasData;
  private boolean lastWasCr;

  /** Parses {@code bytes[offset, offset+length)} and reports each event completed by them. */
  public void feed(byte[] bytes, int offset, int length, Listener listener) {
    for (int i = offset; i < offset + length; i++) {
      byte b = bytes[i];
      if (b == '\n' && lastWasCr) {
        lastWasCr = false;
        continue;
      }
      lastWasCr = b == '\r';
      if (b == '\n' || b == '\r') {
        endLine(listener);
      } else {
        line.write(b);
      }
    }
  }

  /** Whether bytes of an unfinished event are buffered (a stream that ends here was cut). */
  public boolean hasPartialEvent() {
    return line.size() > 0 || hasData;
  }

  private void endLine(Listener listener) {
    if (line.size() == 0) {
      if (hasData) {
        String d = data.toString();
        String e = event;
        data.setLength(0);
        event = null;
        hasData = false;
        listener.onEvent(e, d);
      } else {
        event = null;
      }
      return;
    }
    String l = line.toString(StandardCharsets.UTF_8);
    line.reset();
    if (l.startsWith(":")) {
      return;
    }
    int colon = l.indexOf(':');
    String field = colon < 0 ? l : l.substring(0, colon);
    String value = colon < 0 ? "" : l.substring(colon + 1);
    if (value.startsWith(" ")) {
      value = value.substring(1);
    }
    switch (field) {
      case "data" -> {
        if (hasData) {
          data.append('\n');
        }
        data.append(value);
        hasData = true;
      }
      case "event" -> event = value;
      default -> {
        // id and retry do not matter to a proxy that never reconnects.
      }
    }
  }
}
