package io.agentrouter.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import io.agentrouter.common.keys.ApiKeys;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Runs a mix of good and bad traffic with every log line captured, then checks that no client key,
 * provider key or pepper shows up in a log line, an error body or the metrics.
 */
class NoSecretsTest {
  static final String PROVIDER_KEY = "sk-provider-very-secret-0123456789";

  @Test
  void noSecretInLogsErrorsOrMetrics() {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    ListAppender<ILoggingEvent> captured = new ListAppender<>();
    captured.setContext((LoggerContext) LoggerFactory.getILoggerFactory());
    captured.start();
    root.addAppender(captured);
    String key = TestGateway.newKey();
    List<String> bodies = new ArrayList<>();
    String metrics;
    try (FakeOpenAi fake = FakeOpenAi.start();
        TestGateway gw =
            TestGateway.start(
                """
                providers: [{name: openai, type: openai, base_url: "%s", api_key_env: PK}]
                models: [{provider: openai, model: m}]
                projects: [{id: p, default_model: m}]
                keys: [{token: "%s", project: p}]
                """
                    .formatted(fake.baseUrl(), key),
                Map.of("PK", PROVIDER_KEY))) {
      bodies.add(
          post(gw, key, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}").contentUtf8());
      bodies.add(
          post(gw, key, "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
              .contentUtf8());
      // A wrong secret for a real key id.
      String forged =
          ApiKeys.generate(TestGateway.keyId(key), new java.security.SecureRandom()).token();
      bodies.add(post(gw, forged, "{}").contentUtf8());
      bodies.add(post(gw, key + "x", "{}").contentUtf8());
      // The provider refuses our credential and quotes it back, as OpenAI does.
      fake.enqueue(
          FakeOpenAi.Fault.status(401, "Incorrect API key provided: " + PROVIDER_KEY, Map.of()));
      bodies.add(
          post(gw, key, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}").contentUtf8());
      fake.enqueue(FakeOpenAi.Fault.status(400, "bad key " + PROVIDER_KEY, Map.of()));
      bodies.add(
          post(gw, key, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}").contentUtf8());
      fake.enqueue(FakeOpenAi.Fault.cutAfterContent());
      bodies.add(
          post(gw, key, "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}")
              .contentUtf8());
      // A config that fails validation is logged too.
      gw.publish(
          """
          providers: [{name: openai, type: anthropic, base_url: "%s", api_key_env: PK}]
          projects: [{id: p}]
          keys: [{token: "%s", project: p}]
          """
              .formatted(fake.baseUrl(), key));
      metrics = gw.web().get("/internal/metrics").aggregate().join().contentUtf8();
    } finally {
      root.detachAppender(captured);
    }
    String secret = ApiKeys.parse(key).secret();
    String pepper = HexFormat.of().formatHex(TestGateway.PEPPER);
    List<String> lines = new ArrayList<>();
    for (ILoggingEvent e : captured.list) {
      lines.add(e.getFormattedMessage());
      if (e.getThrowableProxy() != null) {
        lines.add(ThrowableProxyUtil.asString(e.getThrowableProxy()));
      }
    }
    assertThat(lines).isNotEmpty().anyMatch(l -> l.contains("POST /v1/chat/completions"));
    for (String forbidden : List.of(secret, PROVIDER_KEY, pepper)) {
      assertThat(lines).noneMatch(l -> l.contains(forbidden));
      assertThat(bodies).noneMatch(b -> b.contains(forbidden));
      assertThat(metrics).doesNotContain(forbidden);
    }
    assertThat(bodies.get(4)).contains("upstream_auth_failed");
    assertThat(bodies.get(5)).contains("bad key ***");
  }

  static AggregatedHttpResponse post(TestGateway gw, String key, String body) {
    return gw.web()
        .execute(
            HttpRequest.of(
                RequestHeaders.builder(HttpMethod.POST, "/v1/chat/completions")
                    .contentType(MediaType.JSON)
                    .add("authorization", "Bearer " + key)
                    .build(),
                HttpData.ofUtf8(body)))
        .aggregate()
        .join();
  }
}
