package io.agentrouter.dataplane.metrics;

import static java.util.Objects.requireNonNull;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The gateway's meters, registered once per label combination and then looked up by a record key,
 * so the request path never builds tag lists. Labels carry provider, model, project, endpoint and
 * outcome, never a key, a token or a URL.
 */
public final class GatewayMetrics {
  private static final Duration[] SLOS = {
    Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofMillis(25), Duration.ofMillis(100),
    Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(2),
    Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(60)
  };

  private final MeterRegistry registry;
  private final ConcurrentHashMap<RequestKey, RequestMeters> requests = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<ModelKey, ModelMeters> models = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<CounterKey, Counter> simple = new ConcurrentHashMap<>();

  public GatewayMetrics(MeterRegistry registry) {
    this.registry = requireNonNull(registry, "registry");
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** One finished request. */
  public void request(
      String endpoint,
      String provider,
      String model,
      String project,
      int status,
      String outcome,
      long totalNanos) {
    RequestMeters m =
        requests.computeIfAbsent(
            new RequestKey(endpoint, provider, model, project, status, outcome),
            k ->
                new RequestMeters(
                    Counter.builder("agentrouter.requests")
                        .description("Finished API requests")
                        .tag("endpoint", k.endpoint)
                        .tag("provider", k.provider)
                        .tag("model", k.model)
                        .tag("project", k.project)
                        .tag("status", Integer.toString(k.status))
                        .tag("outcome", k.outcome)
                        .register(registry),
                    Timer.builder("agentrouter.request.duration")
                        .description("Arrival to last byte")
                        .tag("endpoint", k.endpoint)
                        .tag("provider", k.provider)
                        .tag("model", k.model)
                        .tag("project", k.project)
                        .serviceLevelObjectives(SLOS)
                        .register(registry)));
    m.count.increment();
    m.total.record(totalNanos, TimeUnit.NANOSECONDS);
  }

  /** Tokens, cost, upstream latency and time to first token of one served request. */
  public void served(
      String provider,
      String model,
      String project,
      long promptTokens,
      long completionTokens,
      long cachedTokens,
      double costUsd,
      long upstreamNanos,
      long firstTokenNanos) {
    ModelMeters m =
        models.computeIfAbsent(
            new ModelKey(provider, model, project), k -> new ModelMeters(registry, k));
    m.prompt.increment(promptTokens);
    m.completion.increment(completionTokens);
    m.cached.increment(cachedTokens);
    m.cost.record(costUsd);
    m.upstream.record(upstreamNanos, TimeUnit.NANOSECONDS);
    if (firstTokenNanos >= 0) {
      m.ttft.record(firstTokenNanos, TimeUnit.NANOSECONDS);
    }
  }

  /**
   * A rate-limit decision: {@code limit} is requests/tokens/concurrency or "none" when admitted.
   */
  public void limiter(String decision, String limit, String project) {
    counter(
            "agentrouter.ratelimit.decisions",
            "decision",
            decision,
            "limit",
            limit,
            "project",
            project)
        .increment();
  }

  /** An upstream attempt's result: ok or an error class. */
  public void attempt(String provider, String model, String result) {
    counter("agentrouter.upstream.attempts", "provider", provider, "model", model, "result", result)
        .increment();
  }

  /** A circuit-breaker event for a target: opened, closed, rejected, cooled (Retry-After). */
  public void breaker(String provider, String model, String event) {
    counter(
            "agentrouter.circuitbreaker.events",
            "provider",
            provider,
            "model",
            model,
            "event",
            event)
        .increment();
  }

  /**
   * A counter with three tags, looked up by its name and tag values (the tag names are fixed per
   * meter name), so the request path allocates no key string.
   */
  private Counter counter(
      String name, String k1, String v1, String k2, String v2, String k3, String v3) {
    return simple.computeIfAbsent(
        new CounterKey(name, v1, v2, v3),
        k -> Counter.builder(name).tags(k1, v1, k2, v2, k3, v3).register(registry));
  }

  private record CounterKey(String name, String v1, String v2, String v3) {}

  private record RequestKey(
      String endpoint, String provider, String model, String project, int status, String outcome) {}

  private record RequestMeters(Counter count, Timer total) {}

  private record ModelKey(String provider, String model, String project) {}

  private static final class ModelMeters {
    final Counter prompt;
    final Counter completion;
    final Counter cached;
    final DistributionSummary cost;
    final Timer upstream;
    final Timer ttft;

    ModelMeters(MeterRegistry r, ModelKey k) {
      prompt = tokens(r, k, "prompt");
      completion = tokens(r, k, "completion");
      cached = tokens(r, k, "cached");
      cost =
          DistributionSummary.builder("agentrouter.cost.usd")
              .description("Estimated cost from catalog prices")
              .tag("provider", k.provider)
              .tag("model", k.model)
              .tag("project", k.project)
              .register(r);
      upstream =
          Timer.builder("agentrouter.upstream.duration")
              .description("Time spent waiting on the provider")
              .tag("provider", k.provider)
              .tag("model", k.model)
              .serviceLevelObjectives(SLOS)
              .register(r);
      ttft =
          Timer.builder("agentrouter.time.to.first.token")
              .description("Arrival to first streamed content")
              .tag("provider", k.provider)
              .tag("model", k.model)
              .serviceLevelObjectives(SLOS)
              .register(r);
    }

    private static Counter tokens(MeterRegistry r, ModelKey k, String type) {
      return Counter.builder("agentrouter.tokens")
          .tag("provider", k.provider)
          .tag("model", k.model)
          .tag("project", k.project)
          .tag("type", type)
          .register(r);
    }
  }
}
