package io.agentrouter.dataplane.api;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.linecorp.armeria.server.HttpService;
import io.agentrouter.dataplane.authz.ExtAuthz;
import io.agentrouter.dataplane.budget.BudgetGuard;
import io.agentrouter.dataplane.budget.BudgetLedger;
import io.agentrouter.dataplane.budget.LocalBudgetLedger;
import io.agentrouter.dataplane.chain.Endpoint;
import io.agentrouter.dataplane.config.ConfigHolder;
import io.agentrouter.dataplane.config.RuntimeConfig;
import io.agentrouter.dataplane.messages.AnthropicErrorShape;
import io.agentrouter.dataplane.messages.CountTokensService;
import io.agentrouter.dataplane.metrics.GatewayMetrics;
import io.agentrouter.dataplane.ratelimit.RateLimit;
import io.agentrouter.dataplane.ratelimit.RateLimiter;
import io.agentrouter.dataplane.route.ModelResolution;
import io.agentrouter.dataplane.route.Router;
import io.agentrouter.dataplane.usage.UsageMeter;
import io.agentrouter.dataplane.usage.UsageSink;
import java.time.Clock;
import java.util.function.LongSupplier;

/**
 * The one place the request chain is assembled. Every API route gets the same stages, in this order
 * (outermost first; {@code decorate} wraps, so the code below applies them innermost first):
 *
 * <pre>
 *  1. RequestIds       request id, x-request-id / x-agentrouter-dataplane on every answer
 *  2. AccessLog        one line per request, no credentials
 *  3. ExtAuthz         API key or MP JWT against the snapshot; 401 / 503 (no snapshot)
 *  4. UsageMeter       one usage record per authenticated request, whatever the outcome
 *  5. JsonBody         415 / 413 / 400; parses the body once, estimates tokens
 *  6. RateLimit        per-key requests/min, tokens/min, concurrency; 429 + x-ratelimit-*
 *  7. ModelResolution  alias, provider/model, bare name, project default; allowed models; 404
 *  8. BudgetGuard      monthly key/project budgets: reserve the worst case, settle after; 429
 *                      insufficient_quota (after resolution: the price depends on the model)
 *  9. Router           weighted targets, fallback, circuit breakers → translator → upstream client
 *                      (count_tokens: CountTokensService first, which estimates for non-Anthropic
 *                      routes and hands Anthropic ones to the router)
 * </pre>
 *
 * The Anthropic routes ({@code /v1/messages}, {@code /v1/messages/count_tokens}) get one more stage
 * outside all of these, {@code 0. AnthropicErrorShape}, which renders every error of the chain in
 * Anthropic's shape; the stages themselves are the same for every surface.
 *
 * <p>The body is parsed after authentication, so an anonymous caller cannot make the gateway buffer
 * or parse anything, and before the limits, because the token limit needs the estimate.
 */
public final class GatewayChain {
  private final ConfigHolder config;
  private final RateLimiter limiter;
  private final UsageSink sink;
  private final GatewayMetrics metrics;
  private final Router router;
  private final ObjectMapper mapper;
  private final long maxRequestBytes;
  private final String dataplaneId;
  private final Clock clock;
  private final LongSupplier nanoTime;
  private final boolean accessLog;
  private final BudgetLedger budgets;

  /** A chain with budgets kept in this process. */
  public GatewayChain(
      ConfigHolder config,
      RateLimiter limiter,
      UsageSink sink,
      GatewayMetrics metrics,
      Router router,
      ObjectMapper mapper,
      long maxRequestBytes,
      String dataplaneId,
      Clock clock,
      LongSupplier nanoTime,
      boolean accessLog) {
    this(
        config,
        limiter,
        sink,
        metrics,
        router,
        mapper,
        maxRequestBytes,
        dataplaneId,
        clock,
        nanoTime,
        accessLog,
        new LocalBudgetLedger(clock));
  }

  public GatewayChain(
      ConfigHolder config,
      RateLimiter limiter,
      UsageSink sink,
      GatewayMetrics metrics,
      Router router,
      ObjectMapper mapper,
      long maxRequestBytes,
      String dataplaneId,
      Clock clock,
      LongSupplier nanoTime,
      boolean accessLog,
      BudgetLedger budgets) {
    this.config = requireNonNull(config, "config");
    this.limiter = requireNonNull(limiter, "limiter");
    this.sink = requireNonNull(sink, "sink");
    this.metrics = requireNonNull(metrics, "metrics");
    this.router = requireNonNull(router, "router");
    this.mapper = requireNonNull(mapper, "mapper");
    this.maxRequestBytes = maxRequestBytes;
    this.dataplaneId = requireNonNull(dataplaneId, "dataplaneId");
    this.clock = requireNonNull(clock, "clock");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
    this.accessLog = accessLog;
    this.budgets = requireNonNull(budgets, "budgets");
  }

  /** The full chain in front of {@code endpoint}'s terminal service. */
  public HttpService build(Endpoint endpoint) {
    HttpService terminal =
        switch (endpoint) {
          case MODELS -> new ModelsService(mapper);
          case COUNT_TOKENS -> new CountTokensService(router);
          default -> router;
        };
    return build(endpoint, terminal);
  }

  HttpService build(Endpoint endpoint, HttpService terminal) {
    HttpService s = terminal;
    s = BudgetGuard.newDecorator(budgets).apply(s); // 8
    s = ModelResolution.newDecorator(nanoTime).apply(s); // 7
    s = RateLimit.newDecorator(limiter, metrics).apply(s); // 6
    s = JsonBody.newDecorator(mapper, maxRequestBytes).apply(s); // 5
    s = UsageMeter.newDecorator(sink, metrics, nanoTime, dataplaneId).apply(s); // 4
    s = ExtAuthz.newDecorator(config, clock, nanoTime).apply(s); // 3
    if (accessLog) {
      s = AccessLog.newDecorator().apply(s); // 2
    }
    s = RequestIds.newDecorator(endpoint, this::dataplaneId, clock, nanoTime).apply(s); // 1
    if (endpoint.anthropicShape()) {
      s = AnthropicErrorShape.newDecorator(mapper).apply(s); // 0
    }
    return s;
  }

  /** The active snapshot's data plane id, else the configured one. */
  private String dataplaneId() {
    RuntimeConfig current = config.current();
    String id = current == null ? null : current.dataplaneId();
    return id == null ? dataplaneId : id;
  }
}
