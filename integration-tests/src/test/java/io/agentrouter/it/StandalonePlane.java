package io.agentrouter.it;

import com.linecorp.armeria.server.Server;
import io.agentrouter.common.config.ApiKeyPepper;
import io.agentrouter.common.usage.UsageRecord;
import io.agentrouter.dataplane.DataPlane;
import io.agentrouter.dataplane.DataPlaneSettings;
import io.agentrouter.dataplane.TestGateway;
import io.agentrouter.dataplane.config.StandaloneConfigParser;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A standalone data plane on a free port, wired like {@link TestGateway} (config as standalone
 * YAML, through the real composition root) but keeping every usage record it emits, however many:
 * the evidence checks count records against requests in the thousands, beyond the test gateway's
 * bounded in-memory sink.
 */
final class StandalonePlane implements AutoCloseable {
  private final ConcurrentLinkedQueue<UsageRecord> usage = new ConcurrentLinkedQueue<>();
  private final AtomicLong clockAhead = new AtomicLong();
  private final DataPlane dataPlane;
  private final Server server;

  private StandalonePlane(String yaml, DataPlaneSettings settings) {
    byte[] pepper = TestGateway.PEPPER;
    Map<String, String> env = Map.of("TEST_PEPPER", HexFormat.of().formatHex(pepper));
    var snapshot =
        new StandaloneConfigParser(env::get, ApiKeyPepper.of(pepper))
            .parse(yaml.getBytes(StandardCharsets.UTF_8), "evidence.yaml");
    dataPlane =
        DataPlane.builder(settings.withHttpPort(0), listener -> listener.accept(snapshot))
            .usageSink(usage::add)
            .nanoTime(() -> System.nanoTime() + clockAhead.get())
            .build();
    server = dataPlane.start();
  }

  /** With the test gateway's settings and a breaker opening after {@code breakerThreshold}. */
  static StandalonePlane start(String yaml, int breakerThreshold) {
    return new StandalonePlane(
        yaml,
        TestGateway.settings().withBreaker(breakerThreshold, java.time.Duration.ofSeconds(30)));
  }

  int port() {
    return server.activeLocalPort();
  }

  String url() {
    return "http://127.0.0.1:" + port();
  }

  /**
   * Moves the data plane's monotonic clock (limits, breakers, a provider's {@code Retry-After})
   * forward by {@code d}, instead of waiting it out. Only between requests: a request in flight
   * would see the jump in its timings.
   */
  void advanceClock(java.time.Duration d) {
    clockAhead.addAndGet(d.toNanos());
  }

  /** Every usage record emitted so far, in order. */
  List<UsageRecord> usage() {
    return List.copyOf(usage);
  }

  @Override
  public void close() {
    dataPlane.close();
  }
}
