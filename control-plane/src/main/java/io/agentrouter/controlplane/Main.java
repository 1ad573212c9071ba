package io.agentrouter.controlplane;

import io.agentrouter.controlplane.config.ControlPlaneConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Starts the control plane with settings from the environment (see docs/control-plane.md). */
public final class Main {
  private static final Logger logger = LoggerFactory.getLogger(Main.class);

  private Main() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("rotate-master-key")) {
      System.exit(RotateMasterKeyCommand.run(System.getenv()));
      return;
    }
    ControlPlaneConfig config;
    ControlPlane cp;
    try {
      config = ControlPlaneConfig.fromEnv(System.getenv());
      cp = ControlPlane.start(config);
    } catch (IllegalArgumentException | IllegalStateException e) {
      logger.error("AgentRouter control plane cannot start: {}", e.getMessage());
      System.exit(1);
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(cp::close, "agentrouter-cp-shutdown"));
  }
}
