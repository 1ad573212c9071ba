package io.agentrouter.dataplane;

import ch.qos.logback.classic.LoggerContext;
import com.linecorp.armeria.server.Server;
import io.agentrouter.common.config.ApiKeyPepper;
import io.agentrouter.dataplane.config.FileConfigSource;
import io.agentrouter.dataplane.config.StandaloneConfigParser;
import io.agentrouter.dataplane.ratelimit.RedisLimiterSettings;
import io.agentrouter.dataplane.spool.UsageSpool;
import io.agentrouter.dataplane.sync.ControlPlaneConfigSource;
import io.agentrouter.dataplane.sync.ManagedSettings;
import io.agentrouter.dataplane.upstream.UpstreamAddressPolicy;
import io.agentrouter.dataplane.usage.UsageSink;
import java.io.IOException;
import java.security.SecureRandom;
import java.util.Arrays;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the data plane, or with {@code gen-key} prints a new API key for a standalone config.
 *
 * <pre>
 *   AGENTROUTER_CONFIG_FILE=dp.yaml java -jar agentrouter-data-plane.jar
 *   java -jar agentrouter-data-plane.jar gen-key
 * </pre>
 */
public final class Main {
  private static final Logger log = LoggerFactory.getLogger(Main.class);

  private static final String NUM_WORKERS = "com.linecorp.armeria.numCommonWorkers";

  private Main() {}

  public static void main(String[] args) {
    // Armeria's default is two event loops per core; the request path never blocks, so one per core
    // is enough and saves the context switches between loops sharing a core. Still overridable.
    if (System.getProperty(NUM_WORKERS) == null) {
      System.setProperty(NUM_WORKERS, Integer.toString(Runtime.getRuntime().availableProcessors()));
    }
    if (args.length > 0 && args[0].equals("gen-key")) {
      System.exit(
          GenKey.run(
              Arrays.copyOfRange(args, 1, args.length), System.out, System.err, System::getenv));
      return;
    }
    if (args.length > 0) {
      System.err.println("unknown argument '" + args[0] + "' (expected: nothing, or gen-key)");
      System.exit(2);
      return;
    }
    DataPlaneSettings settings = DataPlaneSettings.fromEnv(System::getenv);
    boolean allowPrivate =
        "true".equalsIgnoreCase(System.getenv("AGENTROUTER_ALLOW_PRIVATE_UPSTREAMS"));
    ManagedSettings managed = ManagedSettings.fromEnv(System::getenv);
    if (managed != null) {
      startManaged(settings, managed, allowPrivate);
      return;
    }
    if (settings.configFile() == null) {
      System.err.println(
          "AGENTROUTER_CONFIG_FILE is not set: name the standalone config file (see"
              + " docs/data-plane.md and data-plane/examples/standalone.yaml)");
      System.exit(2);
      return;
    }
    byte[] random = new byte[32];
    new SecureRandom().nextBytes(random);
    DataPlane[] holder = new DataPlane[1];
    StandaloneConfigParser parser =
        new StandaloneConfigParser(System::getenv, ApiKeyPepper.of(random));
    FileConfigSource source =
        new FileConfigSource(
            settings.configFile(),
            parser,
            settings.configPollInterval(),
            reason -> {
              if (holder[0] != null) {
                holder[0].config().failed(reason);
              } else {
                log.error("{}", reason);
              }
            });
    DataPlane dp =
        DataPlane.builder(settings, source)
            .redis(RedisLimiterSettings.fromEnv(System::getenv))
            .upstreamAddressPolicy(UpstreamAddressPolicy.standalone(allowPrivate))
            .usageSink(UsageSink.NONE)
            .build();
    holder[0] = dp;
    Server server = dp.start();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(dp), "agentrouter-shutdown"));
    log.info(
        "data plane '{}' listening on port {} ({})",
        settings.dataplaneId(),
        server.activeLocalPort(),
        dp.config().current() == null ? "NOT READY: no valid config" : "ready");
  }

  /** Stops serving, then stops logging so the lines still queued reach standard output. */
  private static void stop(DataPlane dp) {
    dp.close();
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext logging) {
      logging.stop();
    }
  }

  /** Managed mode: config from the control plane, usage through the durable spool. */
  private static void startManaged(
      DataPlaneSettings settings, ManagedSettings managed, boolean allowPrivate) {
    DataPlane[] holder = new DataPlane[1];
    UsageSpool spool;
    ControlPlaneConfigSource source;
    try {
      spool =
          UsageSpool.open(
              managed.dataDir().resolve("spool"), managed.spoolMaxBytes(), 8L * 1024 * 1024);
      source =
          ControlPlaneConfigSource.builder(managed)
              .spool(spool)
              .inFlight(() -> holder[0] == null ? 0 : holder[0].inFlightRequests())
              .onFatal(
                  message -> {
                    System.err.println("fatal: " + message);
                    System.exit(2);
                  })
              .build();
    } catch (IOException | IllegalArgumentException e) {
      System.err.println("cannot start in managed mode: " + e.getMessage());
      System.exit(2);
      return;
    }
    DataPlane dp =
        DataPlane.builder(settings, source)
            .usageSink(spool)
            .redis(RedisLimiterSettings.fromEnv(System::getenv))
            .upstreamAddressPolicy(UpstreamAddressPolicy.managed(allowPrivate))
            .build();
    holder[0] = dp;
    Server server = dp.start();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(dp), "agentrouter-shutdown"));
    log.info(
        "data plane listening on port {} in managed mode ({}; control plane {})",
        server.activeLocalPort(),
        dp.config().current() == null
            ? "NOT READY until the control plane sends a snapshot"
            : "serving snapshot " + dp.config().current().version(),
        managed.controlPlaneUrls());
  }
}
