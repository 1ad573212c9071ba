package io.agentrouter.dataplane.ratelimit;

import com.linecorp.armeria.client.WebClient;
import io.agentrouter.common.config.ApiKeyPepper;
import io.agentrouter.common.config.ConfigSnapshot;
import io.agentrouter.dataplane.DataPlane;
import io.agentrouter.dataplane.DataPlaneSettings;
import io.agentrouter.dataplane.TestGateway;
import io.agentrouter.dataplane.config.ConfigSource;
import io.agentrouter.dataplane.config.StandaloneConfigParser;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.function.UnaryOperator;

/** A data plane built by the composition root from a standalone file, sharing one Redis. */
record RedisNode(DataPlane dp, int port) implements AutoCloseable {

  /** Starts a data plane serving {@code yaml}, its limits and budgets on {@code redis}. */
  static RedisNode start(
      String yaml, RedisLimiterSettings redis, UnaryOperator<DataPlaneSettings> tweak) {
    ConfigSnapshot snapshot =
        new StandaloneConfigParser(
                Map.of("TEST_PEPPER", HexFormat.of().formatHex(TestGateway.PEPPER))::get,
                ApiKeyPepper.of(TestGateway.PEPPER))
            .parse(yaml.getBytes(StandardCharsets.UTF_8), "it.yaml");
    ConfigSource source = l -> l.accept(snapshot);
    DataPlaneSettings s =
        DataPlaneSettings.fromEnv(
            Map.of(
                    "AGENTROUTER_HTTP_PORT", "0",
                    "AGENTROUTER_DATAPLANE_ID", "dp-it",
                    "AGENTROUTER_CONFIG_POLL_MS", "0",
                    "AGENTROUTER_ACCESS_LOG", "false",
                    "AGENTROUTER_SHUTDOWN_QUIET_MS", "0")
                ::get);
    DataPlane dp = DataPlane.builder(tweak.apply(s), source).redis(redis).build();
    return new RedisNode(dp, dp.start().activeLocalPort());
  }

  WebClient client() {
    return WebClient.builder("http://127.0.0.1:" + port)
        .responseTimeout(Duration.ofSeconds(30))
        .build();
  }

  @Override
  public void close() {
    dp.close();
  }
}
