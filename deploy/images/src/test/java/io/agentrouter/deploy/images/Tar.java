package io.agentrouter.deploy.images;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Just enough of a tar reader (ustar, with PAX and GNU long names) to read image archives and their
 * layers without a library: the point of the test is to read them as a container runtime would, not
 * through the code that wrote them.
 */
final class Tar {

  /** One member: a regular file, a directory or a link, with its permission bits. */
  record Entry(String name, char type, int mode, String linkName, byte[] content) {
    boolean isFile() {
      return type == '0' || type == '\0';
    }

    boolean isDirectory() {
      return type == '5';
    }
  }

  private Tar() {}

  static List<Entry> read(InputStream in) throws IOException {
    List<Entry> entries = new ArrayList<>();
    read(in, entries::add);
    return entries;
  }

  static void read(InputStream in, Consumer<Entry> sink) throws IOException {
    String longName = null;
    while (true) {
      byte[] header = in.readNBytes(512);
      if (header.length < 512 || isZero(header)) {
        return;
      }
      String name = string(header, 0, 100);
      String prefix = string(header, 345, 155);
      if (!prefix.isEmpty()) {
        name = prefix + "/" + name;
      }
      int mode = (int) octal(header, 100, 8);
      long size = octal(header, 124, 12);
      char type = (char) header[156];
      String linkName = string(header, 157, 100);
      byte[] content = in.readNBytes((int) size);
      in.skipNBytes((512 - size % 512) % 512);
      switch (type) {
        case 'x' -> longName = paxPath(content);
        case 'L' -> longName = new String(content, StandardCharsets.UTF_8).replace("\0", "");
        case 'g' -> {}
        default -> {
          if (longName != null) {
            name = longName;
            longName = null;
          }
          sink.accept(new Entry(normalize(name), type, mode, linkName, content));
        }
      }
    }
  }

  static byte[] readAll(InputStream in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    in.transferTo(out);
    return out.toByteArray();
  }

  private static String normalize(String name) {
    String n = name.startsWith("./") ? name.substring(2) : name;
    n = n.startsWith("/") ? n.substring(1) : n;
    return n.endsWith("/") ? n.substring(0, n.length() - 1) : n;
  }

  private static String paxPath(byte[] content) {
    // Records read "<length> <key>=<value>\n".
    String records = new String(content, StandardCharsets.UTF_8);
    for (String record : records.split("\n")) {
      int space = record.indexOf(' ');
      String keyValue = record.substring(space + 1);
      if (keyValue.startsWith("path=")) {
        return keyValue.substring("path=".length());
      }
    }
    return null;
  }

  private static boolean isZero(byte[] block) {
    for (byte b : block) {
      if (b != 0) {
        return false;
      }
    }
    return true;
  }

  private static String string(byte[] header, int offset, int length) {
    int end = offset;
    while (end < offset + length && header[end] != 0) {
      end++;
    }
    return new String(header, offset, end - offset, StandardCharsets.UTF_8);
  }

  private static long octal(byte[] header, int offset, int length) {
    String s = string(header, offset, length).trim();
    return s.isEmpty() ? 0 : Long.parseLong(s, 8);
  }
}
