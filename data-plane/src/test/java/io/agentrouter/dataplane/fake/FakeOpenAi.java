package io.agentrouter.dataplane.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.AggregatedHttpRequest;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpResponseWriter;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.ResponseHeaders;
import com.linecorp.armeria.common.ResponseHeadersBuilder;
import com.linecorp.armeria.server.Server;
import com.linecorp.armeria.server.ServiceRequestContext;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fake OpenAI API in the test JVM: chat completions (with tool calls, {@code n}, streaming with
 * the usage chunk), embeddings (float and base64), image generation and the model list, in OpenAI's
 * wire format, also under Azure's deployment paths. Faults are queued per request ({@link
 * #enqueue}) or set for every request ({@link #always}); every request is logged.
 */
public final class FakeOpenAi implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One received request. */
  public record Received(String path, Map<String, String> headers, JsonNode body) {}

  /** What to do with a request instead of (or before) answering it normally. */
  public record Fault(
      Kind kind, int status, String body, Map<String, String> headers, Duration delay) {
    public enum Kind {
      STATUS,
      DELAY,
      HANG,
      CUT_BEFORE_CONTENT,
      CUT_AFTER_CONTENT,
      MALFORMED,
      SLOW_STREAM,
      STALL_AFTER_CONTENT,
      PACED_STREAM
    }

    /** Answer with {@code status} and an OpenAI error body (or {@code body} when not null). */
    public static Fault status(int status, String message, Map<String, String> headers) {
      String body =
          "{\"error\":{\"message\":\""
              + message
              + "\",\"type\":\""
              + (status == 429
                  ? "requests"
                  : status >= 500 ? "server_error" : "invalid_request_error")
              + "\",\"param\":null,\"code\":null}}";
      return new Fault(Kind.STATUS, status, body, headers, Duration.ZERO);
    }

    public static Fault status(int status) {
      return status(status, "fake failure " + status, Map.of());
    }

    public static Fault rawStatus(int status, String body) {
      return new Fault(Kind.STATUS, status, body, Map.of(), Duration.ZERO);
    }

    public static Fault delay(Duration delay) {
      return new Fault(Kind.DELAY, 200, "", Map.of(), delay);
    }

    public static Fault hang() {
      return new Fault(Kind.HANG, 0, "", Map.of(), Duration.ZERO);
    }

    /** Streams: headers and the role chunk, then the stream breaks. Others: a broken answer. */
    public static Fault cutBeforeContent() {
      return new Fault(Kind.CUT_BEFORE_CONTENT, 200, "", Map.of(), Duration.ZERO);
    }

    /** Streams: two content chunks, then the stream breaks. */
    public static Fault cutAfterContent() {
      return new Fault(Kind.CUT_AFTER_CONTENT, 200, "", Map.of(), Duration.ZERO);
    }

    /** Streams: two content chunks, then nothing, and the connection stays open. */
    public static Fault stallAfterContent() {
      return new Fault(Kind.STALL_AFTER_CONTENT, 200, "", Map.of(), Duration.ZERO);
    }

    /** Streams: a content chunk every {@code interval}, 100 of them. */
    public static Fault slowStream(Duration interval) {
      return new Fault(Kind.SLOW_STREAM, 200, "", Map.of(), interval);
    }

    /**
     * Streams: the role chunk at once, then {@code tokens} content chunks of one token each, one
     * every {@code interval}, then the finish, usage and {@code [DONE]}; traced in {@link
     * #streams()}. A request whose {@code metadata} has {@code fake_hold_after} (n) and {@code
     * fake_hold_ms} pauses that long after its n-th token, as a model that stops to think; one with
     * {@code fake_token_bytes} pads every token with that many bytes. Others: answered normally.
     */
    public static Fault pacedStream(int tokens, Duration interval) {
      if (tokens < 1) {
        throw new IllegalArgumentException("tokens: " + tokens + " (expected: >= 1)");
      }
      return new Fault(Kind.PACED_STREAM, tokens, "", Map.of(), interval);
    }

    /** 200 with a body that is not JSON (a malformed chunk for streams). */
    public static Fault malformed() {
      return new Fault(Kind.MALFORMED, 200, "", Map.of(), Duration.ZERO);
    }
  }

  /**
   * What a paced stream sent before it ended.
   *
   * @param user the request's {@code user} field, which tests use to tell streams apart
   * @param tokensSent completion tokens written before the fake saw the stream closed
   * @param startedNanos {@link System#nanoTime()} when the request arrived
   * @param closedNanos {@link System#nanoTime()} when the fake saw the downstream close the stream
   *     early; 0 while it is open or when it completed
   * @param completed whether the whole answer was written
   * @param tokenNanos {@link System#nanoTime()} when each token was written, in order
   */
  public record StreamTrace(
      String user,
      int tokensSent,
      long startedNanos,
      long closedNanos,
      boolean completed,
      List<Long> tokenNanos) {
    /** Tokens written at or before {@code nanos}. */
    public int tokensSentBy(long nanos) {
      int n = 0;
      for (long t : tokenNanos) {
        if (t <= nanos) {
          n++;
        }
      }
      return n;
    }
  }

  /** Mutable state of one paced stream, written on its event loop only. */
  private static final class Paced {
    final String user;
    final long startedNanos = System.nanoTime();
    volatile int sent;
    volatile long closedNanos;
    volatile boolean completed;
    final List<Long> tokenNanos = new java.util.concurrent.CopyOnWriteArrayList<>();

    Paced(String user) {
      this.user = user;
    }

    StreamTrace trace() {
      return new StreamTrace(
          user, sent, startedNanos, closedNanos, completed, List.copyOf(tokenNanos));
    }
  }

  /** Paced streams in flight by the gateway's end of their connection (HTTP/1: one at a time). */
  private final Map<java.net.SocketAddress, Paced> pacedByConnection =
      new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * Notes the moment the gateway closes a paced stream's connection. Armeria keeps an HTTP/1
   * connection half-open when the peer closes its side and notices only at a failed write, so
   * without this the fake would notice a gateway's close one token late, as a real provider's front
   * end (which treats the end of input as the client leaving) would not.
   */
  private final class HangupWatch extends io.netty.channel.ChannelInboundHandlerAdapter {
    private java.net.SocketAddress remote;

    @Override
    public void channelActive(io.netty.channel.ChannelHandlerContext ctx) throws Exception {
      remote = ctx.channel().remoteAddress();
      super.channelActive(ctx);
    }

    @Override
    public void userEventTriggered(io.netty.channel.ChannelHandlerContext ctx, Object evt)
        throws Exception {
      if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
        gone(ctx);
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelInactive(io.netty.channel.ChannelHandlerContext ctx) throws Exception {
      gone(ctx);
      super.channelInactive(ctx);
    }

    private void gone(io.netty.channel.ChannelHandlerContext ctx) {
      java.net.SocketAddress a = remote != null ? remote : ctx.channel().remoteAddress();
      Paced p = a == null ? null : pacedByConnection.remove(a);
      if (p != null && !p.completed && p.closedNanos == 0) {
        p.closedNanos = System.nanoTime();
      }
    }
  }

  private final Server server;
  private final List<Paced> paced = Collections.synchronizedList(new ArrayList<>());
  private final List<Received> received = Collections.synchronizedList(new ArrayList<>());
  private final ConcurrentLinkedQueue<Fault> queued = new ConcurrentLinkedQueue<>();
  private volatile Fault always;
  private volatile String reply = "Hello from the fake";
  private final AtomicInteger ids = new AtomicInteger();
  private final AtomicInteger cancelled = new AtomicInteger();

  private FakeOpenAi() {
    server =
        Server.builder()
            .http(0)
            .requestTimeout(Duration.ZERO)
            .gracefulShutdownTimeout(Duration.ZERO, Duration.ZERO)
            .childChannelPipelineCustomizer(p -> p.addFirst(new HangupWatch()))
            .service(
                "glob:/v1/**",
                (ctx, req) -> HttpResponse.of(req.aggregate().thenApply(a -> handle(ctx, a))))
            .service(
                "glob:/openai/deployments/**",
                (ctx, req) -> HttpResponse.of(req.aggregate().thenApply(a -> handle(ctx, a))))
            .build();
    server.start().join();
  }

  public static FakeOpenAi start() {
    return new FakeOpenAi();
  }

  public int port() {
    return server.activeLocalPort();
  }

  /** The OpenAI-style base URL, {@code http://127.0.0.1:port/v1}. */
  public String baseUrl() {
    return "http://127.0.0.1:" + port() + "/v1";
  }

  /** The Azure-style base URL, {@code http://127.0.0.1:port/openai}. */
  public String azureBaseUrl() {
    return "http://127.0.0.1:" + port() + "/openai";
  }

  public void enqueue(Fault fault) {
    queued.add(fault);
  }

  public void always(Fault fault) {
    this.always = fault;
  }

  /** The text of every completion. */
  public void reply(String text) {
    this.reply = text;
  }

  public List<Received> received() {
    synchronized (received) {
      return List.copyOf(received);
    }
  }

  /** Every paced stream so far ({@link Fault#pacedStream}), in arrival order. */
  public List<StreamTrace> streams() {
    synchronized (paced) {
      return paced.stream().map(Paced::trace).toList();
    }
  }

  /** Requests whose client went away before the answer was complete. */
  public int cancelled() {
    return cancelled.get();
  }

  public void reset() {
    received.clear();
    paced.clear();
    queued.clear();
    always = null;
    reply = "Hello from the fake";
    cancelled.set(0);
  }

  @Override
  public void close() {
    server.stop().join();
  }

  private HttpResponse handle(ServiceRequestContext ctx, AggregatedHttpRequest req) {
    JsonNode body;
    try {
      body =
          req.content().isEmpty() ? JSON.createObjectNode() : JSON.readTree(req.content().array());
    } catch (Exception e) {
      body = JSON.createObjectNode().put("unparseable", req.contentUtf8());
    }
    Map<String, String> headers = new HashMap<>();
    req.headers().forEach((k, v) -> headers.put(k.toString(), v));
    String path = req.path();
    received.add(new Received(path, Map.copyOf(headers), body));
    ctx.log()
        .whenComplete()
        .thenAccept(
            log -> {
              if (log.responseCause() != null) {
                cancelled.incrementAndGet();
              }
            });
    Fault f = queued.poll();
    if (f == null) {
      f = always;
    }
    String p = path.contains("?") ? path.substring(0, path.indexOf('?')) : path;
    boolean stream = body.path("stream").asBoolean(false);
    if (f != null) {
      switch (f.kind()) {
        case STATUS -> {
          ResponseHeadersBuilder h =
              ResponseHeaders.builder(HttpStatus.valueOf(f.status())).contentType(MediaType.JSON);
          f.headers().forEach(h::add);
          return HttpResponse.of(h.build(), HttpData.ofUtf8(f.body()));
        }
        case DELAY -> {
          return HttpResponse.delayed(answer(ctx, p, body, stream, null), f.delay());
        }
        case SLOW_STREAM -> {
          return slowStream(ctx, body, f.delay());
        }
        case PACED_STREAM -> {
          if (stream && p.endsWith("/chat/completions")) {
            return pacedStream(ctx, body, f.status(), f.delay());
          }
          return answer(ctx, p, body, stream, null);
        }
        case HANG -> {
          return HttpResponse.streaming();
        }
        default -> {
          return answer(ctx, p, body, stream, f.kind());
        }
      }
    }
    return answer(ctx, p, body, stream, null);
  }

  private HttpResponse answer(
      ServiceRequestContext ctx, String path, JsonNode body, boolean stream, Fault.Kind fault) {
    if (path.endsWith("/chat/completions")) {
      return stream ? chatStream(ctx, body, fault) : chat(body, fault);
    }
    if (path.endsWith("/responses")) {
      return FakeResponses.answer(
          ctx, body, stream, fault, reply, "resp_fake_" + ids.incrementAndGet());
    }
    if (fault == Fault.Kind.MALFORMED) {
      return HttpResponse.of(HttpStatus.OK, MediaType.JSON, "{\"object\": \"list\", oops");
    }
    if (path.endsWith("/embeddings")) {
      return json(embeddings(body));
    }
    if (path.endsWith("/images/generations")) {
      return json(images(body));
    }
    if (path.endsWith("/models")) {
      ObjectNode root = JSON.createObjectNode().put("object", "list");
      root.putArray("data")
          .addObject()
          .put("id", "gpt-4o-mini")
          .put("object", "model")
          .put("created", 1)
          .put("owned_by", "openai");
      return json(root);
    }
    return HttpResponse.of(
        HttpStatus.NOT_FOUND,
        MediaType.JSON,
        "{\"error\":{\"message\":\"unknown path\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"unknown_url\"}}");
  }

  private HttpResponse chat(JsonNode body, Fault.Kind fault) {
    if (fault == Fault.Kind.MALFORMED) {
      return HttpResponse.of(
          HttpStatus.OK, MediaType.JSON, "{\"id\": \"chatcmpl-x\", \"choices\": [");
    }
    if (fault == Fault.Kind.CUT_BEFORE_CONTENT || fault == Fault.Kind.CUT_AFTER_CONTENT) {
      HttpResponseWriter w = HttpResponse.streaming();
      w.write(ResponseHeaders.of(HttpStatus.OK, "content-type", "application/json"));
      w.write(HttpData.ofUtf8("{\"id\": \"chatcmpl-x\", "));
      w.abort();
      return w;
    }
    int n = Math.max(1, body.path("n").asInt(1));
    ObjectNode root = base(body, "chat.completion");
    ArrayNode choices = root.putArray("choices");
    boolean tools = body.path("tools").isArray() && !body.path("tools").isEmpty();
    for (int i = 0; i < n; i++) {
      ObjectNode c = choices.addObject();
      c.put("index", i);
      ObjectNode m = c.putObject("message");
      m.put("role", "assistant");
      if (tools) {
        m.putNull("content");
        ObjectNode call = m.putArray("tool_calls").addObject();
        call.put("id", "call_" + i).put("type", "function");
        call.putObject("function")
            .put("name", body.path("tools").get(0).path("function").path("name").asText())
            .put("arguments", "{\"city\":\"Paris\"}");
        c.put("finish_reason", "tool_calls");
      } else {
        m.put("content", reply);
        m.putNull("refusal");
        c.put("finish_reason", "stop");
      }
      c.putNull("logprobs");
    }
    root.set("usage", usage(10, words() * n));
    return json(root);
  }

  private HttpResponse chatStream(ServiceRequestContext ctx, JsonNode body, Fault.Kind fault) {
    HttpResponseWriter w = HttpResponse.streaming();
    w.write(ResponseHeaders.of(HttpStatus.OK, "content-type", "text/event-stream; charset=utf-8"));
    String id = "chatcmpl-fake-" + ids.incrementAndGet();
    ObjectNode role = chunk(body, id);
    ((ObjectNode) role.withArray("choices").addObject().put("index", 0).putObject("delta"))
        .put("role", "assistant")
        .put("content", "");
    ((ObjectNode) role.get("choices").get(0)).putNull("finish_reason");
    event(w, role);
    if (fault == Fault.Kind.CUT_BEFORE_CONTENT) {
      cutLater(ctx, w);
      return w;
    }
    if (fault == Fault.Kind.MALFORMED) {
      w.write(HttpData.ofUtf8("data: {\"id\": oops\n\n"));
      w.close();
      return w;
    }
    String[] words = reply.split(" ");
    for (int i = 0; i < words.length; i++) {
      ObjectNode c = chunk(body, id);
      ObjectNode choice = c.withArray("choices").addObject().put("index", 0);
      choice.putObject("delta").put("content", (i == 0 ? "" : " ") + words[i]);
      choice.putNull("finish_reason");
      event(w, c);
      if (fault == Fault.Kind.CUT_AFTER_CONTENT && i == Math.min(1, words.length - 1)) {
        cutLater(ctx, w);
        return w;
      }
      if (fault == Fault.Kind.STALL_AFTER_CONTENT && i == Math.min(1, words.length - 1)) {
        return w;
      }
    }
    ObjectNode end = chunk(body, id);
    ObjectNode choice = end.withArray("choices").addObject().put("index", 0);
    choice.putObject("delta");
    choice.put("finish_reason", "stop");
    event(w, end);
    if (body.path("stream_options").path("include_usage").asBoolean(false)) {
      ObjectNode u = chunk(body, id);
      u.putArray("choices");
      u.set("usage", usage(10, words.length));
      event(w, u);
    }
    w.write(HttpData.ofUtf8("data: [DONE]\n\n"));
    w.close();
    return w;
  }

  private HttpResponse slowStream(ServiceRequestContext ctx, JsonNode body, Duration interval) {
    HttpResponseWriter w = HttpResponse.streaming();
    w.write(ResponseHeaders.of(HttpStatus.OK, "content-type", "text/event-stream; charset=utf-8"));
    String id = "chatcmpl-slow-" + ids.incrementAndGet();
    slowChunk(ctx, w, body, id, 0, interval);
    return w;
  }

  private void slowChunk(
      ServiceRequestContext ctx,
      HttpResponseWriter w,
      JsonNode body,
      String id,
      int i,
      Duration interval) {
    if (!w.isOpen()) {
      return;
    }
    ObjectNode c = chunk(body, id);
    ObjectNode choice = c.withArray("choices").addObject().put("index", 0);
    choice.putObject("delta").put("content", "word" + i + " ");
    choice.putNull("finish_reason");
    w.tryWrite(HttpData.ofUtf8("data: " + c + "\n\n"));
    if (i == 99) {
      w.tryWrite(HttpData.ofUtf8("data: [DONE]\n\n"));
      w.close();
      return;
    }
    ctx.eventLoop()
        .schedule(
            () -> slowChunk(ctx, w, body, id, i + 1, interval),
            interval.toMillis(),
            java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  private HttpResponse pacedStream(
      ServiceRequestContext ctx, JsonNode body, int tokens, Duration interval) {
    Paced trace = new Paced(body.path("user").asText(""));
    paced.add(trace);
    java.net.SocketAddress connection = ctx.remoteAddress();
    pacedByConnection.put(connection, trace);
    HttpResponseWriter w = HttpResponse.streaming();
    // The moment the downstream (the gateway) goes away, seen from the provider's side.
    w.whenComplete()
        .handle(
            (v, cause) -> {
              pacedByConnection.remove(connection, trace);
              if (cause != null && !trace.completed && trace.closedNanos == 0) {
                trace.closedNanos = System.nanoTime();
              }
              return null;
            });
    w.write(ResponseHeaders.of(HttpStatus.OK, "content-type", "text/event-stream; charset=utf-8"));
    String id = "chatcmpl-paced-" + ids.incrementAndGet();
    ObjectNode role = chunk(body, id);
    ObjectNode first = role.withArray("choices").addObject().put("index", 0);
    first.putObject("delta").put("role", "assistant").put("content", "");
    first.putNull("finish_reason");
    w.tryWrite(HttpData.ofUtf8("data: " + role + "\n\n"));
    ctx.eventLoop()
        .schedule(
            () -> pacedChunk(ctx, w, body, id, trace, tokens, interval),
            holdAfter(body) == 0 ? holdNanos(body) : interval.toNanos(),
            java.util.concurrent.TimeUnit.NANOSECONDS);
    return w;
  }

  private static int holdAfter(JsonNode body) {
    JsonNode n = body.path("metadata").path("fake_hold_after");
    return n.isMissingNode() ? -1 : n.asInt(-1);
  }

  /** The padding of each token ({@code fake_token_bytes}): big tokens fill sockets quickly. */
  private static String padding(JsonNode body) {
    return "x".repeat(Math.max(0, body.path("metadata").path("fake_token_bytes").asInt(0)));
  }

  private static long holdNanos(JsonNode body) {
    return body.path("metadata").path("fake_hold_ms").asLong(0) * 1_000_000L;
  }

  private void pacedChunk(
      ServiceRequestContext ctx,
      HttpResponseWriter w,
      JsonNode body,
      String id,
      Paced trace,
      int tokens,
      Duration interval) {
    if (!w.isOpen()) {
      return;
    }
    if (trace.closedNanos != 0) {
      w.abort();
      return;
    }
    int i = trace.sent;
    ObjectNode c = chunk(body, id);
    ObjectNode choice = c.withArray("choices").addObject().put("index", 0);
    choice.putObject("delta").put("content", (i == 0 ? "" : " ") + "t" + i + padding(body));
    choice.putNull("finish_reason");
    if (!w.tryWrite(HttpData.ofUtf8("data: " + c + "\n\n"))) {
      return;
    }
    trace.tokenNanos.add(System.nanoTime());
    trace.sent = i + 1;
    if (i + 1 < tokens) {
      ctx.eventLoop()
          .schedule(
              () -> pacedChunk(ctx, w, body, id, trace, tokens, interval),
              i + 1 == holdAfter(body) ? holdNanos(body) : interval.toNanos(),
              java.util.concurrent.TimeUnit.NANOSECONDS);
      return;
    }
    ObjectNode end = chunk(body, id);
    ObjectNode last = end.withArray("choices").addObject().put("index", 0);
    last.putObject("delta");
    last.put("finish_reason", "stop");
    w.tryWrite(HttpData.ofUtf8("data: " + end + "\n\n"));
    if (body.path("stream_options").path("include_usage").asBoolean(false)) {
      ObjectNode u = chunk(body, id);
      u.putArray("choices");
      u.set("usage", usage(10, tokens));
      w.tryWrite(HttpData.ofUtf8("data: " + u + "\n\n"));
    }
    w.tryWrite(HttpData.ofUtf8("data: [DONE]\n\n"));
    trace.completed = true;
    pacedByConnection.remove(ctx.remoteAddress(), trace);
    w.close();
  }

  /** Breaks the stream once what was written has had time to reach the client. */
  private static void cutLater(ServiceRequestContext ctx, HttpResponseWriter w) {
    ctx.eventLoop().schedule(() -> w.abort(), 100, java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  private ObjectNode chunk(JsonNode body, String id) {
    ObjectNode c = JSON.createObjectNode();
    c.put("id", id);
    c.put("object", "chat.completion.chunk");
    c.put("created", 1_700_000_000L);
    c.put("model", body.path("model").asText("gpt-4o-mini"));
    c.put("system_fingerprint", "fp_fake");
    return c;
  }

  private static void event(HttpResponseWriter w, ObjectNode chunk) {
    w.write(HttpData.ofUtf8("data: " + chunk + "\n\n"));
  }

  private ObjectNode embeddings(JsonNode body) {
    ObjectNode root = JSON.createObjectNode().put("object", "list");
    ArrayNode data = root.putArray("data");
    JsonNode input = body.path("input");
    int count = input.isArray() ? input.size() : 1;
    boolean base64 = "base64".equals(body.path("encoding_format").asText());
    float[] vector = {0.1f, -0.2f, 0.3f};
    for (int i = 0; i < count; i++) {
      ObjectNode e = data.addObject().put("object", "embedding").put("index", i);
      if (base64) {
        ByteBuffer b = ByteBuffer.allocate(vector.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : vector) {
          b.putFloat(v);
        }
        e.put("embedding", Base64.getEncoder().encodeToString(b.array()));
      } else {
        ArrayNode arr = e.putArray("embedding");
        for (float v : vector) {
          arr.add(v);
        }
      }
    }
    root.put("model", body.path("model").asText());
    root.putObject("usage").put("prompt_tokens", 4 * count).put("total_tokens", 4 * count);
    return root;
  }

  private ObjectNode images(JsonNode body) {
    ObjectNode root = JSON.createObjectNode().put("created", 1_700_000_000L);
    ArrayNode data = root.putArray("data");
    int n = Math.max(1, body.path("n").asInt(1));
    for (int i = 0; i < n; i++) {
      data.addObject()
          .put("url", "https://images.example/fake-" + i + ".png")
          .put("revised_prompt", body.path("prompt").asText());
    }
    return root;
  }

  private ObjectNode base(JsonNode body, String object) {
    ObjectNode root = JSON.createObjectNode();
    root.put("id", "chatcmpl-fake-" + ids.incrementAndGet());
    root.put("object", object);
    root.put("created", 1_700_000_000L);
    root.put("model", body.path("model").asText("gpt-4o-mini"));
    root.put("system_fingerprint", "fp_fake");
    return root;
  }

  private int words() {
    return reply.split(" ").length;
  }

  private static ObjectNode usage(int prompt, int completion) {
    ObjectNode u = JSON.createObjectNode();
    u.put("prompt_tokens", prompt);
    u.put("completion_tokens", completion);
    u.put("total_tokens", prompt + completion);
    u.putObject("prompt_tokens_details").put("cached_tokens", 0);
    return u;
  }

  private static HttpResponse json(JsonNode node) {
    return HttpResponse.of(HttpStatus.OK, MediaType.JSON, node.toString());
  }
}
