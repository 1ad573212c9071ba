package io.agentrouter.controlplane.crypto;

import static io.agentrouter.controlplane.db.Tables.PLATFORM_SECRETS;
import static io.agentrouter.controlplane.db.Tables.PROVIDER_KEYS;
import static io.agentrouter.controlplane.db.Tables.SIGNING_KEYS;
import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.db.tables.records.PlatformSecretsRecord;
import io.agentrouter.controlplane.db.tables.records.ProviderKeysRecord;
import io.agentrouter.controlplane.db.tables.records.SigningKeysRecord;
import io.agentrouter.controlplane.providerkeys.ProviderKeyCrypto;
import java.util.Arrays;
import org.jooq.DSLContext;

/**
 * {@code rotate-master-key}: re-encrypts everything stored under the master key (provider-key data
 * keys, signing private keys, the API-key pepper) from the old key to the new one, in one
 * transaction: either every row moves or none does. Secrets themselves never change.
 */
public final class MasterKeyRotation {
  /** How many rows of each kind were rewrapped. */
  public record Result(int providerKeys, int signingKeys, int platformSecrets) {}

  private MasterKeyRotation() {}

  public static Result rotate(DSLContext dsl, MasterKey from, MasterKey to) {
    requireNonNull(from, "from");
    requireNonNull(to, "to");
    if (from.id().equals(to.id())) {
      throw new IllegalArgumentException(
          "old and new master keys are the same (id "
              + from.id()
              + "; expected two different keys)");
    }
    return dsl.transactionResult(
        cfg -> {
          DSLContext tx = cfg.dsl();
          // Serialise with other rotations and with signing-key creation.
          tx.execute("lock table provider_keys, signing_keys, platform_secrets in exclusive mode");
          int pk = 0;
          for (ProviderKeysRecord r : tx.selectFrom(PROVIDER_KEYS).fetch()) {
            if (r.getMasterKeyId().equals(to.id())) {
              continue; // already rewrapped (a rerun after a partial manual change)
            }
            if (!r.getMasterKeyId().equals(from.id())) {
              throw new IllegalStateException(
                  "provider key "
                      + r.getId()
                      + " is wrapped by master key "
                      + r.getMasterKeyId()
                      + " (expected the old key "
                      + from.id()
                      + ")");
            }
            r.setWrappedDataKey(
                ProviderKeyCrypto.rewrap(
                    from,
                    to,
                    r.getCustomerId(),
                    r.getProjectId(),
                    r.getId(),
                    r.getWrappedDataKey()));
            r.setMasterKeyId(to.id());
            tx.executeUpdate(r);
            pk++;
          }
          int sk = 0;
          for (SigningKeysRecord r : tx.selectFrom(SIGNING_KEYS).fetch()) {
            String ctx = "signing_key:" + r.getKid();
            r.setPrivateKeyCiphertext(reencrypt(from, to, r.getPrivateKeyCiphertext(), ctx));
            tx.executeUpdate(r);
            sk++;
          }
          int ps = 0;
          for (PlatformSecretsRecord r : tx.selectFrom(PLATFORM_SECRETS).fetch()) {
            String ctx = "platform_secret:" + r.getName();
            r.setCiphertext(reencrypt(from, to, r.getCiphertext(), ctx));
            tx.executeUpdate(r);
            ps++;
          }
          return new Result(pk, sk, ps);
        });
  }

  private static byte[] reencrypt(MasterKey from, MasterKey to, byte[] ciphertext, String ctx) {
    byte[] plain = from.decrypt(ciphertext, ctx);
    try {
      return to.encrypt(plain, ctx);
    } finally {
      Arrays.fill(plain, (byte) 0);
    }
  }
}
