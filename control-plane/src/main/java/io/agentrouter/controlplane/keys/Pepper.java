package io.agentrouter.controlplane.keys;

import static io.agentrouter.controlplane.db.Tables.PLATFORM_SECRETS;

import io.agentrouter.common.keys.ApiKeys;
import io.agentrouter.controlplane.crypto.MasterKey;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.ZoneOffset;
import org.jooq.DSLContext;
import org.jooq.Record1;

/**
 * The 32-byte pepper of every API-key digest: generated once per deployment, stored encrypted under
 * the master key, the same for every replica.
 */
public final class Pepper {
  static final String NAME = "api_key_pepper";
  private static final String CONTEXT = "platform_secret:" + NAME;

  private final byte[] bytes;

  private Pepper(byte[] bytes) {
    this.bytes = bytes;
  }

  public static Pepper loadOrCreate(DSLContext dsl, MasterKey masterKey, SecureRandom random) {
    byte[] fresh = new byte[32];
    random.nextBytes(fresh);
    dsl.insertInto(PLATFORM_SECRETS)
        .set(PLATFORM_SECRETS.NAME, NAME)
        .set(PLATFORM_SECRETS.CIPHERTEXT, masterKey.encrypt(fresh, CONTEXT))
        .set(PLATFORM_SECRETS.CREATED_AT, Instant.now().atOffset(ZoneOffset.UTC))
        .onConflictDoNothing()
        .execute();
    Record1<byte[]> stored =
        dsl.select(PLATFORM_SECRETS.CIPHERTEXT)
            .from(PLATFORM_SECRETS)
            .where(PLATFORM_SECRETS.NAME.eq(NAME))
            .fetchSingle();
    return new Pepper(masterKey.decrypt(stored.value1(), CONTEXT));
  }

  /** HMAC-SHA-256(pepper, secret), hex. */
  public String digest(String secret) {
    return ApiKeys.digest(bytes, secret);
  }

  /** A copy, for the data-plane snapshot. */
  public byte[] bytes() {
    return bytes.clone();
  }

  @Override
  public String toString() {
    return "Pepper[redacted]";
  }
}
