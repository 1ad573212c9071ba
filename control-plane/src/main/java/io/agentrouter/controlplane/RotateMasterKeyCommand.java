package io.agentrouter.controlplane;

import io.agentrouter.controlplane.config.ControlPlaneConfig;
import io.agentrouter.controlplane.crypto.MasterKey;
import io.agentrouter.controlplane.crypto.MasterKeyRotation;
import io.agentrouter.controlplane.persistence.Database;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code java -jar agentrouter-control-plane.jar rotate-master-key}: reads the old key from {@code
 * AGENTROUTER_MASTER_KEY_OLD} (or {@code AGENTROUTER_MASTER_KEY_OLD_FILE}) and the new one from
 * {@code AGENTROUTER_MASTER_KEY_NEW} (or {@code _NEW_FILE}), connects with the usual {@code
 * AGENTROUTER_DB_*} settings and rewraps every row in one transaction. Stop every replica first,
 * then start them with {@code AGENTROUTER_MASTER_KEY} set to the new key.
 */
final class RotateMasterKeyCommand {
  private static final Logger logger = LoggerFactory.getLogger(RotateMasterKeyCommand.class);

  private RotateMasterKeyCommand() {}

  static int run(Map<String, String> env) {
    try {
      SecureRandom random = new SecureRandom();
      MasterKey from = key(env, "AGENTROUTER_MASTER_KEY_OLD", random);
      MasterKey to = key(env, "AGENTROUTER_MASTER_KEY_NEW", random);
      ControlPlaneConfig config = ControlPlaneConfig.fromEnv(env);
      try (Database db =
          Database.open(config.dbUrl(), config.dbUser(), config.dbPassword(), config.dataDir())) {
        MasterKeyRotation.Result r = MasterKeyRotation.rotate(db.dsl(), from, to);
        logger.info(
            "Master key rotated from {} to {}: {} provider keys, {} signing keys, {} platform"
                + " secrets rewrapped. Start every replica with AGENTROUTER_MASTER_KEY set to the"
                + " new key.",
            from.id(),
            to.id(),
            r.providerKeys(),
            r.signingKeys(),
            r.platformSecrets());
        return 0;
      }
    } catch (IllegalArgumentException | IllegalStateException | IOException e) {
      logger.error("rotate-master-key failed, nothing changed: {}", e.getMessage());
      return 1;
    }
  }

  private static MasterKey key(Map<String, String> env, String name, SecureRandom random)
      throws IOException {
    @Nullable String value = env.get(name);
    if (value == null || value.isBlank()) {
      String file = env.get(name + "_FILE");
      if (file == null || file.isBlank()) {
        throw new IllegalArgumentException(
            name + " (or " + name + "_FILE) is not set (expected a base64 32-byte key)");
      }
      value = Files.readString(Path.of(file.strip()), StandardCharsets.US_ASCII);
      return MasterKey.fromBase64(file.strip(), value, random);
    }
    return MasterKey.fromBase64(name, value, random);
  }
}
