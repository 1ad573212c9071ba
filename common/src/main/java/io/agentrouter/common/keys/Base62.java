package io.agentrouter.common.keys;

import java.math.BigInteger;

/** Fixed-width base62 (0-9, A-Z, a-z) for key material; the width makes parsing positional. */
final class Base62 {
  static final String ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  private static final BigInteger SIXTY_TWO = BigInteger.valueOf(62);

  private Base62() {}

  /** Encodes {@code bytes} as an unsigned number, left-padded with '0' to {@code width}. */
  static String encode(byte[] bytes, int width) {
    BigInteger n = new BigInteger(1, bytes);
    char[] out = new char[width];
    for (int i = width - 1; i >= 0; i--) {
      BigInteger[] qr = n.divideAndRemainder(SIXTY_TWO);
      out[i] = ALPHABET.charAt(qr[1].intValue());
      n = qr[0];
    }
    if (n.signum() != 0) {
      throw new IllegalArgumentException(
          "value needs more than " + width + " base62 digits (expected: width large enough)");
    }
    return new String(out);
  }

  /** Decodes a base62 string into exactly {@code length} bytes, or throws if it does not fit. */
  static byte[] decode(String s, int length) {
    BigInteger n = BigInteger.ZERO;
    for (int i = 0; i < s.length(); i++) {
      int d = digit(s.charAt(i));
      if (d < 0) {
        throw new IllegalArgumentException("not a base62 character at " + i);
      }
      n = n.multiply(SIXTY_TWO).add(BigInteger.valueOf(d));
    }
    byte[] raw = n.toByteArray();
    if (raw.length > length + 1 || (raw.length == length + 1 && raw[0] != 0)) {
      throw new IllegalArgumentException("base62 value is wider than " + length + " bytes");
    }
    byte[] out = new byte[length];
    int copy = Math.min(raw.length, length);
    System.arraycopy(raw, raw.length - copy, out, length - copy, copy);
    return out;
  }

  static boolean isBase62(String s) {
    for (int i = 0; i < s.length(); i++) {
      if (digit(s.charAt(i)) < 0) {
        return false;
      }
    }
    return true;
  }

  private static int digit(char c) {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'A' && c <= 'Z') {
      return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'z') {
      return c - 'a' + 36;
    }
    return -1;
  }
}
