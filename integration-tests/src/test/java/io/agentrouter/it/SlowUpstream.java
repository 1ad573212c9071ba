package io.agentrouter.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpResponseWriter;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.ResponseHeaders;
import com.linecorp.armeria.common.logging.RequestLogProperty;
import com.linecorp.armeria.common.util.EventLoopGroups;
import com.linecorp.armeria.server.Server;
import com.linecorp.armeria.server.ServiceRequestContext;
import io.netty.channel.Channel;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An OpenAI-compatible upstream for the exhaustion check. {@value #SLOW_MODEL} streams: the first
 * content at once, then one chunk per interval, then nothing, never finishing (an idle stream the
 * gateway must end). {@value #STEADY_MODEL} answers a normal chat completion at once. Counts the
 * slow streams in flight, which only the attacked key may ask for, and when each went quiet and
 * ended, by the tag its client put in the message.
 */
final class SlowUpstream implements AutoCloseable {
  static final String SLOW_MODEL = "slow-model";
  static final String STEADY_MODEL = "steady-model";

  /** One slow stream as the upstream saw it, in {@link System#nanoTime()}. */
  static final class Stream {
    final long startNanos = System.nanoTime();
    volatile long lastChunkNanos;
    volatile long endedNanos;
    final AtomicBoolean ended = new AtomicBoolean();
  }

  private static final byte[] STEADY_ANSWER =
      ("{\"id\":\"chatcmpl-steady\",\"object\":\"chat.completion\",\"created\":1700000000,"
              + "\"model\":\"steady-model\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
              + "\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}],\"usage\":"
              + "{\"prompt_tokens\":5,\"completion_tokens\":1,\"total_tokens\":6}}")
          .getBytes(java.nio.charset.StandardCharsets.UTF_8);
  private static final String CHUNK =
      "data: {\"id\":\"chatcmpl-slow\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
          + "\"model\":\"slow-model\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
          + "\"content\":\"tok \"},\"finish_reason\":null}]}\n\n";

  private final ObjectMapper mapper = new ObjectMapper();
  private final int chunks;
  private final Duration every;
  private final Server server;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final AtomicInteger maxInFlight = new AtomicInteger();
  private final AtomicInteger steadyServed = new AtomicInteger();
  private final Map<String, Stream> streams = new ConcurrentHashMap<>();

  private SlowUpstream(int chunks, Duration every) {
    this.chunks = chunks;
    this.every = every;
    this.server =
        Server.builder()
            .http(0)
            // One event loop: connections are then handled in the order the kernel reports them,
            // so a stream the gateway closed before it sent the next request is seen to end
            // before that request arrives. With several loops, a loop running late (on a loaded
            // machine) could see the new request first and count one stream too many.
            .workerGroup(EventLoopGroups.newEventLoopGroup(1), true)
            // The slow streams outlive Armeria's default 10 s request timeout on purpose.
            .requestTimeout(Duration.ZERO)
            .service("/v1/chat/completions", (ctx, req) -> serve(ctx, req))
            .build();
    server.start().join();
  }

  /** An upstream whose slow streams send {@code chunks} chunks, one per {@code every}. */
  static SlowUpstream start(int chunks, Duration every) {
    return new SlowUpstream(chunks, every);
  }

  String baseUrl() {
    return "http://127.0.0.1:" + server.activeLocalPort() + "/v1";
  }

  /** The most slow streams in flight at once so far. */
  int maxInFlight() {
    return maxInFlight.get();
  }

  int inFlight() {
    return inFlight.get();
  }

  int steadyServed() {
    return steadyServed.get();
  }

  /** Slow streams by their client's tag. */
  Map<String, Stream> streams() {
    return streams;
  }

  private HttpResponse serve(
      ServiceRequestContext ctx, com.linecorp.armeria.common.HttpRequest req) {
    return HttpResponse.of(
        req.aggregate()
            .thenApply(
                agg -> {
                  JsonNode body;
                  try {
                    body = mapper.readTree(agg.content().array());
                  } catch (IOException e) {
                    return HttpResponse.of(HttpStatus.BAD_REQUEST);
                  }
                  if (SLOW_MODEL.equals(body.path("model").asText())
                      && body.path("stream").asBoolean()) {
                    return slow(ctx, body.path("messages").path(0).path("content").asText());
                  }
                  steadyServed.incrementAndGet();
                  return HttpResponse.of(HttpStatus.OK, MediaType.JSON_UTF_8, STEADY_ANSWER);
                }));
  }

  private HttpResponse slow(ServiceRequestContext ctx, String tag) {
    int now = inFlight.incrementAndGet();
    maxInFlight.accumulateAndGet(now, Math::max);
    Stream s = new Stream();
    streams.put(tag, s);
    Runnable ended =
        () -> {
          if (s.ended.compareAndSet(false, true)) {
            s.endedNanos = System.nanoTime();
            inFlight.decrementAndGet();
          }
        };
    // The stream ends when the gateway closes its connection (it never finishes from this side).
    // Armeria completes the request log of a response cut this way about a second after the
    // connection has closed, so the close itself is watched: counting by the log alone would show
    // streams in flight that the gateway had already ended.
    ctx.log()
        .whenAvailable(RequestLogProperty.SESSION)
        .thenAccept(
            log -> {
              Channel ch = log.channel();
              if (ch != null) {
                ch.closeFuture().addListener(unused -> ended.run());
              }
            });
    ctx.log().whenComplete().thenRun(ended);
    HttpResponseWriter res = HttpResponse.streaming();
    res.write(
        ResponseHeaders.builder(HttpStatus.OK)
            .contentType(MediaType.parse("text/event-stream"))
            .build());
    chunk(ctx, res, s, 0);
    return res;
  }

  private void chunk(ServiceRequestContext ctx, HttpResponseWriter res, Stream s, int sent) {
    if (!res.tryWrite(HttpData.ofUtf8(CHUNK))) {
      return; // the gateway has gone
    }
    s.lastChunkNanos = System.nanoTime();
    if (sent + 1 < chunks) {
      ctx.eventLoop()
          .schedule(() -> chunk(ctx, res, s, sent + 1), every.toMillis(), TimeUnit.MILLISECONDS);
    }
    // After the last chunk: silence, and the stream never ends from this side.
  }

  @Override
  public void close() {
    server.stop().join();
  }
}
