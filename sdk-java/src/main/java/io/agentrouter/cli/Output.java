package io.agentrouter.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.ProtocolMessageEnum;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.JsonFormat;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Renders results on stdout: {@code json} prints the API's own message (proto field names, as the
 * REST API does) so scripts see the same shape everywhere; {@code table} prints aligned columns for
 * people. Warnings and progress go to stderr, never here.
 */
final class Output {
  enum Format {
    table,
    json
  }

  private static final JsonFormat.Printer JSON =
      JsonFormat.printer().preservingProtoFieldNames().includingDefaultValueFields();

  private final PrintWriter out;
  private final Format format;

  Output(PrintWriter out, Format format) {
    this.out = out;
    this.format = format;
  }

  boolean json() {
    return format == Format.json;
  }

  /** Prints {@code message} as JSON, or runs {@code table} to print it for people. */
  void print(MessageOrBuilder message, Runnable table) {
    if (json()) {
      try {
        out.println(JSON.print(message));
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("cannot render " + message.getClass().getSimpleName(), e);
      }
    } else {
      table.run();
    }
    out.flush();
  }

  /** A two-column "field value" block for one object. */
  void fields(String... pairs) {
    List<List<String>> rows = new ArrayList<>();
    for (int i = 0; i + 1 < pairs.length; i += 2) {
      rows.add(List.of(pairs[i], pairs[i + 1]));
    }
    rows(null, rows);
  }

  /** Aligned columns under upper-case headers; "(none)" when there are no rows. */
  void table(List<String> headers, List<List<String>> rows) {
    if (rows.isEmpty()) {
      out.println("(none)");
      return;
    }
    rows(headers, rows);
  }

  void line(String s) {
    out.println(s);
  }

  private void rows(List<String> headers, List<List<String>> rows) {
    int columns = headers != null ? headers.size() : rows.get(0).size();
    int[] width = new int[columns];
    List<List<String>> all = new ArrayList<>();
    if (headers != null) {
      all.add(headers.stream().map(h -> h.toUpperCase(Locale.ROOT)).toList());
    }
    all.addAll(rows);
    for (List<String> r : all) {
      for (int i = 0; i < columns; i++) {
        width[i] = Math.max(width[i], cell(r, i).length());
      }
    }
    for (List<String> r : all) {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < columns; i++) {
        String c = cell(r, i);
        sb.append(c);
        if (i < columns - 1) {
          sb.append(" ".repeat(width[i] - c.length() + 2));
        }
      }
      out.println(sb.toString().stripTrailing());
    }
  }

  private static String cell(List<String> r, int i) {
    return i < r.size() && r.get(i) != null ? r.get(i) : "";
  }

  static String time(Timestamp t) {
    if (t.getSeconds() == 0 && t.getNanos() == 0) {
      return "-";
    }
    return Instant.ofEpochSecond(t.getSeconds(), t.getNanos()).toString();
  }

  /** {@code ROLE_OWNER} -> {@code owner}: the enum without its type prefix. */
  static String name(ProtocolMessageEnum e, String prefix) {
    String n = e instanceof Enum<?> en ? en.name() : String.valueOf(e.getNumber());
    if (n.startsWith(prefix)) {
      n = n.substring(prefix.length());
    }
    return n.toLowerCase(Locale.ROOT);
  }

  static String orDash(String s) {
    return s == null || s.isEmpty() ? "-" : s;
  }
}
