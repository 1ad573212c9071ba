package io.agentrouter.dataplane;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.linecorp.armeria.client.ClientFactory;
import com.linecorp.armeria.client.ClientFactoryOptions;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.server.Server;
import com.linecorp.armeria.server.ServerBuilder;
import io.agentrouter.dataplane.api.GatewayChain;
import io.agentrouter.dataplane.api.GatewayErrorHandler;
import io.agentrouter.dataplane.api.InternalServices;
import io.agentrouter.dataplane.budget.BudgetLedger;
import io.agentrouter.dataplane.budget.LocalBudgetLedger;
import io.agentrouter.dataplane.budget.SharedBudgetLedger;
import io.agentrouter.dataplane.chain.Endpoint;
import io.agentrouter.dataplane.config.ConfigHolder;
import io.agentrouter.dataplane.config.ConfigSource;
import io.agentrouter.dataplane.config.RuntimeConfig;
import io.agentrouter.dataplane.messages.CountTokensSurface;
import io.agentrouter.dataplane.messages.MessagesSurface;
import io.agentrouter.dataplane.metrics.GatewayMetrics;
import io.agentrouter.dataplane.provider.ProviderTranslator;
import io.agentrouter.dataplane.provider.ProviderTranslators;
import io.agentrouter.dataplane.provider.ProviderType;
import io.agentrouter.dataplane.provider.anthropic.AnthropicTranslator;
import io.agentrouter.dataplane.provider.gemini.GeminiTranslator;
import io.agentrouter.dataplane.provider.openai.AzureOpenAiTranslator;
import io.agentrouter.dataplane.provider.openai.OpenAiTranslator;
import io.agentrouter.dataplane.ratelimit.LocalRateLimiter;
import io.agentrouter.dataplane.ratelimit.RateLimiter;
import io.agentrouter.dataplane.ratelimit.RedisLimiterSettings;
import io.agentrouter.dataplane.ratelimit.RedisRateLimiter;
import io.agentrouter.dataplane.responses.ResponsesSurface;
import io.agentrouter.dataplane.route.CircuitBreakers;
import io.agentrouter.dataplane.route.ClientHangups;
import io.agentrouter.dataplane.route.Router;
import io.agentrouter.dataplane.upstream.SameEventLoopScheduler;
import io.agentrouter.dataplane.upstream.UpstreamAddressPolicy;
import io.agentrouter.dataplane.upstream.UpstreamClient;
import io.agentrouter.dataplane.usage.InMemoryUsageSink;
import io.agentrouter.dataplane.usage.UsageSink;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.flush.FlushConsolidationHandler;
import java.time.Clock;
import java.time.Duration;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * The composition root: builds the data plane's object graph once and wires it into an Armeria
 * server. {@link Main} and the tests use the same {@link #configure(ServerBuilder)}.
 */
public final class DataPlane implements AutoCloseable {
  private final DataPlaneSettings settings;
  private final ConfigSource source;
  private final ConfigHolder config;
  private final UsageSink usage;
  private final PrometheusMeterRegistry registry;
  private final ClientFactory clientFactory;
  private final GatewayChain chain;
  private final ObjectMapper mapper;
  private final ClientHangups hangups = new ClientHangups();
  private final @Nullable RedisRateLimiter sharedLimiter;
  private volatile @Nullable Server server;

  private DataPlane(Builder b) {
    this.settings = b.settings;
    this.mapper = new ObjectMapper();
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    GatewayMetrics metrics = new GatewayMetrics(registry);
    this.config = new ConfigHolder(new ProviderTranslators(b.translators));
    this.usage = b.usage != null ? b.usage : new InMemoryUsageSink(10_000);
    // Limits are shared through Redis when AGENTROUTER_REDIS_URL is set, local otherwise.
    this.sharedLimiter =
        b.limiter == null && b.redis != null && b.redis.url() != null
            ? new RedisRateLimiter(b.redis, registry, b.nanoTime)
            : null;
    RateLimiter limiter =
        b.limiter != null
            ? b.limiter
            : sharedLimiter != null ? sharedLimiter : new LocalRateLimiter(b.nanoTime);
    // Budgets are shared through the same Redis as the limits; the local ledger is the fallback.
    BudgetLedger budgets =
        b.budgets != null
            ? b.budgets
            : sharedLimiter != null
                ? new SharedBudgetLedger(
                    sharedLimiter.budgetCounters(),
                    new LocalBudgetLedger(b.clock),
                    sharedLimiter::degraded,
                    requireNonNull(b.redis).failureMode() == RedisLimiterSettings.FailureMode.OPEN,
                    b.clock,
                    registry)
                : new LocalBudgetLedger(b.clock);
    if (usage instanceof MeterBinder binder) {
      binder.bindTo(registry); // the spool's size and drop meters
    }
    this.clientFactory =
        ClientFactory.builder()
            .connectTimeout(settings.upstreamConnectTimeout())
            .idleTimeout(Duration.ofSeconds(60))
            .eventLoopSchedulerFactory(SameEventLoopScheduler::new)
            // The request to the provider is written while the client's channel is read.
            .option(
                ClientFactoryOptions.CHANNEL_PIPELINE_CUSTOMIZER, p -> consolidateFlushes(p, true))
            // SSRF: checked on the address actually connected to, after DNS.
            .ipAddressFilter(b.addressPolicy)
            .build();
    UpstreamClient upstream = new UpstreamClient(clientFactory, mapper);
    CircuitBreakers breakers =
        new CircuitBreakers(
            b.nanoTime, settings.breakerThreshold(), settings.breakerOpenFor(), metrics);
    Router router =
        new Router(
            upstream,
            breakers,
            metrics,
            mapper,
            b.nanoTime,
            b.clock,
            Map.of(
                Endpoint.MESSAGES, new MessagesSurface(mapper),
                Endpoint.COUNT_TOKENS, new CountTokensSurface(),
                Endpoint.RESPONSES, new ResponsesSurface(mapper)),
            hangups);
    this.chain =
        new GatewayChain(
            config,
            limiter,
            usage,
            metrics,
            router,
            mapper,
            settings.maxRequestBytes(),
            settings.dataplaneId(),
            b.clock,
            b.nanoTime,
            settings.accessLog(),
            budgets);
    config.onSwap(
        (RuntimeConfig c) -> {
          limiter.retainOnly(c.keyIds());
          budgets.positions(c.snapshot().budgetPositions());
          Set<String> urls = new HashSet<>();
          c.snapshot().providers().forEach(p -> urls.add(p.baseUrl()));
          upstream.retainOnly(urls);
        });
    this.source = b.source;
    source.start(config);
  }

  /** The translators this build ships, by wire format. The one place providers are wired. */
  public static Map<ProviderType, ProviderTranslator> defaultTranslators() {
    Map<ProviderType, ProviderTranslator> m = new EnumMap<>(ProviderType.class);
    m.put(ProviderType.OPENAI, new OpenAiTranslator());
    m.put(ProviderType.AZURE_OPENAI, new AzureOpenAiTranslator());
    m.put(ProviderType.ANTHROPIC, new AnthropicTranslator());
    m.put(ProviderType.GEMINI, new GeminiTranslator());
    return m;
  }

  public static Builder builder(DataPlaneSettings settings, ConfigSource source) {
    return new Builder(settings, source);
  }

  /** Adds the API and internal routes to {@code sb}. */
  public void configure(ServerBuilder sb) {
    sb.maxRequestLength(settings.maxRequestBytes())
        // Streams may run for minutes; upstream timeouts bound each call instead.
        .requestTimeout(Duration.ZERO)
        // What bounds idle keep-alive connections and requests whose headers never finish.
        .idleTimeout(settings.idleTimeout())
        .gracefulShutdownTimeout(
            settings.shutdownQuietPeriod(),
            settings.shutdownQuietPeriod().plus(Duration.ofSeconds(30)))
        .meterRegistry(registry)
        .errorHandler(new GatewayErrorHandler())
        .childChannelPipelineCustomizer(
            p -> {
              consolidateFlushes(p, false);
              hangups.customize(p);
            });
    sb.route().post("/v1/chat/completions").build(chain.build(Endpoint.CHAT));
    sb.route().post("/v1/embeddings").build(chain.build(Endpoint.EMBEDDINGS));
    sb.route().post("/v1/images/generations").build(chain.build(Endpoint.IMAGES));
    sb.route().get("/v1/models").build(chain.build(Endpoint.MODELS));
    sb.route().post("/v1/messages").build(chain.build(Endpoint.MESSAGES));
    sb.route().post("/v1/messages/count_tokens").build(chain.build(Endpoint.COUNT_TOKENS));
    sb.route().post("/v1/responses").build(chain.build(Endpoint.RESPONSES));
    sb.route()
        .methods(HttpMethod.GET, HttpMethod.HEAD)
        .path("/internal/health")
        .build(InternalServices.health(config, mapper));
    sb.route().get("/internal/metrics").build(InternalServices.metrics(registry));
  }

  /**
   * Armeria holds flushes only while the same channel is being read. The request to the provider is
   * written while the client's channel is read, so its headers and body went out as two system
   * calls; consolidating on the upstream channel also outside reads ({@code whenNoReadInProgress})
   * defers that flush to the end of the current event-loop task: one write per request. On the
   * client's channel it gains nothing (Armeria flushes a response's headers and waits for that
   * write before it takes the body, so they are two writes either way) and only delays the answer
   * by a task, so there it is off.
   */
  static void consolidateFlushes(ChannelPipeline p, boolean whenNoReadInProgress) {
    FlushConsolidationHandler h =
        new FlushConsolidationHandler(
            FlushConsolidationHandler.DEFAULT_EXPLICIT_FLUSH_AFTER_FLUSHES, whenNoReadInProgress);
    if (p.get(FlushConsolidationHandler.class) != null) {
      p.replace(FlushConsolidationHandler.class, null, h);
    } else {
      p.addFirst(h);
    }
  }

  /** Starts a server on {@code settings.httpPort()}. */
  public Server start() {
    ServerBuilder sb = Server.builder().http(settings.httpPort());
    configure(sb);
    Server s = sb.build();
    s.start().join();
    this.server = s;
    return s;
  }

  public ConfigHolder config() {
    return config;
  }

  public UsageSink usage() {
    return usage;
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Requests being served now (0 before {@link #start()}), for heartbeats. */
  public long inFlightRequests() {
    Server s = server;
    return s == null ? 0 : s.config().serverMetrics().activeRequests();
  }

  @Override
  public void close() {
    // Stop taking requests and let in-flight ones finish before the upstream client goes away.
    if (server != null) {
      server.stop().join();
    }
    source.close();
    if (usage instanceof AutoCloseable c) {
      try {
        c.close(); // the spool: write what is queued
      } catch (Exception e) {
        throw new IllegalStateException("usage sink did not close", e);
      }
    }
    clientFactory.closeAsync();
    if (sharedLimiter != null) {
      sharedLimiter.close();
    }
  }

  /** Collaborators with defaults; tests replace the clock, the source or the sink. */
  public static final class Builder {
    private final DataPlaneSettings settings;
    private final ConfigSource source;
    private Clock clock = Clock.systemUTC();
    private LongSupplier nanoTime = System::nanoTime;
    private Map<ProviderType, ProviderTranslator> translators = defaultTranslators();
    private @Nullable UsageSink usage;
    private @Nullable RateLimiter limiter;
    private @Nullable RedisLimiterSettings redis;
    private @Nullable BudgetLedger budgets;
    private UpstreamAddressPolicy addressPolicy = UpstreamAddressPolicy.standalone(false);

    private Builder(DataPlaneSettings settings, ConfigSource source) {
      this.settings = requireNonNull(settings, "settings");
      this.source = requireNonNull(source, "source");
    }

    public Builder clock(Clock clock) {
      this.clock = requireNonNull(clock, "clock");
      return this;
    }

    /** The monotonic clock limits and breakers use. */
    public Builder nanoTime(LongSupplier nanoTime) {
      this.nanoTime = requireNonNull(nanoTime, "nanoTime");
      return this;
    }

    public Builder translators(Map<ProviderType, ProviderTranslator> translators) {
      this.translators = Map.copyOf(requireNonNull(translators, "translators"));
      return this;
    }

    public Builder usageSink(UsageSink usage) {
      this.usage = requireNonNull(usage, "usage");
      return this;
    }

    public Builder rateLimiter(RateLimiter limiter) {
      this.limiter = requireNonNull(limiter, "limiter");
      return this;
    }

    /** Shares limits through Redis when {@code redis.url()} is set; ignored with a limiter. */
    public Builder redis(RedisLimiterSettings redis) {
      this.redis = requireNonNull(redis, "redis");
      return this;
    }

    public Builder budgetLedger(BudgetLedger budgets) {
      this.budgets = requireNonNull(budgets, "budgets");
      return this;
    }

    /** Which addresses upstream connections may reach; default: standalone (loopback allowed). */
    public Builder upstreamAddressPolicy(UpstreamAddressPolicy policy) {
      this.addressPolicy = requireNonNull(policy, "policy");
      return this;
    }

    /** Builds the graph and starts the config source. */
    public DataPlane build() {
      return new DataPlane(this);
    }
  }
}
