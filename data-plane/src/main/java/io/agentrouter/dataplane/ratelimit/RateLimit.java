package io.agentrouter.dataplane.ratelimit;

import static java.util.Objects.requireNonNull;

import com.linecorp.armeria.common.HttpHeaderNames;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.ServiceRequestContext;
import com.linecorp.armeria.server.SimpleDecoratingHttpService;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.common.config.Limits;
import io.agentrouter.dataplane.chain.Exchange;
import io.agentrouter.dataplane.chain.OpenAiErrorResponses;
import io.agentrouter.dataplane.metrics.GatewayMetrics;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * Applies the key's limits before the request goes anywhere, and corrects the token bucket with the
 * real usage when it ends. Refusals are 429 with {@code Retry-After} (seconds), {@code
 * retry-after-ms} and OpenAI's {@code x-ratelimit-*} headers, which admitted requests carry too.
 */
public final class RateLimit extends SimpleDecoratingHttpService {
  private final RateLimiter limiter;
  private final GatewayMetrics metrics;

  private RateLimit(HttpService delegate, RateLimiter limiter, GatewayMetrics metrics) {
    super(delegate);
    this.limiter = limiter;
    this.metrics = metrics;
  }

  public static Function<HttpService, RateLimit> newDecorator(
      RateLimiter limiter, GatewayMetrics metrics) {
    requireNonNull(limiter, "limiter");
    requireNonNull(metrics, "metrics");
    return delegate -> new RateLimit(delegate, limiter, metrics);
  }

  @Override
  public HttpResponse serve(ServiceRequestContext ctx, HttpRequest req) throws Exception {
    Exchange ex = Exchange.of(ctx);
    KeyConfig key = ex.key();
    Limits limits = key.limits();
    if (!ex.endpoint().proxied() || limits.unlimited()) {
      return unwrap().serve(ctx, req);
    }
    long estimate = ex.estimatedTokens();
    CompletionStage<LimitDecision> stage = limiter.acquire(key.keyId(), limits, estimate);
    CompletableFuture<LimitDecision> f = stage.toCompletableFuture();
    if (f.isDone() && !f.isCompletedExceptionally()) {
      return decide(ctx, req, ex, f.join());
    }
    return HttpResponse.of(
        f.handleAsync(
            (d, cause) -> {
              if (cause != null) {
                return OpenAiErrorResponses.of(
                    HttpStatus.SERVICE_UNAVAILABLE,
                    "The rate limiter is unavailable; try again shortly.",
                    OpenAiErrorResponses.SERVER,
                    null,
                    "rate_limiter_unavailable");
              }
              try {
                return decide(ctx, req, ex, d);
              } catch (Exception e) {
                return HttpResponse.ofFailure(e);
              }
            },
            ctx.eventLoop()));
  }

  private HttpResponse decide(
      ServiceRequestContext ctx, HttpRequest req, Exchange ex, LimitDecision d) throws Exception {
    KeyConfig key = ex.key();
    ctx.mutateAdditionalResponseHeaders(h -> addHeaders(h, d));
    if (!d.allowed()) {
      metrics.limiter("denied", d.deniedBy(), key.projectId());
      long seconds = Math.max(1, (d.retryAfterNanos() + 999_999_999L) / 1_000_000_000L);
      return HttpResponse.of(
          OpenAiErrorResponses.headers(HttpStatus.TOO_MANY_REQUESTS)
              .add(HttpHeaderNames.RETRY_AFTER, Long.toString(seconds))
              .add("retry-after-ms", Long.toString(Math.max(1, d.retryAfterNanos() / 1_000_000)))
              .build(),
          com.linecorp.armeria.common.HttpData.wrap(
              OpenAiErrorResponses.body(
                  "Rate limit reached for this key on "
                      + d.deniedBy()
                      + " ("
                      + describe(key.limits(), d.deniedBy())
                      + "). Try again in "
                      + seconds
                      + "s.",
                  "requests",
                  null,
                  OpenAiErrorResponses.RATE_LIMIT)));
    }
    metrics.limiter("allowed", "none", key.projectId());
    long estimate = ex.estimatedTokens();
    ctx.log()
        .whenComplete()
        .thenRun(
            () -> limiter.release(key.keyId(), key.limits(), estimate, ex.usage().totalTokens()));
    return unwrap().serve(ctx, req);
  }

  private static String describe(Limits l, String what) {
    return switch (what) {
      case "requests" -> "limit " + l.requestsPerMinute() + " requests per minute";
      case "tokens" -> "limit " + l.tokensPerMinute() + " tokens per minute";
      default -> "limit " + l.concurrentRequests() + " concurrent requests";
    };
  }

  private static void addHeaders(
      com.linecorp.armeria.common.HttpHeadersBuilder h, LimitDecision d) {
    if (d.limitRequests() > 0) {
      h.set("x-ratelimit-limit-requests", Long.toString(d.limitRequests()));
      h.set("x-ratelimit-remaining-requests", Long.toString(d.remainingRequests()));
      h.set("x-ratelimit-reset-requests", duration(d.resetRequestsNanos()));
    }
    if (d.limitTokens() > 0) {
      h.set("x-ratelimit-limit-tokens", Long.toString(d.limitTokens()));
      h.set("x-ratelimit-remaining-tokens", Long.toString(d.remainingTokens()));
      h.set("x-ratelimit-reset-tokens", duration(d.resetTokensNanos()));
    }
  }

  /** OpenAI's duration style: {@code 120ms}, {@code 1.5s}, {@code 6m0s}. */
  static String duration(long nanos) {
    long ms = (nanos + 999_999) / 1_000_000;
    if (ms < 1000) {
      return ms + "ms";
    }
    if (ms < 60_000) {
      long tenths = (ms + 99) / 100;
      return tenths % 10 == 0 ? (tenths / 10) + "s" : (tenths / 10) + "." + (tenths % 10) + "s";
    }
    long s = (ms + 999) / 1000;
    return (s / 60) + "m" + (s % 60) + "s";
  }
}
