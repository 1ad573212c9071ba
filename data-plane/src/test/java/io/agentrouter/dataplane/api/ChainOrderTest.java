package io.agentrouter.dataplane.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.linecorp.armeria.client.ClientFactory;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.SimpleDecoratingHttpService;
import io.agentrouter.dataplane.DataPlane;
import io.agentrouter.dataplane.TestGateway;
import io.agentrouter.dataplane.authz.ExtAuthz;
import io.agentrouter.dataplane.budget.BudgetGuard;
import io.agentrouter.dataplane.chain.Endpoint;
import io.agentrouter.dataplane.config.ConfigHolder;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import io.agentrouter.dataplane.messages.AnthropicErrorShape;
import io.agentrouter.dataplane.messages.CountTokensService;
import io.agentrouter.dataplane.metrics.GatewayMetrics;
import io.agentrouter.dataplane.provider.ProviderTranslators;
import io.agentrouter.dataplane.ratelimit.LocalRateLimiter;
import io.agentrouter.dataplane.ratelimit.RateLimit;
import io.agentrouter.dataplane.route.CircuitBreakers;
import io.agentrouter.dataplane.route.ModelResolution;
import io.agentrouter.dataplane.route.Router;
import io.agentrouter.dataplane.upstream.UpstreamClient;
import io.agentrouter.dataplane.usage.InMemoryUsageSink;
import io.agentrouter.dataplane.usage.UsageMeter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Pins the order of the chain, by structure and by what a client sees. */
class ChainOrderTest {

  @Test
  void stagesAreInTheDocumentedOrder() {
    assertThat(stages(Endpoint.CHAT)).containsExactlyElementsOf(CHAT_STAGES);
  }

  private static final List<Class<?>> CHAT_STAGES =
      List.of(
          RequestIds.class,
          AccessLog.class,
          ExtAuthz.class,
          UsageMeter.class,
          JsonBody.class,
          RateLimit.class,
          ModelResolution.class,
          BudgetGuard.class,
          Router.class);

  @Test
  void agentSurfacesGoThroughTheSameStages() {
    assertThat(stages(Endpoint.RESPONSES)).containsExactlyElementsOf(CHAT_STAGES);
    List<Class<?>> messages = new ArrayList<>();
    messages.add(AnthropicErrorShape.class);
    messages.addAll(CHAT_STAGES);
    assertThat(stages(Endpoint.MESSAGES)).containsExactlyElementsOf(messages);
    List<Class<?>> count = new ArrayList<>(messages);
    count.set(count.size() - 1, CountTokensService.class);
    assertThat(stages(Endpoint.COUNT_TOKENS)).containsExactlyElementsOf(count);
  }

  private static List<Class<?>> stages(Endpoint endpoint) {
    ObjectMapper mapper = new ObjectMapper();
    GatewayMetrics metrics = new GatewayMetrics(new SimpleMeterRegistry());
    Router router =
        new Router(
            new UpstreamClient(ClientFactory.ofDefault(), mapper),
            new CircuitBreakers(System::nanoTime, 5, Duration.ofSeconds(30), metrics),
            metrics,
            mapper,
            System::nanoTime,
            Clock.systemUTC());
    GatewayChain chain =
        new GatewayChain(
            new ConfigHolder(new ProviderTranslators(DataPlane.defaultTranslators())),
            new LocalRateLimiter(System::nanoTime),
            new InMemoryUsageSink(1),
            metrics,
            router,
            mapper,
            1024,
            "dp",
            Clock.systemUTC(),
            System::nanoTime,
            true);
    List<Class<?>> stages = new ArrayList<>();
    HttpService s = chain.build(endpoint);
    while (s instanceof SimpleDecoratingHttpService d) {
      stages.add(d.getClass());
      s = (HttpService) d.unwrap();
    }
    stages.add(s.getClass());
    return stages;
  }

  @Test
  void limitsApplyOnTheMessagesSurfaceInAnthropicsShape() throws Exception {
    String limited = TestGateway.newKey();
    try (FakeOpenAi fake = FakeOpenAi.start();
        TestGateway gw =
            TestGateway.start(
                """
                providers: [{name: openai, type: openai, base_url: "%s"}]
                models: [{provider: openai, model: m}]
                projects: [{id: p}]
                keys: [{token: "%s", project: p, limits: {requests_per_minute: 1}}]
                """
                    .formatted(fake.baseUrl(), limited))) {
      String msg =
          "{\"model\":\"nope\",\"max_tokens\":5,"
              + "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
      AggregatedHttpResponse first = post(gw, "/v1/messages", limited, msg);
      assertThat(first.status().code()).isEqualTo(404);
      ObjectMapper mapper = new ObjectMapper();
      assertThat(mapper.readTree(first.contentUtf8()).path("error").path("type").asText())
          .isEqualTo("not_found_error");
      AggregatedHttpResponse second = post(gw, "/v1/messages", limited, msg);
      assertThat(second.status().code()).isEqualTo(429);
      assertThat(mapper.readTree(second.contentUtf8()).path("type").asText()).isEqualTo("error");
      assertThat(mapper.readTree(second.contentUtf8()).path("error").path("type").asText())
          .isEqualTo("rate_limit_error");
      assertThat(second.headers().get("x-request-id")).startsWith("req_");
      assertThat(fake.received()).isEmpty();
    }
  }

  @Test
  void clientsSeeTheOrder() {
    String limited = TestGateway.newKey();
    try (FakeOpenAi fake = FakeOpenAi.start();
        TestGateway gw =
            TestGateway.start(
                """
                providers: [{name: openai, type: openai, base_url: "%s"}]
                models: [{provider: openai, model: m}]
                projects: [{id: p}]
                keys: [{token: "%s", project: p, limits: {requests_per_minute: 1}}]
                """
                    .formatted(fake.baseUrl(), limited))) {
      // Authentication comes before the body is even read.
      assertThat(post(gw, TestGateway.newKey(), "{broken").status().code()).isEqualTo(401);
      // The body is checked before limits are spent.
      assertThat(post(gw, limited, "{broken").status().code()).isEqualTo(400);
      // Limits come before model resolution: the second request is refused even for a bad model.
      assertThat(post(gw, limited, body("nope")).status().code()).isEqualTo(404);
      AggregatedHttpResponse second = post(gw, limited, body("nope"));
      assertThat(second.status().code()).isEqualTo(429);
      // Every answer, denials included, carries the request id and the data plane.
      assertThat(second.headers().get("x-request-id")).startsWith("req_");
      assertThat(second.headers().get("x-agentrouter-dataplane")).isNotBlank();
      assertThat(fake.received()).isEmpty();
    }
  }

  static String body(String model) {
    return "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
  }

  static AggregatedHttpResponse post(TestGateway gw, String key, String body) {
    return post(gw, "/v1/chat/completions", key, body);
  }

  static AggregatedHttpResponse post(TestGateway gw, String path, String key, String body) {
    return gw.web()
        .execute(
            HttpRequest.of(
                RequestHeaders.builder(HttpMethod.POST, path)
                    .contentType(MediaType.JSON)
                    .add("authorization", "Bearer " + key)
                    .build(),
                HttpData.ofUtf8(body)))
        .aggregate()
        .join();
  }
}
