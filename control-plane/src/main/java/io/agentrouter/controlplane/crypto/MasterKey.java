package io.agentrouter.controlplane.crypto;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The master key: AES-256-GCM over every secret the control plane stores (the API-key pepper,
 * signing private keys). A ciphertext is {@code version(1) | nonce(12) | ciphertext+tag} and is
 * bound to its purpose and row by the associated data, so a ciphertext copied to another row does
 * not decrypt.
 */
public final class MasterKey {
  private static final Logger logger = LoggerFactory.getLogger(MasterKey.class);
  static final byte VERSION = 1;
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;

  private final SecretKeySpec key;
  private final SecureRandom random;
  private final String id;

  MasterKey(byte[] key, SecureRandom random) {
    if (key.length != 32) {
      throw new IllegalArgumentException(
          "master key is " + key.length + " bytes (expected 32, base64-encoded)");
    }
    this.key = new SecretKeySpec(key.clone(), "AES");
    this.random = requireNonNull(random, "random");
    this.id = fingerprint(key);
  }

  /** A key from its base64 form; {@code source} names where it came from, for messages. */
  public static MasterKey fromBase64(String source, String base64, SecureRandom random) {
    return new MasterKey(decode(source, base64), random);
  }

  /**
   * The key's version: a short one-way fingerprint (first 8 bytes of SHA-256 over a label and the
   * key), stored with every row it wraps so a row names the key it needs.
   */
  public String id() {
    return id;
  }

  private static String fingerprint(byte[] key) {
    try {
      java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
      md.update("agentrouter-master-key-id:".getBytes(StandardCharsets.US_ASCII));
      return java.util.HexFormat.of().formatHex(md.digest(key), 0, 8);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }

  /**
   * The key from {@code AGENTROUTER_MASTER_KEY} when given, else from {@code dataDir/master.key},
   * which is created (mode 0600) with a warning on first start.
   */
  public static MasterKey load(@Nullable String base64, Path dataDir, SecureRandom random)
      throws IOException {
    if (base64 != null) {
      return new MasterKey(decode("AGENTROUTER_MASTER_KEY", base64), random);
    }
    Path file = dataDir.resolve("master.key");
    if (Files.exists(file)) {
      return new MasterKey(
          decode(file.toString(), Files.readString(file, StandardCharsets.US_ASCII).strip()),
          random);
    }
    byte[] fresh = new byte[32];
    random.nextBytes(fresh);
    Files.createDirectories(dataDir);
    writeOwnerOnly(file, Base64.getEncoder().encodeToString(fresh) + "\n");
    logger.warn(
        "AGENTROUTER_MASTER_KEY is not set: generated a master key into {} (mode 0600). Fine for"
            + " development; in production set AGENTROUTER_MASTER_KEY from a secret store and keep"
            + " it, or nothing stored can be decrypted.",
        file);
    return new MasterKey(fresh, random);
  }

  private static byte[] decode(String source, String base64) {
    try {
      byte[] bytes = Base64.getDecoder().decode(base64.strip());
      if (bytes.length != 32) {
        throw new IllegalArgumentException(
            source + ": decodes to " + bytes.length + " bytes (expected 32, base64-encoded)");
      }
      return bytes;
    } catch (IllegalArgumentException e) {
      if (e.getMessage() != null && e.getMessage().startsWith(source)) {
        throw e;
      }
      throw new IllegalArgumentException(
          source + ": not valid base64 (expected 32 bytes, base64-encoded)");
    }
  }

  /** Writes a file readable only by its owner (0600), created that way from the start. */
  public static void writeOwnerOnly(Path file, String content) throws IOException {
    try {
      Files.createFile(
          file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      Files.createFile(file);
    } catch (java.nio.file.FileAlreadyExistsException e) {
      // rewritten below; permissions tightened
      try {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
      } catch (UnsupportedOperationException ignored) {
        // not a POSIX file system
      }
    }
    Files.writeString(
        file,
        content,
        StandardCharsets.UTF_8,
        StandardOpenOption.TRUNCATE_EXISTING,
        StandardOpenOption.WRITE);
  }

  /** Encrypts {@code plaintext} bound to {@code context} (e.g. "signing_key:" + kid). */
  public byte[] encrypt(byte[] plaintext, String context) {
    try {
      byte[] nonce = new byte[NONCE_BYTES];
      random.nextBytes(nonce);
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      c.updateAAD(context.getBytes(StandardCharsets.UTF_8));
      byte[] ct = c.doFinal(plaintext);
      return ByteBuffer.allocate(1 + NONCE_BYTES + ct.length)
          .put(VERSION)
          .put(nonce)
          .put(ct)
          .array();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable", e);
    }
  }

  /** Decrypts; fails when the key or the context differ from encryption time. */
  public byte[] decrypt(byte[] ciphertext, String context) {
    if (ciphertext.length < 1 + NONCE_BYTES + 16 || ciphertext[0] != VERSION) {
      throw new IllegalStateException("stored secret for " + context + " has an unknown format");
    }
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, ciphertext, 1, NONCE_BYTES));
      c.updateAAD(context.getBytes(StandardCharsets.UTF_8));
      return c.doFinal(ciphertext, 1 + NONCE_BYTES, ciphertext.length - 1 - NONCE_BYTES);
    } catch (javax.crypto.AEADBadTagException e) {
      throw new IllegalStateException(
          "stored secret for "
              + context
              + " does not decrypt: the master key differs from the one it was stored with"
              + " (expected the same AGENTROUTER_MASTER_KEY / master.key as before)",
          e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable", e);
    }
  }

  @Override
  public String toString() {
    return "MasterKey[AES-256-GCM, id=" + id + "]";
  }
}
