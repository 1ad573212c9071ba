package io.agentrouter.controlplane.providerkeys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.agentrouter.controlplane.crypto.MasterKey;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class ProviderKeyCryptoTest {
  private final SecureRandom random = new SecureRandom();
  private final MasterKey master = key();
  private final ProviderKeyCrypto crypto = new ProviderKeyCrypto(master, random);
  private final UUID customer = UUID.randomUUID();
  private final UUID project = UUID.randomUUID();
  private final UUID row = UUID.randomUUID();

  private MasterKey key() {
    byte[] b = new byte[32];
    random.nextBytes(b);
    return MasterKey.fromBase64("test", Base64.getEncoder().encodeToString(b), random);
  }

  @Test
  void sealsUnderAFreshDataKeyAndOpensOnlyForItsRow() {
    ProviderKeyCrypto.Sealed a = crypto.seal(customer, project, row, "sk-secret-1234");
    ProviderKeyCrypto.Sealed b = crypto.seal(customer, project, row, "sk-secret-1234");
    assertThat(a.wrappedDataKey()).isNotEqualTo(b.wrappedDataKey());
    assertThat(new String(a.secretCiphertext(), StandardCharsets.ISO_8859_1))
        .doesNotContain("sk-secret");
    assertThat(a.masterKeyId()).isEqualTo(master.id());
    assertThat(a.toString()).doesNotContain("sk-secret");
    assertThat(crypto.open(customer, project, row, a)).isEqualTo("sk-secret-1234");
    assertThatThrownBy(() -> crypto.open(customer, project, UUID.randomUUID(), a))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> crypto.open(UUID.randomUUID(), project, row, a))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> crypto.open(customer, UUID.randomUUID(), row, a))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void rewrapMovesTheDataKeyToTheNewMasterKey() {
    ProviderKeyCrypto.Sealed a = crypto.seal(customer, project, row, "sk-secret-1234");
    MasterKey next = key();
    byte[] rewrapped =
        ProviderKeyCrypto.rewrap(master, next, customer, project, row, a.wrappedDataKey());
    ProviderKeyCrypto.Sealed moved =
        new ProviderKeyCrypto.Sealed(next.id(), rewrapped, a.secretCiphertext());
    assertThat(new ProviderKeyCrypto(next, random).open(customer, project, row, moved))
        .isEqualTo("sk-secret-1234");
    assertThatThrownBy(() -> crypto.open(customer, project, row, moved))
        .hasMessageContaining(next.id())
        .hasMessageContaining(master.id());
  }
}
