package io.agentrouter.controlplane.bootstrap;

import io.agentrouter.controlplane.crypto.MasterKey;
import io.agentrouter.controlplane.identity.Principal;
import io.agentrouter.controlplane.identity.PrincipalStore;
import io.agentrouter.controlplane.keys.KeyGrpcService;
import io.agentrouter.controlplane.keys.KeyStore;
import io.agentrouter.controlplane.keys.Pepper;
import io.agentrouter.proto.admin.v1.KeyLimits;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.jooq.DSLContext;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First start of an empty database: creates the operator principal and its API key (bound to no
 * tenant), writes the key to {@code dataDir/admin.key} (0600) and prints it once to stdout. The key
 * never goes through the logger. Replicas starting together agree through an advisory lock.
 */
public final class Bootstrap {
  private static final Logger logger = LoggerFactory.getLogger(Bootstrap.class);
  private static final long ADVISORY_LOCK = 0x4152_424f_4f54L; // "ARBOOT"
  public static final String ADMIN_KEY_FILE = "admin.key";

  private Bootstrap() {}

  /** Returns the new operator key, or null when the database was bootstrapped before. */
  public static @Nullable String run(
      DSLContext dsl,
      Pepper pepper,
      SecureRandom random,
      Clock clock,
      Path dataDir,
      PrintStream out) {
    String token =
        dsl.transactionResult(
            cfg -> {
              DSLContext tx = cfg.dsl();
              tx.execute("select pg_advisory_xact_lock(" + ADVISORY_LOCK + ")");
              if (PrincipalStore.bootstrapDone(tx)) {
                return null;
              }
              Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
              Principal operator = PrincipalStore.insertBootstrapOperator(tx, now);
              KeyGrpcService.Generated g =
                  KeyGrpcService.generate(
                      pepper,
                      random,
                      operator.id(),
                      null,
                      null,
                      "bootstrap operator key",
                      KeyLimits.getDefaultInstance(),
                      null,
                      List.of(),
                      null,
                      now);
              KeyStore.insert(tx, g.row());
              // Written inside the transaction: if the file cannot be written, nothing is kept.
              try {
                MasterKey.writeOwnerOnly(dataDir.resolve(ADMIN_KEY_FILE), g.token() + "\n");
              } catch (IOException e) {
                throw new UncheckedIOException(
                    "cannot write "
                        + dataDir.resolve(ADMIN_KEY_FILE)
                        + " (expected a writable AGENTROUTER_DATA_DIR)",
                    e);
              }
              return g.token();
            });
    if (token != null) {
      logger.info(
          "Bootstrapped an empty database: created the operator principal and its API key,"
              + " written to {} (mode 0600)",
          dataDir.resolve(ADMIN_KEY_FILE));
      out.println();
      out.println("==================================================================");
      out.println(" AgentRouter control plane: first start. Operator API key (shown once,");
      out.println(" also in " + dataDir.resolve(ADMIN_KEY_FILE) + "):");
      out.println();
      out.println("   " + token);
      out.println("==================================================================");
      out.println();
      out.flush();
    }
    return token;
  }
}
