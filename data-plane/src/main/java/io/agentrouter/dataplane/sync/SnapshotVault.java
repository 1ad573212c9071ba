package io.agentrouter.dataplane.sync;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.InvalidProtocolBufferException;
import io.agentrouter.proto.dataplane.v1.DataplaneSnapshot;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last good snapshot on disk, so a restart during a control-plane outage still serves. It holds
 * provider keys, so it is sealed with AES-256-GCM under the data plane's own key ({@code
 * AGENTROUTER_DATAPLANE_KEY}, or {@code dataplane.key} generated into the data dir with mode 0600);
 * a file that was altered, truncated or sealed with another key does not open.
 *
 * <p>File layout: {@code "ARSNAP1\n"}, a 12-byte nonce, then the ciphertext and tag of the
 * snapshot's protobuf encoding. The header is bound as additional data.
 */
final class SnapshotVault {
  private static final Logger log = LoggerFactory.getLogger(SnapshotVault.class);
  private static final byte[] MAGIC = "ARSNAP1\n".getBytes(StandardCharsets.US_ASCII);
  static final String FILE = "snapshot.bin";
  static final String KEY_FILE = "dataplane.key";

  private final Path file;
  private final SecretKeySpec key;
  private final SecureRandom random;

  private SnapshotVault(Path file, byte[] key, SecureRandom random) {
    this.file = file;
    this.key = new SecretKeySpec(key, "AES");
    this.random = random;
  }

  /**
   * Opens the vault of {@code dataDir}. {@code configuredKey} is the base64 of 32 bytes; without
   * one, the key file in the data dir is used, generated on first use.
   */
  static SnapshotVault open(Path dataDir, @Nullable String configuredKey, SecureRandom random)
      throws IOException {
    requireNonNull(dataDir, "dataDir");
    byte[] key;
    if (configuredKey != null && !configuredKey.isBlank()) {
      key = decodeKey(configuredKey.strip(), "AGENTROUTER_DATAPLANE_KEY");
    } else {
      Path keyFile = dataDir.resolve(KEY_FILE);
      try {
        key =
            decodeKey(
                Files.readString(keyFile, StandardCharsets.US_ASCII).strip(), keyFile.toString());
      } catch (NoSuchFileException e) {
        key = new byte[32];
        random.nextBytes(key);
        PrivateFiles.write(
            keyFile, Base64.getEncoder().encodeToString(key).getBytes(StandardCharsets.US_ASCII));
        log.warn(
            "generated the data plane's snapshot key into {} (mode 0600); set"
                + " AGENTROUTER_DATAPLANE_KEY to manage it yourself",
            keyFile);
      }
    }
    return new SnapshotVault(dataDir.resolve(FILE), key, random);
  }

  private static byte[] decodeKey(String base64, String where) {
    byte[] key;
    try {
      key = Base64.getDecoder().decode(base64);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(where + " is not base64 (expected: 32 random bytes)");
    }
    if (key.length != 32) {
      throw new IllegalArgumentException(
          where + " holds " + key.length + " bytes (expected: 32, base64-encoded)");
    }
    return key;
  }

  /** Seals and writes {@code snapshot}, replacing the previous one atomically. Blocking I/O. */
  void save(DataplaneSnapshot snapshot) throws IOException {
    byte[] nonce = new byte[12];
    random.nextBytes(nonce);
    byte[] sealed;
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, nonce));
      c.updateAAD(MAGIC);
      sealed = c.doFinal(snapshot.toByteArray());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-256-GCM is unavailable in this JVM", e);
    }
    byte[] out = new byte[MAGIC.length + nonce.length + sealed.length];
    System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
    System.arraycopy(nonce, 0, out, MAGIC.length, nonce.length);
    System.arraycopy(sealed, 0, out, MAGIC.length + nonce.length, sealed.length);
    PrivateFiles.write(file, out);
  }

  /**
   * The persisted snapshot, or null when there is none.
   *
   * @throws CorruptSnapshotException when the file exists but cannot be opened
   */
  @Nullable DataplaneSnapshot load() throws IOException {
    byte[] in;
    try {
      in = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return null;
    }
    if (in.length < MAGIC.length + 12 + 16
        || !Arrays.equals(Arrays.copyOf(in, MAGIC.length), MAGIC)) {
      throw new CorruptSnapshotException(
          "persisted snapshot " + file + " is not a sealed snapshot (expected header ARSNAP1)");
    }
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(128, in, MAGIC.length, 12));
      c.updateAAD(MAGIC);
      byte[] plain = c.doFinal(in, MAGIC.length + 12, in.length - MAGIC.length - 12);
      return DataplaneSnapshot.parseFrom(plain);
    } catch (javax.crypto.AEADBadTagException e) {
      throw new CorruptSnapshotException(
          "persisted snapshot "
              + file
              + " does not open with this data plane's key (altered, truncated, or sealed with"
              + " another AGENTROUTER_DATAPLANE_KEY)");
    } catch (InvalidProtocolBufferException e) {
      throw new CorruptSnapshotException(
          "persisted snapshot " + file + " is not a DataplaneSnapshot");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("AES-256-GCM is unavailable in this JVM", e);
    }
  }

  Path file() {
    return file;
  }

  /** A persisted snapshot that exists but cannot be used. */
  static final class CorruptSnapshotException extends IOException {
    private static final long serialVersionUID = 1L;

    CorruptSnapshotException(String message) {
      super(message);
    }
  }
}
