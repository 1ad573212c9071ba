package io.agentrouter.dataplane.usage;

import static java.util.Objects.requireNonNull;

import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.logging.RequestLog;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.ServiceRequestContext;
import com.linecorp.armeria.server.SimpleDecoratingHttpService;
import io.agentrouter.common.config.CatalogModel;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.common.usage.UsageOutcome;
import io.agentrouter.common.usage.UsageRecord;
import io.agentrouter.dataplane.chain.Exchange;
import io.agentrouter.dataplane.metrics.GatewayMetrics;
import io.agentrouter.dataplane.provider.TokenUsage;
import io.netty.util.AsciiString;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Emits exactly one {@link UsageRecord} per authenticated API request when it has finished,
 * whatever the ending: success, error (limits and resolution included), client abort, or a stream
 * cut after content. Also feeds the request, token and cost metrics.
 */
public final class UsageMeter extends SimpleDecoratingHttpService {
  private static final String META_PREFIX = "x-agentrouter-meta-";
  private static final int MAX_META = 16;

  private final UsageSink sink;
  private final GatewayMetrics metrics;
  private final LongSupplier nanoTime;
  private final @Nullable String defaultDataplaneId;

  private UsageMeter(
      HttpService delegate,
      UsageSink sink,
      GatewayMetrics metrics,
      LongSupplier nanoTime,
      @Nullable String defaultDataplaneId) {
    super(delegate);
    this.sink = sink;
    this.metrics = metrics;
    this.nanoTime = nanoTime;
    this.defaultDataplaneId = defaultDataplaneId;
  }

  public static Function<HttpService, UsageMeter> newDecorator(
      UsageSink sink,
      GatewayMetrics metrics,
      LongSupplier nanoTime,
      @Nullable String defaultDataplaneId) {
    requireNonNull(sink, "sink");
    requireNonNull(metrics, "metrics");
    requireNonNull(nanoTime, "nanoTime");
    return delegate -> new UsageMeter(delegate, sink, metrics, nanoTime, defaultDataplaneId);
  }

  @Override
  public HttpResponse serve(ServiceRequestContext ctx, HttpRequest req) throws Exception {
    Exchange ex = Exchange.of(ctx);
    if (!ex.endpoint().proxied()) {
      return unwrap().serve(ctx, req);
    }
    Map<String, String> meta = metadata(req);
    String idempotencyKey = req.headers().get("idempotency-key");
    // On the event loop, after the router has noted how the exchange ended.
    ctx.log()
        .whenComplete()
        .thenAcceptAsync(log -> finish(ex, log, meta, idempotencyKey), ctx.eventLoop());
    return unwrap().serve(ctx, req);
  }

  private void finish(
      Exchange ex, RequestLog log, Map<String, String> meta, @Nullable String idempotencyKey) {
    KeyConfig key = ex.key();
    int status = log.responseHeaders().status().code();
    UsageOutcome outcome = ex.outcome();
    if (outcome == null) {
      // Decided before the router: a limit, a bad request, an unknown model; or the client left.
      outcome =
          log.responseCause() != null
              ? UsageOutcome.CLIENT_ABORT
              : status < 400 ? UsageOutcome.SUCCESS : UsageOutcome.ERROR;
    }
    long total = nanoTime.getAsLong() - ex.startNanos();
    CatalogModel served = ex.modelServed();
    TokenUsage u = ex.usage();
    String dataplane = ex.config().dataplaneId();
    UsageRecord record =
        new UsageRecord(
            ex.requestId(),
            key.customerId(),
            key.projectId(),
            key.keyId().toString(),
            ex.endpoint().wireName(),
            ex.modelRequested(),
            served == null ? null : served.id(),
            ex.provider(),
            dataplane == null ? defaultDataplaneId : dataplane,
            status,
            outcome,
            ex.errorClass() == null ? null : ex.errorClass().wireName(),
            ex.stream(),
            ex.attempts(),
            ex.startedAt(),
            total / 1_000_000,
            ex.upstreamNanos() / 1_000_000,
            ex.firstTokenNanos() < 0 ? null : ex.firstTokenNanos() / 1_000_000,
            u.promptTokens(),
            u.completionTokens(),
            u.cachedTokens(),
            ex.costUsd(),
            idempotencyKey,
            meta,
            u.cacheWriteTokens());
    sink.accept(record);
    String provider = ex.provider() == null ? "none" : ex.provider();
    String model = served == null ? "none" : served.model();
    metrics.request(
        ex.endpoint().wireName(),
        provider,
        model,
        key.projectId(),
        status,
        outcome.wireName(),
        total);
    if (served != null) {
      metrics.served(
          provider,
          model,
          key.projectId(),
          u.promptTokens(),
          u.completionTokens(),
          u.cachedTokens(),
          ex.costUsd().doubleValue(),
          ex.upstreamNanos(),
          ex.firstTokenNanos());
    }
  }

  private static Map<String, String> metadata(HttpRequest req) {
    Map<String, String> meta = null;
    for (Map.Entry<AsciiString, String> h : req.headers()) {
      AsciiString name = h.getKey();
      if (name.length() > META_PREFIX.length() && name.startsWith(META_PREFIX)) {
        if (meta == null) {
          meta = new HashMap<>();
        }
        if (meta.size() < MAX_META) {
          String value = h.getValue();
          meta.put(
              name.toString().substring(META_PREFIX.length()),
              value.length() > 256 ? value.substring(0, 256) : value);
        }
      }
    }
    return meta == null ? Map.of() : meta;
  }
}
