package io.agentrouter.dataplane;

import com.linecorp.armeria.client.WebClient;
import com.linecorp.armeria.server.Server;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import io.agentrouter.common.config.ApiKeyPepper;
import io.agentrouter.common.config.ConfigSnapshot;
import io.agentrouter.common.keys.ApiKeys;
import io.agentrouter.common.usage.UsageRecord;
import io.agentrouter.dataplane.config.ConfigSource;
import io.agentrouter.dataplane.config.StandaloneConfigParser;
import io.agentrouter.dataplane.usage.InMemoryUsageSink;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A data plane on a free port with its config given as standalone YAML (so tests also exercise the
 * file format), an in-memory usage sink and, when asked, a manual clock.
 */
public final class TestGateway implements AutoCloseable {
  /** The pepper tests use, so digests can be computed up front. */
  public static final byte[] PEPPER =
      "test-pepper-0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

  private final DataPlane dataPlane;
  private final Server server;
  private final InMemoryUsageSink usage = new InMemoryUsageSink(1000);
  private final Map<String, String> env;
  private volatile Consumer<ConfigSnapshot> listener;

  /** Manual monotonic time for limits and breakers; only used when {@code manualTime}. */
  public final AtomicLong nanos = new AtomicLong(1_000_000_000L);

  private TestGateway(
      String yaml, Map<String, String> env, boolean manualTime, DataPlaneSettings s) {
    this.env = new HashMap<>(env);
    ConfigSource source =
        l -> {
          listener = l;
          if (yaml != null) {
            l.accept(parse(yaml));
          }
        };
    DataPlane.Builder b = DataPlane.builder(s.withHttpPort(0), source).usageSink(usage);
    if (manualTime) {
      b.nanoTime(nanos::get);
    }
    b.clock(Clock.systemUTC());
    dataPlane = b.build();
    server = dataPlane.start();
  }

  public static TestGateway start(String yaml) {
    return start(yaml, Map.of());
  }

  public static TestGateway start(String yaml, Map<String, String> env) {
    return new TestGateway(yaml, env, false, settings());
  }

  public static TestGateway startWithManualTime(String yaml) {
    return new TestGateway(yaml, Map.of(), true, settings());
  }

  public static TestGateway start(String yaml, DataPlaneSettings settings) {
    return new TestGateway(yaml, Map.of(), false, settings);
  }

  public static DataPlaneSettings settings() {
    return DataPlaneSettings.fromEnv(
            Map.of(
                    "AGENTROUTER_DATAPLANE_ID", "dp-test",
                    "AGENTROUTER_CONFIG_POLL_MS", "0",
                    "AGENTROUTER_SHUTDOWN_QUIET_MS", "0")
                ::get)
        .withBreaker(1000, Duration.ofSeconds(30));
  }

  /** Swaps in a new config. */
  public void publish(String yaml) {
    listener.accept(parse(yaml));
  }

  private ConfigSnapshot parse(String yaml) {
    Map<String, String> e = new HashMap<>(env);
    e.put("TEST_PEPPER", java.util.HexFormat.of().formatHex(PEPPER));
    return new StandaloneConfigParser(e::get, ApiKeyPepper.of(PEPPER))
        .parse(yaml.getBytes(StandardCharsets.UTF_8), "test.yaml");
  }

  public String url() {
    return "http://127.0.0.1:" + server.activeLocalPort();
  }

  public WebClient web() {
    return WebClient.of(url());
  }

  public OpenAIClient openAi(String token) {
    return OpenAIOkHttpClient.builder()
        .baseUrl(url() + "/v1")
        .apiKey(token)
        .maxRetries(0)
        .timeout(Duration.ofSeconds(10))
        .build();
  }

  public DataPlane dataPlane() {
    return dataPlane;
  }

  public List<UsageRecord> usage() {
    return usage.records();
  }

  @Override
  public void close() {
    dataPlane.close();
  }

  /** A fresh key token. */
  public static String newKey() {
    return ApiKeys.generate(UUID.randomUUID(), new SecureRandom()).token();
  }

  /** The key id of a token. */
  public static UUID keyId(String token) {
    return ApiKeys.parse(token).keyId();
  }
}
