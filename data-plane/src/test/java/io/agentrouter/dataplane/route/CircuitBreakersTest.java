package io.agentrouter.dataplane.route;

import static org.assertj.core.api.Assertions.assertThat;

import io.agentrouter.common.config.CatalogModel;
import io.agentrouter.common.config.ModelKind;
import io.agentrouter.common.config.ProviderConfig;
import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.dataplane.config.Target;
import io.agentrouter.dataplane.config.Upstream;
import io.agentrouter.dataplane.metrics.GatewayMetrics;
import io.agentrouter.dataplane.provider.ProviderTarget;
import io.agentrouter.dataplane.provider.ProviderType;
import io.agentrouter.dataplane.provider.openai.OpenAiTranslator;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class CircuitBreakersTest {
  final AtomicLong now = new AtomicLong();
  final CircuitBreakers breakers =
      new CircuitBreakers(
          now::get, 3, Duration.ofSeconds(10), new GatewayMetrics(new SimpleMeterRegistry()));
  final Target t = target();

  @Test
  void opensAfterConsecutiveFailuresThenProbesOnce() {
    breakers.failure(t, ErrorClass.SERVER, null);
    breakers.failure(t, ErrorClass.SERVER, null);
    assertThat(breakers.allow(t)).isTrue();
    breakers.failure(t, ErrorClass.TIMEOUT, null);
    assertThat(breakers.allow(t)).isFalse();
    assertThat(breakers.nanosUntilAvailable(t)).isEqualTo(10_000_000_000L);
    now.addAndGet(10_000_000_000L);
    assertThat(breakers.allow(t)).isTrue();
    assertThat(breakers.allow(t)).as("one probe at a time").isFalse();
    breakers.success(t);
    assertThat(breakers.allow(t)).isTrue();
    assertThat(breakers.allow(t)).isTrue();
  }

  @Test
  void aFailedProbeReopensAndALostProbeExpires() {
    for (int i = 0; i < 3; i++) {
      breakers.failure(t, ErrorClass.CONNECT, null);
    }
    now.addAndGet(10_000_000_000L);
    assertThat(breakers.allow(t)).isTrue();
    breakers.failure(t, ErrorClass.CONNECT, null);
    assertThat(breakers.allow(t)).isFalse();
    now.addAndGet(10_000_000_000L);
    assertThat(breakers.allow(t)).isTrue();
    // The probe's client went away and nothing was reported: after a while another probe goes.
    now.addAndGet(10_000_000_000L);
    assertThat(breakers.allow(t)).isTrue();
  }

  @Test
  void requestErrorsDoNotCountButRetryAfterCoolsDown() {
    for (int i = 0; i < 10; i++) {
      breakers.failure(t, ErrorClass.BAD_REQUEST, null);
    }
    assertThat(breakers.allow(t)).isTrue();
    breakers.failure(t, ErrorClass.RATE_LIMITED, 7L);
    assertThat(breakers.allow(t)).isFalse();
    now.addAndGet(7_000_000_000L);
    assertThat(breakers.allow(t)).isTrue();
  }

  private static Target target() {
    ProviderConfig pc =
        new ProviderConfig(
            "p", "openai", "http://x/v1", "", null, Duration.ofSeconds(1), Duration.ofSeconds(1));
    CatalogModel m =
        new CatalogModel(
            "p",
            "m",
            "m",
            ModelKind.CHAT,
            BigDecimal.ZERO,
            BigDecimal.ZERO,
            BigDecimal.ZERO,
            BigDecimal.ZERO);
    return new Target(
        new Upstream(
            pc,
            new ProviderTarget("p", ProviderType.OPENAI, "http://x/v1", "", null),
            new OpenAiTranslator()),
        m,
        m.id());
  }
}
