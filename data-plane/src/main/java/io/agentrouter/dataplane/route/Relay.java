package io.agentrouter.dataplane.route;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.client.ResponseTimeoutException;
import com.linecorp.armeria.client.UnprocessedRequestException;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpHeaderNames;
import com.linecorp.armeria.common.HttpHeaders;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpResponseWriter;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.ResponseHeaders;
import com.linecorp.armeria.common.ResponseHeadersBuilder;
import com.linecorp.armeria.common.SplitHttpResponse;
import com.linecorp.armeria.common.util.Exceptions;
import com.linecorp.armeria.server.ServiceRequestContext;
import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.common.usage.UsageOutcome;
import io.agentrouter.dataplane.chain.ClientSurface;
import io.agentrouter.dataplane.chain.Endpoint;
import io.agentrouter.dataplane.chain.Exchange;
import io.agentrouter.dataplane.chain.OpenAiErrorResponses;
import io.agentrouter.dataplane.config.Route;
import io.agentrouter.dataplane.config.Target;
import io.agentrouter.dataplane.provider.ChatContext;
import io.agentrouter.dataplane.provider.ProviderError;
import io.agentrouter.dataplane.provider.ProviderTranslator;
import io.agentrouter.dataplane.provider.StreamTranslator;
import io.agentrouter.dataplane.provider.TokenUsage;
import io.agentrouter.dataplane.provider.UpstreamCall;
import io.agentrouter.dataplane.upstream.SseParser;
import io.netty.util.AsciiString;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/**
 * One request's way through its targets. Runs on the request's event loop only. Every attempt gets
 * a generation number; a callback from an abandoned attempt (timed out, fallen back, client gone)
 * sees a stale generation and does nothing.
 *
 * <pre>
 *  attempt ──► upstream answer ──► 2xx, not streamed ──► translate ──► respond (done)
 *     ▲              │            ──► 2xx, stream ──► buffer chunks until first content ──► commit
 *     │              │                                   │ (failure before commit)        │
 *     └── fallback ◄─┴── error class in fallback_on ◄────┘                 failure after commit:
 *                                                                          error event (done)
 * </pre>
 */
