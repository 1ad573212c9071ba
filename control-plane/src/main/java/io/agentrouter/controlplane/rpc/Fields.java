package io.agentrouter.controlplane.rpc;

import com.google.protobuf.Timestamp;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/** Request-field validation with messages that name the field and what was expected. */
public final class Fields {
  private static final Pattern UUID_PATTERN =
      Pattern.compile(
          "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  private static final Pattern REGION = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
  public static final int MAX_NAME = 100;
  public static final int MAX_MODEL = 200;

  private Fields() {}

  /** A required id. REST callers may not leave a path segment empty, so "-" counts as empty. */
  public static UUID uuid(String field, String value) {
    UUID id = optionalUuid(field, value);
    if (id == null) {
      throw ApiException.invalid(field, "is required (expected a UUID)");
    }
    return id;
  }

  /** An optional id: empty or "-" is absent. */
  public static @Nullable UUID optionalUuid(String field, String value) {
    if (value == null || value.isEmpty() || value.equals("-")) {
      return null;
    }
    if (!UUID_PATTERN.matcher(value).matches()) {
      throw ApiException.invalid(
          field,
          "'" + shorten(value) + "' is not a valid id (expected a UUID such as " + EXAMPLE + ")");
    }
    return UUID.fromString(value);
  }

  private static final String EXAMPLE = "0b6c1a52-8f0e-4d7c-9a55-2f0f5d8f7c11";

  /** A required display name: trimmed, 1..max characters, no control characters. */
  public static String name(String field, String value, int max) {
    String v = value == null ? "" : value.strip();
    if (v.isEmpty()) {
      throw ApiException.invalid(field, "is required (expected 1-" + max + " characters)");
    }
    checkLength(field, v, max);
    return v;
  }

  public static void checkLength(String field, String v, int max) {
    if (v.codePointCount(0, v.length()) > max) {
      throw ApiException.invalid(
          field,
          "is "
              + v.codePointCount(0, v.length())
              + " characters long (expected at most "
              + max
              + ")");
    }
    for (int i = 0; i < v.length(); i++) {
      if (Character.isISOControl(v.charAt(i))) {
        throw ApiException.invalid(field, "contains a control character (expected printable text)");
      }
    }
  }

  /** A region such as "eu-west-1". */
  public static String region(String field, String value) {
    String v = value == null ? "" : value.strip();
    if (v.isEmpty()) {
      throw ApiException.invalid(field, "is required (expected a region such as 'eu-west-1')");
    }
    if (!REGION.matcher(v).matches()) {
      throw ApiException.invalid(
          field,
          "'"
              + shorten(v)
              + "' is not a valid region (expected 1-63 lower-case letters, digits and dashes, such"
              + " as 'eu-west-1')");
    }
    return v;
  }

  /** An optional model selector; empty allowed. */
  public static String model(String field, String value) {
    String v = value == null ? "" : value.strip();
    checkLength(field, v, MAX_MODEL);
    if (v.chars().anyMatch(Character::isWhitespace)) {
      throw ApiException.invalid(
          field,
          "'"
              + shorten(v)
              + "' contains whitespace (expected a model name such as 'openai/gpt-4o')");
    }
    return v;
  }

  public static Timestamp timestamp(Instant instant) {
    return Timestamp.newBuilder()
        .setSeconds(instant.getEpochSecond())
        .setNanos(instant.getNano())
        .build();
  }

  public static Instant instant(Timestamp ts) {
    return Instant.ofEpochSecond(ts.getSeconds(), ts.getNanos());
  }

  /** Database timestamps keep microseconds; every instant we store is cut to that first. */
  public static Instant micros(Instant instant) {
    return instant.truncatedTo(ChronoUnit.MICROS);
  }

  /** Page size: 0 means the default, otherwise 1..max. */
  public static int pageSize(String field, int value, int dflt, int max) {
    if (value == 0) {
      return dflt;
    }
    if (value < 0 || value > max) {
      throw ApiException.invalid(
          field, value + " is out of range (expected 1-" + max + ", or 0 for " + dflt + ")");
    }
    return value;
  }

  /** Page token: an opaque offset. */
  public static int pageOffset(String field, String token) {
    if (token == null || token.isEmpty()) {
      return 0;
    }
    try {
      String decoded =
          new String(
              java.util.Base64.getUrlDecoder().decode(token),
              java.nio.charset.StandardCharsets.US_ASCII);
      if (decoded.startsWith("o:")) {
        int n = Integer.parseInt(decoded.substring(2));
        if (n >= 0) {
          return n;
        }
      }
    } catch (IllegalArgumentException e) {
      // fall through
    }
    throw ApiException.invalid(
        field, "is not a token returned by this API (expected next_page_token of a previous page)");
  }

  public static String nextPageToken(int offset, int pageSize, int returned) {
    if (returned < pageSize) {
      return "";
    }
    return java.util.Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(
            ("o:" + (offset + pageSize)).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
  }

  static String shorten(String v) {
    return v.length() <= 64 ? v : v.substring(0, 64) + "…";
  }
}
