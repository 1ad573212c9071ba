package io.agentrouter.dataplane.chain;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.server.ServiceRequestContext;
import io.agentrouter.common.config.CatalogModel;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.common.usage.UsageOutcome;
import io.agentrouter.dataplane.config.RuntimeConfig;
import io.agentrouter.dataplane.provider.TokenUsage;
import io.netty.util.AttributeKey;
import java.math.BigDecimal;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * What the chain learns about one request as it moves through it: who is calling, which snapshot
 * serves it, the parsed body, the resolved route, and what happened upstream. Each stage fills in
 * its part; the usage meter reads it all when the request ends.
 *
 * <p>Confined to one request and (apart from the final read) to its event loop, so fields are
 * plain: there is no sharing between requests.
 */
public final class Exchange {
  private static final AttributeKey<Exchange> KEY =
      AttributeKey.valueOf(Exchange.class, "EXCHANGE");

  private final String requestId;
  private final Endpoint endpoint;
  private final long startNanos;
  private final Instant startedAt;

  private @Nullable RuntimeConfig config;
  private @Nullable KeyConfig key;
  private long authzNanos;
  private @Nullable ObjectNode body;
  private boolean stream;
  private boolean clientWantsUsage;
  private long estimatedTokens;
  private @Nullable String modelRequested;
  private @Nullable Object route;
  private long routeNanos;
  private @Nullable String provider;
  private @Nullable CatalogModel modelServed;
  private int attempts;
  private long upstreamNanos;
  private long firstTokenNanos = -1;
  private @Nullable ErrorClass errorClass;
  private @Nullable UsageOutcome outcome;
  private TokenUsage usage = TokenUsage.ZERO;
  private long images;
  private BigDecimal costUsd = BigDecimal.ZERO;

  private Exchange(String requestId, Endpoint endpoint, long startNanos, Instant startedAt) {
    this.requestId = requestId;
    this.endpoint = endpoint;
    this.startNanos = startNanos;
    this.startedAt = startedAt;
  }

  /** Starts the exchange of {@code ctx}; called once, by the outermost stage. */
  public static Exchange start(
      ServiceRequestContext ctx,
      String requestId,
      Endpoint endpoint,
      long startNanos,
      Instant startedAt) {
    Exchange ex = new Exchange(requestId, endpoint, startNanos, startedAt);
    ctx.setAttr(KEY, ex);
    return ex;
  }

  /** The exchange of {@code ctx}; every stage after the first may rely on it. */
  public static Exchange of(ServiceRequestContext ctx) {
    return requireNonNull(ctx.attr(KEY), "exchange (expected: started by the request-id stage)");
  }

  public static @Nullable Exchange find(ServiceRequestContext ctx) {
    return ctx.attr(KEY);
  }

  public String requestId() {
    return requestId;
  }

  public Endpoint endpoint() {
    return endpoint;
  }

  public long startNanos() {
    return startNanos;
  }

  public Instant startedAt() {
    return startedAt;
  }

  /** The snapshot pinned for this request at authentication. */
  public RuntimeConfig config() {
    return requireNonNull(config, "config (expected: set by ext-authz)");
  }

  public void authenticated(RuntimeConfig config, KeyConfig key, long authzNanos) {
    this.config = config;
    this.key = key;
    this.authzNanos = authzNanos;
  }

  public @Nullable KeyConfig keyOrNull() {
    return key;
  }

  public KeyConfig key() {
    return requireNonNull(key, "key (expected: set by ext-authz)");
  }

  public long authzNanos() {
    return authzNanos;
  }

  public void body(ObjectNode body, boolean stream, boolean clientWantsUsage, long estimate) {
    this.body = body;
    this.stream = stream;
    this.clientWantsUsage = clientWantsUsage;
    this.estimatedTokens = estimate;
  }

  public ObjectNode body() {
    return requireNonNull(body, "body (expected: parsed by the body stage)");
  }

  public boolean stream() {
    return stream;
  }

  public boolean clientWantsUsage() {
    return clientWantsUsage;
  }

  public long estimatedTokens() {
    return estimatedTokens;
  }

  public @Nullable String modelRequested() {
    return modelRequested;
  }

  /** Records the resolution: the name asked for and the route (a {@code route} package type). */
  public void resolved(String modelRequested, Object route, long routeNanos) {
    this.modelRequested = modelRequested;
    this.route = route;
    this.routeNanos = routeNanos;
  }

  public void modelRequested(String modelRequested) {
    this.modelRequested = modelRequested;
  }

  public <T> T route(Class<T> type) {
    return type.cast(requireNonNull(route, "route (expected: set by model resolution)"));
  }

  public long routeNanos() {
    return routeNanos;
  }

  public void addRouteNanos(long nanos) {
    routeNanos += nanos;
  }

  public @Nullable String provider() {
    return provider;
  }

  public @Nullable CatalogModel modelServed() {
    return modelServed;
  }

  /** Notes an upstream attempt to {@code model}. */
  public void attempt(CatalogModel model) {
    attempts++;
    this.provider = model.provider();
    this.modelServed = model;
  }

  public int attempts() {
    return attempts;
  }

  public void addUpstreamNanos(long nanos) {
    upstreamNanos += nanos;
  }

  public long upstreamNanos() {
    return upstreamNanos;
  }

  public void firstToken(long nanos) {
    if (firstTokenNanos < 0) {
      firstTokenNanos = nanos;
    }
  }

  /** Arrival to first content, or -1. */
  public long firstTokenNanos() {
    return firstTokenNanos;
  }

  public @Nullable ErrorClass errorClass() {
    return errorClass;
  }

  public void finished(UsageOutcome outcome, @Nullable ErrorClass errorClass) {
    if (this.outcome == null) {
      this.outcome = outcome;
      this.errorClass = errorClass;
    }
  }

  public @Nullable UsageOutcome outcome() {
    return outcome;
  }

  public TokenUsage usage() {
    return usage;
  }

  public void usage(TokenUsage usage, long images, BigDecimal costUsd) {
    this.usage = usage;
    this.images = images;
    this.costUsd = costUsd;
  }

  public long images() {
    return images;
  }

  public BigDecimal costUsd() {
    return costUsd;
  }
}
