package io.agentrouter.common.config;

import static java.util.Objects.requireNonNull;

import java.security.MessageDigest;

/**
 * The secret HMAC key API-key digests are computed with. Holds a private copy of the bytes and
 * never prints them.
 */
public final class ApiKeyPepper {
  private final byte[] bytes;

  private ApiKeyPepper(byte[] bytes) {
    this.bytes = bytes;
  }

  /** Wraps a copy of {@code bytes}; at least 16 bytes are required. */
  public static ApiKeyPepper of(byte[] bytes) {
    requireNonNull(bytes, "bytes");
    if (bytes.length < 16) {
      throw new IllegalArgumentException(
          "pepper length: " + bytes.length + " bytes (expected: >= 16)");
    }
    return new ApiKeyPepper(bytes.clone());
  }

  /** A copy of the key bytes, for computing a digest. */
  public byte[] bytes() {
    return bytes.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ApiKeyPepper p && MessageDigest.isEqual(bytes, p.bytes);
  }

  @Override
  public int hashCode() {
    return bytes.length;
  }

  @Override
  public String toString() {
    return "ApiKeyPepper[redacted]";
  }
}