final class Relay {
  private static final long MAX_RESPONSE_BYTES = 64L * 1024 * 1024;
  private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] END = "\n\n".getBytes(StandardCharsets.US_ASCII);
  private static final HttpData DONE = HttpData.ofAscii("data: [DONE]\n\n");
  private static final MediaType EVENT_STREAM = MediaType.parse("text/event-stream; charset=utf-8");
  // Header names built once, not converted from a String on every add.
  private static final AsciiString PROVIDER = HttpHeaderNames.of("x-agentrouter-provider");
  private static final AsciiString ESTIMATED_COST =
      HttpHeaderNames.of("x-agentrouter-estimated-cost-usd");
  private static final AsciiString TIMING_TOTAL =
      HttpHeaderNames.of("x-agentrouter-timing-total-ms");
  private static final AsciiString TIMING_AUTHZ =
      HttpHeaderNames.of("x-agentrouter-timing-authz-ms");
  private static final AsciiString TIMING_ROUTE =
      HttpHeaderNames.of("x-agentrouter-timing-route-ms");
  private static final AsciiString TIMING_UPSTREAM =
      HttpHeaderNames.of("x-agentrouter-timing-upstream-ms");
  private static final AsciiString TIMING_OVERHEAD =
      HttpHeaderNames.of("x-agentrouter-timing-overhead-ms");

  private final Router r;
  private final ServiceRequestContext ctx;
  private final Exchange ex;
  private final Route route;
  private final List<Target> plan;
  private final HttpResponseWriter res;

  /** The client's wire format when it is not chat completions; null for the OpenAI endpoints. */
  private final @Nullable ClientSurface surface;

  private int next;
  private int gen;
  private boolean done;
  private boolean committed;
  private @Nullable ProviderError lastError;
  private @Nullable Target lastTarget;
  private @Nullable HttpResponse upstream;
  private @Nullable Subscription subscription;
  private @Nullable ScheduledFuture<?> timer;
  private long attemptStart;
  private @Nullable StreamTranslator st;
  private @Nullable SseParser parser;
  private final List<ObjectNode> pending = new ArrayList<>(2);
  private boolean sawFinish;

  /**
   * Content pieces the current attempt's stream carried: what a stream that ends early is metered
   * with when the provider never reported its usage (OpenAI reports it in the last chunk only).
   */
  private long contentPieces;

  /** When a committed stream's provider counts as silent ({@link System#nanoTime}); 0: paused. */
  private long idleDeadline;

  Relay(
      Router r,
      ServiceRequestContext ctx,
      Exchange ex,
      Route route,
      List<Target> plan,
      HttpResponseWriter res) {
    this.r = r;
    this.ctx = ctx;
    this.ex = ex;
    this.route = route;
    this.plan = plan;
    this.res = res;
    this.surface = r.surfaces.get(ex.endpoint());
  }

  void start() {
    // An HTTP/1 client that closes its connection is gone now, not when Armeria notices.
    r.hangups.watch(
        ctx,
        () -> {
          if (!done) {
            clientGone();
            res.abort();
          }
        });
    res.whenComplete()
        .handle(
            (v, cause) -> {
              r.hangups.forget(ctx);
              if (cause != null) {
                if (ctx.eventLoop().inEventLoop()) {
                  clientGone();
                } else {
                  ctx.eventLoop().execute(this::clientGone);
                }
              }
              return null;
            });
    nextAttempt();
  }

  // ---- attempts ----

  private void nextAttempt() {
    Target t = null;
    while (next < plan.size()) {
      Target c = plan.get(next++);
      if (r.breakers.allow(c)) {
        t = c;
        break;
      }
    }
    if (t == null) {
      failNoTarget();
      return;
    }
    int g = ++gen;
    Target target = t;
    ex.attempt(t.model());
    lastTarget = t;
    ProviderTranslator translator = t.upstream().translator();
    String clientModel = ex.modelRequested() == null ? t.model().model() : ex.modelRequested();
    ChatContext cc =
        new ChatContext(
            ex.requestId(),
            t.upstream().target(),
            t.model().upstreamModel(),
            clientModel,
            r.clock.instant().getEpochSecond());
    UpstreamCall call;
    try {
      call =
          surface != null
              ? surface.request(cc, translator, ex.body(), ctx.request().headers())
              : switch (ex.endpoint()) {
                case CHAT -> translator.chatRequest(cc, ex.body());
                case EMBEDDINGS -> translator.embeddingsRequest(cc, ex.body());
                case IMAGES -> translator.imagesRequest(cc, ex.body());
                default ->
                    throw new IllegalStateException(ex.endpoint() + " has no client surface");
              };
    } catch (RuntimeException e) {
      // The translator cannot express this request for the provider: the request's fault.
      fail(new ProviderError(ErrorClass.BAD_REQUEST, 400, String.valueOf(e.getMessage()), null));
      return;
    }
    attemptStart = r.nanoTime.getAsLong();
    var pc = t.upstream().config();
    if (call.stream()) {
      HttpResponse up = r.client.execute(t.upstream().target(), call, 0, 0);
      upstream = up;
      st = surface != null ? surface.stream(cc, translator) : translator.chatStream(cc);
      parser = new SseParser();
      pending.clear();
      sawFinish = false;
      contentPieces = 0;
      timer =
          ctx.eventLoop()
              .schedule(
                  () ->
                      attemptFailed(
                          g,
                          target,
                          new ProviderError(
                              ErrorClass.TIMEOUT,
                              0,
                              "no content from the provider within "
                                  + pc.firstTokenTimeout().toMillis()
                                  + " ms",
                              null)),
                  pc.firstTokenTimeout().toMillis(),
                  TimeUnit.MILLISECONDS);
      SplitHttpResponse split = up.split();
      onLoop(split.headers(), (h, cause) -> onStreamHeaders(g, target, split, h, cause));
    } else {
      HttpResponse up =
          r.client.execute(
              t.upstream().target(), call, pc.timeout().toMillis(), MAX_RESPONSE_BYTES);
      upstream = up;
      onLoop(up.aggregate(), (agg, cause) -> onAggregated(g, target, cc, agg, cause));
    }
  }

  private void onAggregated(
      int g,
      Target t,
      ChatContext cc,
      @Nullable AggregatedHttpResponse agg,
      @Nullable Throwable cause) {
    if (g != gen || done) {
      return;
    }
    ex.addUpstreamNanos(r.nanoTime.getAsLong() - attemptStart);
    if (cause != null || agg == null) {
      attemptFailed(g, t, classify(cause, t));
      return;
    }
    int status = agg.status().code();
    ProviderTranslator translator = t.upstream().translator();
    if (isRedirect(status)) {
      attemptFailed(g, t, redirected(status, t));
      return;
    }
    if (status >= 400) {
      attemptFailed(
          g, t, withRetryAfter(translator.error(status, agg.contentUtf8()), agg.headers()));
      return;
    }
    ObjectNode out;
    JsonNode parsed;
    try {
      parsed = r.mapper.readTree(agg.content().array());
      if (parsed == null || parsed.isMissingNode()) {
        throw new IllegalArgumentException("empty body");
      }
      out =
          surface != null
              ? surface.response(cc, translator, parsed)
              : switch (ex.endpoint()) {
                case CHAT -> translator.chatResponse(cc, parsed);
                case EMBEDDINGS -> translator.embeddingsResponse(cc, parsed);
                case IMAGES -> translator.imagesResponse(cc, parsed);
                default ->
                    throw new IllegalStateException(ex.endpoint() + " has no client surface");
              };
    } catch (IOException | RuntimeException e) {
      attemptFailed(
          g,
          t,
          new ProviderError(
              ErrorClass.SERVER, status, "the provider sent a malformed answer", null));
      return;
    }
    done = true;
    r.breakers.success(t);
    r.metrics.attempt(t.model().provider(), t.model().model(), "ok");
    long images = ex.endpoint() == Endpoint.IMAGES ? out.path("data").size() : 0;
    TokenUsage u = surface != null ? surface.usage(out) : Usages.of(out);
    BigDecimal cost = Usages.cost(t.model(), u, images);
    ex.usage(u, images, cost);
    HttpData body;
    if (out == parsed) {
      body = agg.content();
    } else {
      try {
        body = HttpData.wrap(r.mapper.writeValueAsBytes(out));
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
    // With its length known, the answer goes out with content-length, not chunked.
    ResponseHeadersBuilder h =
        ResponseHeaders.builder(HttpStatus.OK)
            .contentType(MediaType.JSON_UTF_8)
            .contentLength(body.length());
    h.add(PROVIDER, t.model().provider());
    h.add(ESTIMATED_COST, cost.toPlainString());
    timing(h);
    ex.finished(UsageOutcome.SUCCESS, null);
    res.tryWrite(h.build());
    res.tryWrite(body);
    res.close();
  }

  private void onStreamHeaders(
      int g,
      Target t,
      SplitHttpResponse split,
      @Nullable ResponseHeaders h,
      @Nullable Throwable cause) {
    if (g != gen || done) {
      split.body().abort();
      return;
    }
    if (cause != null || h == null) {
      ex.addUpstreamNanos(r.nanoTime.getAsLong() - attemptStart);
      attemptFailed(g, t, classify(cause, t));
      return;
    }
    int status = h.status().code();
    if (isRedirect(status)) {
      split.body().abort();
      ex.addUpstreamNanos(r.nanoTime.getAsLong() - attemptStart);
      attemptFailed(g, t, redirected(status, t));
      return;
    }
    if (status >= 400) {
      split
          .body()
          .collect()
          .handleAsync(
              (parts, c) -> {
                if (g != gen || done) {
                  return null;
                }
                ex.addUpstreamNanos(r.nanoTime.getAsLong() - attemptStart);
                StringBuilder sb = new StringBuilder();
                if (parts != null) {
                  parts.forEach(p -> sb.append(p.toStringUtf8()));
                }
                attemptFailed(
                    g,
                    t,
                    withRetryAfter(t.upstream().translator().error(status, sb.toString()), h));
                return null;
              },
              ctx.eventLoop());
      return;
    }
    split.body().subscribe(new Body(g, t), ctx.eventLoop());
  }

  /** Reads one upstream stream, one piece at a time. */
  private final class Body implements Subscriber<HttpData> {
    private final int g;
    private final Target t;

    Body(int g, Target t) {
      this.g = g;
      this.t = t;
    }

    @Override
    public void onSubscribe(Subscription s) {
      if (g != gen || done) {
        s.cancel();
        return;
      }
      subscription = s;
      s.request(1);
    }

    @Override
    public void onNext(HttpData data) {
      if (g != gen || done) {
        return;
      }
      if (committed) {
        armIdle(g, t);
      }
      byte[] bytes = data.array();
      parser.feed(bytes, 0, bytes.length, (event, payload) -> onEvent(g, t, event, payload));
      if (g != gen || done || subscription == null) {
        return;
      }
      if (!committed) {
        subscription.request(1);
        return;
      }
      // Backpressure: the next piece is read from the provider only once the client has taken
      // what was written, so a client that reads slowly (or not at all) holds the provider's
      // stream in the sockets' buffers instead of in this heap. While the wait is on the client,
      // the provider's silence timer is off; the server's idle timeout bounds a client that
      // never reads.
      pauseIdle();
      res.whenConsumed()
          .handleAsync(
              (unused, cause) -> {
                if (cause == null && g == gen && !done && subscription != null) {
                  armIdle(g, t);
                  subscription.request(1);
                }
                return null;
              },
              ctx.eventLoop());
    }

    @Override
    public void onError(Throwable cause) {
      if (g != gen || done) {
        return;
      }
      streamBroken(g, t, classify(cause, t));
    }

    @Override
    public void onComplete() {
      if (g != gen || done) {
        return;
      }
      if (committed ? sawFinish : sawFinish && !parser.hasPartialEvent()) {
        streamFinished(t);
      } else {
        streamBroken(
            g,
            t,
            new ProviderError(
                ErrorClass.CONNECT,
                0,
                committed
                    ? "the provider's stream ended before the completion was finished"
                    : "the provider's stream ended before any content",
                null));
      }
    }
  }

  private void onEvent(int g, Target t, @Nullable String event, String data) {
    if (g != gen || done) {
      return;
    }
    StreamTranslator translator = st;
    List<ObjectNode> chunks = translator.onEvent(event, data);
    for (ObjectNode chunk : chunks) {
      contentPieces += surface != null ? (surface.isContent(chunk) ? 1 : 0) : contentPieces(chunk);
      if (surface == null && !ex.clientWantsUsage() && isUsageOnly(chunk)) {
        continue;
      }
      if (surface != null ? surface.isFinish(chunk) : hasFinish(chunk)) {
        sawFinish = true;
      }
      if (committed) {
        writeChunk(chunk);
      } else {
        pending.add(chunk);
        if (surface != null ? surface.isContent(chunk) : isContent(chunk)) {
          commit(t);
        }
      }
    }
    ProviderError err = translator.error();
    if (err != null) {
      streamBroken(g, t, err);
    } else if (translator.finished()) {
      streamFinished(t);
    }
  }

  private void commit(Target t) {
    cancelTimer();
    committed = true;
    armIdle(gen, t);
    long now = r.nanoTime.getAsLong();
    ex.firstToken(now - ex.startNanos());
    r.breakers.success(t);
    r.metrics.attempt(t.model().provider(), t.model().model(), "ok");
    ResponseHeadersBuilder h = ResponseHeaders.builder(HttpStatus.OK).contentType(EVENT_STREAM);
    h.add(HttpHeaderNames.CACHE_CONTROL, "no-cache");
    h.add(PROVIDER, t.model().provider());
    timing(h, now - attemptStart);
    res.tryWrite(h.build());
    for (ObjectNode c : pending) {
      writeChunk(c);
    }
    pending.clear();
  }

  /**
   * After the first content, a provider that goes silent for as long as it was allowed to take for
   * the first token ends the stream with an error event rather than holding the client.
   *
   * <p>Called for every piece of a stream, so it only moves a deadline: one timer stays scheduled
   * and, when it fires early, schedules itself again for the rest (instead of a cancel and a new
   * timer per piece).
   */
  private void armIdle(int g, Target t) {
    long idle = t.upstream().config().firstTokenTimeout().toNanos();
    idleDeadline = System.nanoTime() + idle;
    if (timer == null) {
      scheduleIdle(g, t, idle);
    }
  }

  /** Stops the silence clock while the wait is on the client, not the provider. */
  private void pauseIdle() {
    idleDeadline = 0;
  }

  private void scheduleIdle(int g, Target t, long delayNanos) {
    timer =
        ctx.eventLoop()
            .schedule(
                () -> {
                  timer = null;
                  if (g != gen || done || idleDeadline == 0) {
                    return;
                  }
                  long left = idleDeadline - System.nanoTime();
                  if (left > 0) {
                    scheduleIdle(g, t, left);
                    return;
                  }
                  streamBroken(
                      g,
                      t,
                      new ProviderError(
                          ErrorClass.TIMEOUT,
                          0,
                          "the provider sent nothing for "
                              + t.upstream().config().firstTokenTimeout().toMillis()
                              + " ms",
                          null));
                },
                delayNanos,
                TimeUnit.NANOSECONDS);
  }

  private void writeChunk(ObjectNode chunk) {
    if (surface != null) {
      res.tryWrite(surface.frame(chunk));
      return;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try {
      out.write(DATA);
      r.mapper.writeValue(out, chunk);
      out.write(END);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    res.tryWrite(HttpData.wrap(out.toByteArray()));
  }

  private void streamFinished(Target t) {
    if (!committed) {
      commit(t);
    }
    done = true;
    cancelTimer();
    cancelSubscription();
    ex.addUpstreamNanos(r.nanoTime.getAsLong() - attemptStart);
    meterStream(t, true);
    ex.finished(UsageOutcome.SUCCESS, null);
    if (surface == null) {
      res.tryWrite(DONE);
    }
    res.close();
  }

  private void streamBroken(int g, Target t, ProviderError err) {
    if (!committed) {
      ex.addUpstreamNanos(r.nanoTime.getAsLong() - attemptStart);
      attemptFailed(g, t, err);
      return;
    }
    // Content has reached the client: say so explicitly instead of ending as if complete.
    done = true;
    cancelTimer();
    cancelSubscription();
    abortUpstream();
    ex.addUpstreamNanos(r.nanoTime.getAsLong() - attemptStart);
    r.breakers.failure(t, err.errorClass(), err.retryAfterSeconds());
    r.metrics.attempt(t.model().provider(), t.model().model(), err.errorClass().wireName());
    meterStream(t, false);
    ex.finished(UsageOutcome.CUT_STREAM, err.errorClass());
    ClientError ce = ClientError.of(err, t);
    if (surface != null) {
      res.tryWrite(surface.streamError("The response was interrupted: " + ce.message()));
      res.close();
      return;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try {
      out.write(DATA);
      out.write(
          OpenAiErrorResponses.body(
              "The response was interrupted: " + ce.message(), ce.type(), null, ce.code()));
      out.write(END);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    res.tryWrite(HttpData.wrap(out.toByteArray()));
    res.close();
  }

  /**
   * Meters the stream of the last attempt. A stream that ended early (client gone, provider broke
   * off) was billed by the provider for what it generated, but OpenAI-style providers report usage
   * only in their last chunk and others report partial counts: the completion is then at least the
   * content pieces received, one token each, as providers stream them.
   */
  private void meterStream(Target t, boolean complete) {
    StreamTranslator translator = st;
    TokenUsage u = translator == null ? TokenUsage.ZERO : translator.usage();
    if (!complete && contentPieces > u.completionTokens()) {
      u = new TokenUsage(u.promptTokens(), contentPieces, u.cachedTokens(), u.cacheWriteTokens());
    }
    ex.usage(u, 0, Usages.cost(t.model(), u, 0));
  }

  private void attemptFailed(int g, Target t, ProviderError err) {
    if (g != gen || done) {
      return;
    }
    gen++;
    cancelTimer();
    cancelSubscription();
    abortUpstream();
    r.breakers.failure(t, err.errorClass(), err.retryAfterSeconds());
    r.metrics.attempt(t.model().provider(), t.model().model(), err.errorClass().wireName());
    lastError = err;
    lastTarget = t;
    if (route.fallbackOn().contains(err.errorClass())) {
      nextAttempt();
    } else {
      fail(err);
    }
  }

  private void failNoTarget() {
    if (lastError != null) {
      fail(lastError);
      return;
    }
    long wait = Long.MAX_VALUE;
    for (Target t : plan) {
      wait = Math.min(wait, r.breakers.nanosUntilAvailable(t));
    }
    long seconds = Math.max(1, (wait + 999_999_999L) / 1_000_000_000L);
    fail(
        new ProviderError(
            ErrorClass.OVERLOADED,
            0,
            "every provider for '" + route.name() + "' is unavailable right now",
            seconds));
  }

  private void fail(ProviderError err) {
    done = true;
    gen++;
    cancelTimer();
    ex.finished(UsageOutcome.ERROR, err.errorClass());
    ClientError ce = ClientError.of(err, lastTarget);
    ResponseHeadersBuilder h = OpenAiErrorResponses.headers(HttpStatus.valueOf(ce.status()));
    if (err.retryAfterSeconds() != null) {
      h.add(HttpHeaderNames.RETRY_AFTER, Long.toString(err.retryAfterSeconds()));
    }
    if (lastTarget != null) {
      h.add(PROVIDER, lastTarget.model().provider());
    }
    h.add("x-agentrouter-error-class", err.errorClass().wireName());
    timing(h);
    byte[] body = OpenAiErrorResponses.body(ce.message(), ce.type(), null, ce.code());
    res.tryWrite(h.contentLength(body.length).build());
    res.tryWrite(HttpData.wrap(body));
    res.close();
  }

  private void clientGone() {
    if (done) {
      return;
    }
    done = true;
    gen++;
    cancelTimer();
    cancelSubscription();
    abortUpstream();
    if (attemptStart != 0) {
      ex.addUpstreamNanos(r.nanoTime.getAsLong() - attemptStart);
    }
    if (lastTarget != null && st != null) {
      meterStream(lastTarget, false);
    }
    ex.finished(UsageOutcome.CLIENT_ABORT, null);
  }

  // ---- helpers ----

  /**
   * Runs {@code then} on the request's event loop: directly when the future completes there (the
   * usual case, since upstream calls share the loop), else by hopping to it.
   */
  private <T> void onLoop(
      java.util.concurrent.CompletableFuture<T> f,
      java.util.function.BiConsumer<@Nullable T, @Nullable Throwable> then) {
    f.handle(
        (v, cause) -> {
          if (ctx.eventLoop().inEventLoop()) {
            then.accept(v, cause);
          } else {
            ctx.eventLoop().execute(() -> then.accept(v, cause));
          }
          return null;
        });
  }

  private void cancelTimer() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  private void cancelSubscription() {
    if (subscription != null) {
      subscription.cancel();
      subscription = null;
    }
  }

  private void abortUpstream() {
    if (upstream != null) {
      upstream.abort();
      upstream = null;
    }
  }

  private void timing(ResponseHeadersBuilder h) {
    timing(h, ex.upstreamNanos());
  }

  private void timing(ResponseHeadersBuilder h, long upstreamNanos) {
    long total = r.nanoTime.getAsLong() - ex.startNanos();
    h.add(TIMING_TOTAL, millis(total));
    h.add(TIMING_AUTHZ, millis(ex.authzNanos()));
    h.add(TIMING_ROUTE, millis(ex.routeNanos()));
    h.add(TIMING_UPSTREAM, millis(upstreamNanos));
    h.add(TIMING_OVERHEAD, millis(Math.max(0, total - upstreamNanos)));
  }

  /** Milliseconds with microsecond precision, e.g. {@code 12.034}. */
  static String millis(long nanos) {
    long micros = Math.max(0, nanos / 1000);
    long frac = micros % 1000;
    StringBuilder sb = new StringBuilder(12).append(micros / 1000).append('.');
    if (frac < 100) {
      sb.append('0');
    }
    if (frac < 10) {
      sb.append('0');
    }
    return sb.append(frac).toString();
  }

  static boolean isContent(ObjectNode chunk) {
    JsonNode choices = chunk.get("choices");
    if (choices == null || !choices.isArray()) {
      return false;
    }
    for (JsonNode c : choices) {
      JsonNode d = c.get("delta");
      if (d != null) {
        JsonNode content = d.get("content");
        if (content != null && content.isTextual() && !content.asText().isEmpty()) {
          return true;
        }
        if (d.hasNonNull("tool_calls")
            || d.hasNonNull("function_call")
            || d.hasNonNull("refusal")) {
          return true;
        }
      }
      if (c.hasNonNull("finish_reason")) {
        return true;
      }
    }
    return false;
  }

  /** Choices of {@code chunk} that carry generated content (text, tool call, refusal). */
  static int contentPieces(ObjectNode chunk) {
    JsonNode choices = chunk.get("choices");
    if (choices == null || !choices.isArray()) {
      return 0;
    }
    int n = 0;
    for (JsonNode c : choices) {
      JsonNode d = c.get("delta");
      if (d == null) {
        continue;
      }
      JsonNode content = d.get("content");
      if ((content != null && content.isTextual() && !content.asText().isEmpty())
          || d.hasNonNull("tool_calls")
          || d.hasNonNull("function_call")
          || (d.hasNonNull("refusal") && !d.get("refusal").asText().isEmpty())) {
        n++;
      }
    }
    return n;
  }

  static boolean hasFinish(ObjectNode chunk) {
    for (JsonNode c : chunk.path("choices")) {
      if (c.hasNonNull("finish_reason")) {
        return true;
      }
    }
    return false;
  }

  static boolean isUsageOnly(ObjectNode chunk) {
    JsonNode choices = chunk.get("choices");
    return choices != null && choices.isArray() && choices.isEmpty() && chunk.hasNonNull("usage");
  }

  private static boolean isRedirect(int status) {
    return status >= 300 && status < 400;
  }

  /**
   * Upstream redirects are never followed (the target could be an internal address) and are not an
   * answer either: the attempt failed. The location is not repeated to the client.
   */
  private static ProviderError redirected(int status, Target t) {
    return new ProviderError(
        ErrorClass.SERVER,
        status,
        "the provider '"
            + t.model().provider()
            + "' answered with a redirect (HTTP "
            + status
            + "), which the gateway does not follow",
        null);
  }

  private static ProviderError classify(@Nullable Throwable cause, Target t) {
    Throwable c = cause == null ? null : Exceptions.peel(cause);
    String name = t.model().provider();
    if (c instanceof ResponseTimeoutException) {
      return new ProviderError(
          ErrorClass.TIMEOUT,
          0,
          "the provider '"
              + name
              + "' did not answer within "
              + t.upstream().config().timeout().toMillis()
              + " ms",
          null);
    }
    if (c instanceof UnprocessedRequestException) {
      return new ProviderError(
          ErrorClass.CONNECT, 0, "the provider '" + name + "' could not be reached", null);
    }
    return new ProviderError(
        ErrorClass.CONNECT, 0, "the connection to the provider '" + name + "' failed", null);
  }

  private static ProviderError withRetryAfter(ProviderError e, HttpHeaders headers) {
    Long seconds = null;
    String ms = headers.get("retry-after-ms");
    String s = headers.get(HttpHeaderNames.RETRY_AFTER);
    try {
      if (ms != null) {
        seconds = (long) Math.ceil(Double.parseDouble(ms) / 1000.0);
      } else if (s != null) {
        seconds = Long.parseLong(s.strip());
      }
    } catch (NumberFormatException ignored) {
      // An HTTP date or garbage: no hint.
    }
    if (seconds == null || seconds < 0) {
      return e;
    }
    return new ProviderError(e.errorClass(), e.status(), e.message(), seconds);
  }

  /** How a provider error is shown to the client. */
  record ClientError(int status, String type, @Nullable String code, String message) {
    static ClientError of(ProviderError e, @Nullable Target t) {
      String provider = t == null ? "the provider" : "the provider '" + t.model().provider() + "'";
      String msg = scrub(e.message(), t);
      return switch (e.errorClass()) {
        case RATE_LIMITED ->
            new ClientError(
                429, "requests", "rate_limit_exceeded", provider + " is rate limiting: " + msg);
        case OVERLOADED ->
            new ClientError(503, OpenAiErrorResponses.SERVER, "provider_overloaded", msg);
        case TIMEOUT -> new ClientError(504, OpenAiErrorResponses.SERVER, "upstream_timeout", msg);
        case CONNECT ->
            new ClientError(502, OpenAiErrorResponses.SERVER, "upstream_unavailable", msg);
        case SERVER ->
            new ClientError(
                502, OpenAiErrorResponses.SERVER, "upstream_error", provider + " failed: " + msg);
        case AUTH ->
            new ClientError(
                502,
                OpenAiErrorResponses.SERVER,
                "upstream_auth_failed",
                provider + " refused the gateway's credential; the operator must check it");
        case BAD_REQUEST ->
            new ClientError(
                e.status() >= 400 && e.status() < 500 && e.status() != 401 && e.status() != 403
                    ? e.status()
                    : 400,
                OpenAiErrorResponses.INVALID_REQUEST,
                null,
                msg);
        case CONTEXT_WINDOW ->
            new ClientError(
                400, OpenAiErrorResponses.INVALID_REQUEST, "context_length_exceeded", msg);
        case CONTENT_POLICY ->
            new ClientError(
                400, OpenAiErrorResponses.INVALID_REQUEST, "content_policy_violation", msg);
      };
    }

    private static String scrub(String message, @Nullable Target t) {
      if (t == null) {
        return message;
      }
      String key = t.upstream().target().apiKey();
      return key.length() >= 8 ? message.replace(key, "***") : message;
    }
  }
}
