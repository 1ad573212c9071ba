package io.agentrouter.common.keys;

import static java.util.Objects.requireNonNull;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.UUID;
import java.util.zip.CRC32;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The API key format: {@code sk-ar-<key id>.<secret><checksum>}, all base62.
 *
 * <ul>
 *   <li>key id: the key's UUID, 22 characters, so a lookup is one hash-map hit;
 *   <li>secret: 256 random bits, 43 characters; only HMAC-SHA-256(pepper, secret) is stored;
 *   <li>checksum: CRC-32 of everything before it, 6 characters, so a mistyped key is refused
 *       without a database or cache lookup.
 * </ul>
 */
public final class ApiKeys {
  public static final String PREFIX = "sk-ar-";
  static final int ID_CHARS = 22;
  static final int SECRET_BYTES = 32;
  static final int SECRET_CHARS = 43;
  static final int CHECKSUM_CHARS = 6;

  /** Total length of a well-formed key. */
  public static final int LENGTH = PREFIX.length() + ID_CHARS + 1 + SECRET_CHARS + CHECKSUM_CHARS;

  private ApiKeys() {}

  /** A freshly generated key: the full token (shown once) and the parts worth keeping. */
  public record Generated(UUID keyId, String token, String secret) {
    /** Never print the secret by accident. */
    @Override
    public String toString() {
      return "Generated[keyId=" + keyId + ", token=" + redact(token) + "]";
    }
  }

  /**
   * A key that passed the format and checksum checks; nothing has been verified against storage.
   */
  public record Parsed(UUID keyId, String secret) {
    @Override
    public String toString() {
      return "Parsed[keyId=" + keyId + "]";
    }
  }

  /** Generates a new key for {@code keyId} with 256 bits from {@code random}. */
  public static Generated generate(UUID keyId, SecureRandom random) {
    requireNonNull(keyId, "keyId");
    requireNonNull(random, "random");
    byte[] secretBytes = new byte[SECRET_BYTES];
    random.nextBytes(secretBytes);
    String secret = Base62.encode(secretBytes, SECRET_CHARS);
    String body = PREFIX + encodeId(keyId) + "." + secret;
    return new Generated(keyId, body + checksum(body), secret);
  }

  /**
   * Parses a presented key. Returns {@code null} for anything that is not a well-formed key with a
   * valid checksum: such input never reaches a lookup.
   */
  public static Parsed parse(String token) {
    if (token == null
        || token.length() != LENGTH
        || !token.startsWith(PREFIX)
        || token.charAt(PREFIX.length() + ID_CHARS) != '.') {
      return null;
    }
    String id = token.substring(PREFIX.length(), PREFIX.length() + ID_CHARS);
    int secretStart = PREFIX.length() + ID_CHARS + 1;
    String secret = token.substring(secretStart, secretStart + SECRET_CHARS);
    String sum = token.substring(secretStart + SECRET_CHARS);
    if (!Base62.isBase62(id) || !Base62.isBase62(secret) || !Base62.isBase62(sum)) {
      return null;
    }
    String expected = checksum(token.substring(0, secretStart + SECRET_CHARS));
    if (!MessageDigest.isEqual(
        expected.getBytes(StandardCharsets.US_ASCII), sum.getBytes(StandardCharsets.US_ASCII))) {
      return null;
    }
    try {
      return new Parsed(decodeId(id), secret);
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  /**
   * True when {@code token} looks like one of our keys (prefix only); used to pick the verifier.
   */
  public static boolean hasPrefix(String token) {
    return token != null && token.startsWith(PREFIX);
  }

  /** HMAC-SHA-256(pepper, secret) as lowercase hex: the only form in which a secret is stored. */
  public static String digest(byte[] pepper, String secret) {
    requireNonNull(pepper, "pepper");
    requireNonNull(secret, "secret");
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(pepper, "HmacSHA256"));
      return HexFormat.of().formatHex(mac.doFinal(secret.getBytes(StandardCharsets.US_ASCII)));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  /** Constant-time comparison of two hex digests. */
  public static boolean digestMatches(String expectedHex, String actualHex) {
    if (expectedHex == null || actualHex == null) {
      return false;
    }
    return MessageDigest.isEqual(
        expectedHex.getBytes(StandardCharsets.US_ASCII),
        actualHex.getBytes(StandardCharsets.US_ASCII));
  }

  /** The first characters of a key, safe to show in logs and listings ({@code sk-ar-AbCd…}). */
  public static String redact(String token) {
    if (token == null) {
      return "null";
    }
    int keep = Math.min(token.length(), PREFIX.length() + 4);
    return token.substring(0, keep) + "…";
  }

  static String encodeId(UUID id) {
    ByteBuffer b = ByteBuffer.allocate(16);
    b.putLong(id.getMostSignificantBits()).putLong(id.getLeastSignificantBits());
    return Base62.encode(b.array(), ID_CHARS);
  }

  static UUID decodeId(String s) {
    ByteBuffer b = ByteBuffer.wrap(Base62.decode(s, 16));
    return new UUID(b.getLong(), b.getLong());
  }

  private static String checksum(String body) {
    CRC32 crc = new CRC32();
    crc.update(body.getBytes(StandardCharsets.US_ASCII));
    long v = crc.getValue();
    byte[] four = {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    return Base62.encode(four, CHECKSUM_CHARS);
  }
}
