package io.agentrouter.controlplane.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MasterKeyTest {
  @TempDir Path dir;

  @Test
  void encryptsBoundToItsContext() throws Exception {
    MasterKey key = MasterKey.load(null, dir, new SecureRandom());
    byte[] ct = key.encrypt("secret".getBytes(StandardCharsets.UTF_8), "signing_key:a");
    assertThat(new String(key.decrypt(ct, "signing_key:a"), StandardCharsets.UTF_8))
        .isEqualTo("secret");
    assertThatThrownBy(() -> key.decrypt(ct, "signing_key:b"))
        .hasMessageContaining("does not decrypt");
    // The generated key is kept: a second load decrypts what the first encrypted.
    MasterKey again = MasterKey.load(null, dir, new SecureRandom());
    assertThat(again.decrypt(ct, "signing_key:a"))
        .isEqualTo("secret".getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void anotherKeyCannotDecrypt() throws Exception {
    byte[] a = new byte[32];
    byte[] b = new byte[32];
    b[0] = 1;
    MasterKey one = MasterKey.load(Base64.getEncoder().encodeToString(a), dir, new SecureRandom());
    MasterKey two = MasterKey.load(Base64.getEncoder().encodeToString(b), dir, new SecureRandom());
    byte[] ct = one.encrypt(new byte[] {1, 2, 3}, "x");
    assertThatThrownBy(() -> two.decrypt(ct, "x")).hasMessageContaining("master key differs");
  }

  @Test
  void rejectsAKeyOfTheWrongSize() {
    assertThatThrownBy(
            () ->
                MasterKey.load(
                    Base64.getEncoder().encodeToString(new byte[16]), dir, new SecureRandom()))
        .hasMessage("AGENTROUTER_MASTER_KEY: decodes to 16 bytes (expected 32, base64-encoded)");
    assertThatThrownBy(() -> MasterKey.load("not base64!", dir, new SecureRandom()))
        .hasMessageStartingWith("AGENTROUTER_MASTER_KEY: not valid base64");
  }
}
