package io.agentrouter.controlplane.providerkeys;

import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.crypto.MasterKey;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.UUID;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Envelope encryption of provider secrets. Each row gets a fresh 256-bit data key; the secret is
 * AES-256-GCM under the data key and the data key is AES-256-GCM under the master key. Both carry
 * {@code customer:project:row} as associated data, so a ciphertext moved to another row or tenant
 * fails to decrypt, and the row records which master key wrapped it.
 */
public final class ProviderKeyCrypto {
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;

  /** What is stored for one secret. */
  public record Sealed(String masterKeyId, byte[] wrappedDataKey, byte[] secretCiphertext) {
    @Override
    public String toString() {
      return "Sealed[masterKeyId=" + masterKeyId + ", ciphertexts redacted]";
    }
  }

  private final MasterKey masterKey;
  private final SecureRandom random;

  public ProviderKeyCrypto(MasterKey masterKey, SecureRandom random) {
    this.masterKey = requireNonNull(masterKey, "masterKey");
    this.random = requireNonNull(random, "random");
  }

  static String context(UUID customerId, UUID projectId, UUID rowId) {
    return "provider_key:" + customerId + ":" + projectId + ":" + rowId;
  }

  public Sealed seal(UUID customerId, UUID projectId, UUID rowId, String secret) {
    String ctx = context(customerId, projectId, rowId);
    byte[] dataKey = new byte[32];
    random.nextBytes(dataKey);
    try {
      byte[] nonce = new byte[NONCE_BYTES];
      random.nextBytes(nonce);
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(
          Cipher.ENCRYPT_MODE,
          new SecretKeySpec(dataKey, "AES"),
          new GCMParameterSpec(TAG_BITS, nonce));
      c.updateAAD(ctx.getBytes(StandardCharsets.UTF_8));
      byte[] ct = c.doFinal(secret.getBytes(StandardCharsets.UTF_8));
      byte[] sealed = ByteBuffer.allocate(NONCE_BYTES + ct.length).put(nonce).put(ct).array();
      return new Sealed(masterKey.id(), masterKey.encrypt(dataKey, "dek:" + ctx), sealed);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable", e);
    } finally {
      Arrays.fill(dataKey, (byte) 0);
    }
  }

  /** Decrypts; throws when the row was moved, tampered with, or wrapped by another master key. */
  public String open(UUID customerId, UUID projectId, UUID rowId, Sealed sealed) {
    String ctx = context(customerId, projectId, rowId);
    if (!sealed.masterKeyId().equals(masterKey.id())) {
      throw new IllegalStateException(
          "provider key "
              + rowId
              + " is wrapped by master key "
              + sealed.masterKeyId()
              + " (expected the configured master key "
              + masterKey.id()
              + "; run rotate-master-key or configure the old key)");
    }
    byte[] dataKey = masterKey.decrypt(sealed.wrappedDataKey(), "dek:" + ctx);
    try {
      byte[] s = sealed.secretCiphertext();
      if (s.length < NONCE_BYTES + 16) {
        throw new IllegalStateException("provider key " + rowId + " has a truncated ciphertext");
      }
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(
          Cipher.DECRYPT_MODE,
          new SecretKeySpec(dataKey, "AES"),
          new GCMParameterSpec(TAG_BITS, s, 0, NONCE_BYTES));
      c.updateAAD(ctx.getBytes(StandardCharsets.UTF_8));
      return new String(c.doFinal(s, NONCE_BYTES, s.length - NONCE_BYTES), StandardCharsets.UTF_8);
    } catch (AEADBadTagException e) {
      throw new IllegalStateException(
          "provider key " + rowId + " does not decrypt (ciphertext not bound to this row)", e);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-GCM unavailable", e);
    } finally {
      Arrays.fill(dataKey, (byte) 0);
    }
  }

  /** Re-wraps a row's data key from {@code from} to {@code to}; the secret ciphertext stays. */
  public static byte[] rewrap(
      MasterKey from, MasterKey to, UUID customerId, UUID projectId, UUID rowId, byte[] wrapped) {
    String ctx = "dek:" + context(customerId, projectId, rowId);
    byte[] dataKey = from.decrypt(wrapped, ctx);
    try {
      return to.encrypt(dataKey, ctx);
    } finally {
      Arrays.fill(dataKey, (byte) 0);
    }
  }
}
