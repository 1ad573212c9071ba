package io.agentrouter.dataplane.fake;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.AggregatedHttpRequest;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpResponseWriter;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.ResponseHeaders;
import com.linecorp.armeria.common.ResponseHeadersBuilder;
import com.linecorp.armeria.server.ServerBuilder;
import com.linecorp.armeria.server.ServiceRequestContext;
import com.linecorp.armeria.testing.junit5.server.ServerExtension;
import io.agentrouter.dataplane.provider.ProviderTarget;
import io.agentrouter.dataplane.provider.ProviderType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.jspecify.annotations.Nullable;

/**
 * A fake Anthropic Messages API ({@code POST /v1/messages}, and {@code /v1/messages/count_tokens})
 * on a random port, speaking the real wire format, streaming included, for tests that need an
 * upstream.
 *
 * <p>Register it with {@code @RegisterExtension static final FakeAnthropic anthropic = new
 * FakeAnthropic();} and point a target at {@link #target()}.
 *
 * <h2>What it answers (deterministic)</h2>
 *
 * <ul>
 *   <li>If the last user turn holds {@code tool_result} blocks: the text {@code "tool result: "}
 *       followed by the results' texts joined by a space.
 *   <li>Else, if the request has tools and {@code tool_choice} is not {@code none}: one {@code
 *       tool_use} of the named tool ({@code tool_choice.type == "tool"}) or the first tool, with
 *       input {@code {"query": <last user text>}}, stop reason {@code tool_use}.
 *   <li>Else the text {@code "echo: " + <last user text>} (the user turn's text blocks joined by a
 *       space).
 * </ul>
 *
 * Text is cut at the first stop sequence found (stop reason {@code stop_sequence}) and at {@code
 * max_tokens} words (stop reason {@code max_tokens}). Tokens are words: {@code input_tokens} is
 * {@link #countTokens} of every text in the system prompt and the messages (tool results included),
 * {@code output_tokens} that of the text written (or of the tool input's JSON); cache tokens are
 * whatever {@link #cacheTokens} set.
 *
 * <h2>Faults</h2>
 *
 * {@link #enqueue} queues {@link Fault}s; each request takes the next one (none: a normal answer).
 * Every request is recorded, faulted or not, in {@link #requests()}.
 */
public final class FakeAnthropic extends ServerExtension {

  /** The only key this fake accepts. */
  public static final String API_KEY = "sk-ant-fake-0123456789";

  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private final ObjectMapper mapper = JsonMapper.builder().build();
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private final Queue<Fault> faults = new ConcurrentLinkedQueue<>();
  private final AtomicInteger sequence = new AtomicInteger();
  private final AtomicLong cacheRead = new AtomicLong();
  private final AtomicLong cacheWrite = new AtomicLong();
  private final AtomicInteger cancellations = new AtomicInteger();

  /** One request as it reached the fake. Header names are lower case. */
  public record Request(
      String method,
      String path,
      Map<String, String> headers,
      @Nullable JsonNode body,
      String raw) {}

  /** What to do instead of (or before) answering normally. */
  public enum FaultKind {
    /** Answer this status with Anthropic's error body. */
    STATUS,
    /** Wait, then answer normally. */
    DELAY,
    /** Never answer (until the client gives up). */
    HANG,
    /**
     * Streams: send message_start and ping, then break the connection. Otherwise: headers and half
     * a body, then break.
     */
    CUT_BEFORE_CONTENT,
    /** Streams: send the first text or tool delta, then break the connection. */
    CUT_AFTER_CONTENT,
    /** A 200 whose body (or, streaming, one event's data) is not JSON. */
    MALFORMED,
    /** Streams: an {@code error} event after the first content. */
    STREAM_ERROR,
    /** Streams: one event per {@code delay} (first at once); stops when the client goes away. */
    SLOW_STREAM
  }

  /**
   * A fault to inject.
   *
   * @param errorType Anthropic's error type, for STATUS and STREAM_ERROR
   * @param retryAfterSeconds sent as {@code retry-after} with STATUS, when not null
   */
  public record Fault(
      FaultKind kind,
      int status,
      String errorType,
      String message,
      Duration delay,
      @Nullable Long retryAfterSeconds) {
    public Fault {
      requireNonNull(kind, "kind");
      requireNonNull(errorType, "errorType");
      requireNonNull(message, "message");
      requireNonNull(delay, "delay");
    }

    /** An error answer with the type Anthropic uses for that status. */
    public static Fault status(int status) {
      String type =
          switch (status) {
            case 400 -> "invalid_request_error";
            case 401 -> "authentication_error";
            case 403 -> "permission_error";
            case 404 -> "not_found_error";
            case 413 -> "request_too_large";
            case 429 -> "rate_limit_error";
            case 529 -> "overloaded_error";
            default -> "api_error";
          };
      return status(status, type, "fake " + type);
    }

    public static Fault status(int status, String errorType, String message) {
      return new Fault(FaultKind.STATUS, status, errorType, message, Duration.ZERO, null);
    }

    public static Fault rateLimited(long retryAfterSeconds) {
      return new Fault(
          FaultKind.STATUS,
          429,
          "rate_limit_error",
          "This request would exceed the rate limit for your organization",
          Duration.ZERO,
          retryAfterSeconds);
    }

    public static Fault delay(Duration delay) {
      return new Fault(FaultKind.DELAY, 200, "", "", delay, null);
    }

    public static Fault hang() {
      return new Fault(FaultKind.HANG, 0, "", "", Duration.ZERO, null);
    }

    public static Fault cutBeforeContent() {
      return new Fault(FaultKind.CUT_BEFORE_CONTENT, 200, "", "", Duration.ZERO, null);
    }

    public static Fault cutAfterContent() {
      return new Fault(FaultKind.CUT_AFTER_CONTENT, 200, "", "", Duration.ZERO, null);
    }

    public static Fault malformed() {
      return new Fault(FaultKind.MALFORMED, 200, "", "", Duration.ZERO, null);
    }

    /** A stream paced at one event per interval; a non-streamed answer is delayed by it. */
    public static Fault slowStream(Duration interval) {
      return new Fault(FaultKind.SLOW_STREAM, 200, "", "", interval, null);
    }

    public static Fault streamError(String errorType, String message) {
      return new Fault(FaultKind.STREAM_ERROR, 200, errorType, message, Duration.ZERO, null);
    }
  }

  @Override
  protected void configure(ServerBuilder sb) {
    // A hanging answer must outlive any client timeout under test.
    sb.requestTimeout(Duration.ZERO);
    sb.serviceUnder(
        "/",
        (ctx, req) -> HttpResponse.of(req.aggregate().thenApply(agg -> handleSafely(ctx, agg))));
  }

  /** The base URL to put in a {@link ProviderTarget}, e.g. {@code http://127.0.0.1:41234}. */
  public String baseUrl() {
    return "http://127.0.0.1:" + httpPort();
  }

  /** A target for this fake with the key it accepts. */
  public ProviderTarget target() {
    return new ProviderTarget("anthropic", ProviderType.ANTHROPIC, baseUrl(), API_KEY, null);
  }

  /** Queues faults; each request takes the next one. */
  public void enqueue(Fault... next) {
    faults.addAll(List.of(next));
  }

  /** Cache tokens reported by every answer from now on. */
  public void cacheTokens(long read, long write) {
    cacheRead.set(read);
    cacheWrite.set(write);
  }

  /** How many requests the client cancelled (went away) before the fake had answered in full. */
  public int cancellations() {
    return cancellations.get();
  }

  /** The requests received so far, oldest first. */
  public List<Request> requests() {
    return List.copyOf(requests);
  }

  /** The newest request; fails when there is none. */
  public Request lastRequest() {
    if (requests.isEmpty()) {
      throw new IllegalStateException("FakeAnthropic has received no request");
    }
    return requests.get(requests.size() - 1);
  }

  /** Forgets requests, queued faults and cache tokens. */
  public void reset() {
    requests.clear();
    faults.clear();
    cacheTokens(0, 0);
    cancellations.set(0);
  }

  /** The fake's tokenizer: whitespace-separated words. */
  public static long countTokens(String text) {
    String t = text.strip();
    return t.isEmpty() ? 0 : t.split("\\s+").length;
  }

  /** A bug in the fake answers 500 naming itself, rather than an anonymous Armeria 500. */
  private HttpResponse handleSafely(ServiceRequestContext ctx, AggregatedHttpRequest agg) {
    try {
      return handle(ctx, agg);
    } catch (RuntimeException e) {
      return error(500, "api_error", "FakeAnthropic failed: " + e, null);
    }
  }

  private HttpResponse handle(ServiceRequestContext ctx, AggregatedHttpRequest agg) {
    String raw = agg.contentUtf8();
    JsonNode body = parse(raw);
    Map<String, String> headers = new LinkedHashMap<>();
    agg.headers().forEach((k, v) -> headers.merge(k.toString(), v, (a, b) -> a + "," + b));
    requests.add(new Request(agg.method().name(), agg.path(), headers, body, raw));
    ctx.whenRequestCancelled().thenRun(cancellations::incrementAndGet);

    boolean countTokens = "/v1/messages/count_tokens".equals(ctx.path());
    if (!("/v1/messages".equals(ctx.path()) || countTokens)
        || !"POST".equals(agg.method().name())) {
      return error(404, "not_found_error", "Not Found", null);
    }
    if (!API_KEY.equals(agg.headers().get("x-api-key"))) {
      return error(401, "authentication_error", "invalid x-api-key", null);
    }
    if (agg.headers().get("anthropic-version") == null) {
      return error(400, "invalid_request_error", "anthropic-version: header is required", null);
    }
    if (body == null || !body.isObject()) {
      return error(400, "invalid_request_error", "There was an error parsing the body", null);
    }
    if (countTokens) {
      // count_tokens takes the same body without max_tokens and answers the input count only
      long input = answer(body).inputTokens();
      return HttpResponse.of(
          HttpStatus.OK, MediaType.JSON_UTF_8, write(JSON.objectNode().put("input_tokens", input)));
    }
    if (!body.path("max_tokens").isIntegralNumber()) {
      return error(400, "invalid_request_error", "max_tokens: Field required", null);
    }
    if (!body.path("messages").isArray() || body.path("messages").isEmpty()) {
      return error(400, "invalid_request_error", "messages: Field required", null);
    }

    Fault fault = faults.poll();
    boolean stream = body.path("stream").asBoolean(false);
    Answer answer = answer(body);
    if (fault == null) {
      return stream ? stream(ctx, answer, null) : json(answer);
    }
    return switch (fault.kind()) {
      case STATUS ->
          error(fault.status(), fault.errorType(), fault.message(), fault.retryAfterSeconds());
      case SLOW_STREAM ->
          stream
              ? stream(ctx, answer, fault)
              : HttpResponse.delayed(() -> json(answer), fault.delay(), ctx.eventLoop());
      case DELAY ->
          HttpResponse.delayed(
              () -> stream ? stream(ctx, answer, null) : json(answer),
              fault.delay(),
              ctx.eventLoop());
      case HANG -> HttpResponse.of(new CompletableFuture<HttpResponse>());
      case MALFORMED ->
          stream
              ? stream(ctx, answer, fault)
              : HttpResponse.of(
                  HttpStatus.OK, MediaType.JSON_UTF_8, "{\"id\":\"msg_fake\",\"content\":[{\"ty");
      case CUT_BEFORE_CONTENT -> stream ? stream(ctx, answer, fault) : cutBody(ctx, answer);
      case CUT_AFTER_CONTENT, STREAM_ERROR -> stream(ctx, answer, fault);
    };
  }

  /** What the fake will say to one request. */
  private record Answer(
      String id,
      String model,
      @Nullable String text,
      @Nullable ObjectNode toolUse,
      String stopReason,
      @Nullable String stopSequence,
      long inputTokens,
      long outputTokens,
      long cacheRead,
      long cacheWrite) {}

  private Answer answer(JsonNode body) {
    int n = sequence.incrementAndGet();
    long input = 0;
    for (JsonNode block : blocks(body.path("system"))) {
      input += countTokens(block.path("text").asText(""));
    }
    JsonNode lastUser = null;
    for (JsonNode message : body.path("messages")) {
      for (JsonNode block : blocks(message.path("content"))) {
        input += countTokens(text(block));
      }
      if ("user".equals(message.path("role").asText())) {
        lastUser = message;
      }
    }
    List<String> userTexts = new ArrayList<>();
    List<String> toolResults = new ArrayList<>();
    if (lastUser != null) {
      for (JsonNode block : blocks(lastUser.path("content"))) {
        if ("tool_result".equals(block.path("type").asText())) {
          toolResults.add(text(block));
        } else if ("text".equals(block.path("type").asText())) {
          userTexts.add(block.path("text").asText());
        }
      }
    }
    String userText = String.join(" ", userTexts);
    String model = body.path("model").asText();
    String id = "msg_fake_" + n;
    JsonNode tools = body.path("tools");
    String choice = body.path("tool_choice").path("type").asText("auto");
    if (toolResults.isEmpty() && tools.isArray() && !tools.isEmpty() && !"none".equals(choice)) {
      String name =
          "tool".equals(choice)
              ? body.path("tool_choice").path("name").asText()
              : tools.get(0).path("name").asText();
      ObjectNode use = JSON.objectNode();
      use.put("type", "tool_use");
      use.put("id", "toolu_fake_" + n);
      use.put("name", name);
      use.putObject("input").put("query", userText);
      long output = countTokens(write(use.get("input")));
      return new Answer(
          id, model, null, use, "tool_use", null, input, output, cacheRead.get(), cacheWrite.get());
    }
    String text =
        toolResults.isEmpty()
            ? "echo: " + userText
            : "tool result: " + String.join(" ", toolResults);
    String stopReason = "end_turn";
    String stopSequence = null;
    for (JsonNode seq : body.path("stop_sequences")) {
      int at = text.indexOf(seq.asText());
      if (at >= 0) {
        text = text.substring(0, at);
        stopReason = "stop_sequence";
        stopSequence = seq.asText();
      }
    }
    String[] words = text.split(" ", -1);
    int max = body.path("max_tokens").asInt();
    if (countTokens(text) > max) {
      text = String.join(" ", List.of(words).subList(0, max));
      stopReason = "max_tokens";
      stopSequence = null;
    }
    return new Answer(
        id,
        model,
        text,
        null,
        stopReason,
        stopSequence,
        input,
        countTokens(text),
        cacheRead.get(),
        cacheWrite.get());
  }

  private HttpResponse json(Answer a) {
    ObjectNode message = messageHeader(a);
    ArrayNode content = message.putArray("content");
    if (a.text() != null) {
      content.addObject().put("type", "text").put("text", a.text());
    } else if (a.toolUse() != null) {
      content.add(a.toolUse());
    }
    message.put("stop_reason", a.stopReason());
    if (a.stopSequence() == null) {
      message.putNull("stop_sequence");
    } else {
      message.put("stop_sequence", a.stopSequence());
    }
    ObjectNode usage = message.putObject("usage");
    usage.put("input_tokens", a.inputTokens());
    usage.put("cache_creation_input_tokens", a.cacheWrite());
    usage.put("cache_read_input_tokens", a.cacheRead());
    usage.put("output_tokens", a.outputTokens());
    return HttpResponse.of(
        ResponseHeaders.builder(HttpStatus.OK)
            .contentType(MediaType.JSON_UTF_8)
            .add("request-id", "req_fake_" + a.id())
            .build(),
        HttpData.ofUtf8(write(message)));
  }

  private ObjectNode messageHeader(Answer a) {
    ObjectNode message = JSON.objectNode();
    message.put("id", a.id());
    message.put("type", "message");
    message.put("role", "assistant");
    message.put("model", a.model());
    return message;
  }

  /**
   * Streams the answer as Anthropic does: message_start, ping, one content block (text in one delta
   * per word, or a tool_use whose input JSON comes in pieces), message_delta, message_stop.
   */
  private HttpResponse stream(ServiceRequestContext ctx, Answer a, @Nullable Fault fault) {
    List<String> frames = new ArrayList<>();
    ObjectNode start = messageHeader(a);
    start.putArray("content");
    start.putNull("stop_reason");
    start.putNull("stop_sequence");
    ObjectNode startUsage = start.putObject("usage");
    startUsage.put("input_tokens", a.inputTokens());
    startUsage.put("cache_creation_input_tokens", a.cacheWrite());
    startUsage.put("cache_read_input_tokens", a.cacheRead());
    startUsage.put("output_tokens", 1);
    frames.add(
        frame(
            "message_start", JSON.objectNode().put("type", "message_start").set("message", start)));
    frames.add(frame("ping", JSON.objectNode().put("type", "ping")));

    ObjectNode blockStart = JSON.objectNode().put("type", "content_block_start").put("index", 0);
    List<ObjectNode> deltas = new ArrayList<>();
    if (a.toolUse() != null) {
      ObjectNode block = a.toolUse().deepCopy();
      block.set("input", JSON.objectNode());
      blockStart.set("content_block", block);
      String json = write(a.toolUse().get("input"));
      int half = json.length() / 2;
      for (String piece : new String[] {"", json.substring(0, half), json.substring(half)}) {
        deltas.add(
            delta(JSON.objectNode().put("type", "input_json_delta").put("partial_json", piece)));
      }
    } else {
      blockStart.set("content_block", JSON.objectNode().put("type", "text").put("text", ""));
      String[] words = (a.text() == null ? "" : a.text()).split(" ", -1);
      for (int i = 0; i < words.length; i++) {
        String piece = i == 0 ? words[i] : " " + words[i];
        if (!piece.isEmpty()) {
          deltas.add(delta(JSON.objectNode().put("type", "text_delta").put("text", piece)));
        }
      }
    }
    frames.add(frame("content_block_start", blockStart));
    // The first frame that carries content (a tool_use start counts: it names the call).
    int firstContent = a.toolUse() != null ? frames.size() - 1 : -1;
    for (ObjectNode d : deltas) {
      JsonNode inner = d.path("delta");
      boolean content =
          !inner.path("text").asText("").isEmpty()
              || !inner.path("partial_json").asText("").isEmpty();
      if (firstContent < 0 && content) {
        firstContent = frames.size();
      }
      frames.add(frame("content_block_delta", d));
    }
    frames.add(
        frame(
            "content_block_stop",
            JSON.objectNode().put("type", "content_block_stop").put("index", 0)));
    ObjectNode messageDelta = JSON.objectNode().put("type", "message_delta");
    ObjectNode md = messageDelta.putObject("delta").put("stop_reason", a.stopReason());
    if (a.stopSequence() == null) {
      md.putNull("stop_sequence");
    } else {
      md.put("stop_sequence", a.stopSequence());
    }
    messageDelta.putObject("usage").put("output_tokens", a.outputTokens());
    frames.add(frame("message_delta", messageDelta));
    frames.add(frame("message_stop", JSON.objectNode().put("type", "message_stop")));
    if (firstContent < 0) {
      firstContent = frames.size() - 3; // no content at all: treat content_block_stop as first
    }

    ResponseHeaders headers =
        ResponseHeaders.builder(HttpStatus.OK)
            .contentType(MediaType.EVENT_STREAM)
            .add("cache-control", "no-cache")
            .add("request-id", "req_fake_" + a.id())
            .build();
    FaultKind kind = fault == null ? null : fault.kind();
    if (kind == null || kind == FaultKind.SLOW_STREAM) {
      return writeFrames(ctx, headers, frames, kind == null ? Duration.ZERO : fault.delay(), null);
    }
    List<String> head = new ArrayList<>(frames.subList(0, firstContent));
    return switch (kind) {
      case CUT_BEFORE_CONTENT ->
          writeFrames(ctx, headers, head, Duration.ZERO, "cut by FakeAnthropic");
      case CUT_AFTER_CONTENT -> {
        head.add(frames.get(firstContent));
        yield writeFrames(ctx, headers, head, Duration.ZERO, "cut by FakeAnthropic");
      }
      case STREAM_ERROR -> {
        head.add(frames.get(firstContent));
        ObjectNode error = JSON.objectNode().put("type", "error");
        error.putObject("error").put("type", fault.errorType()).put("message", fault.message());
        head.add(frame("error", error));
        yield writeFrames(ctx, headers, head, Duration.ZERO, null);
      }
      case MALFORMED -> {
        head.add("event: content_block_delta\ndata: {\"type\":\"content_bl\n\n");
        yield writeFrames(ctx, headers, head, Duration.ZERO, null);
      }
      default -> throw new IllegalStateException("fault " + kind + " is not a stream fault");
    };
  }

  private static ObjectNode delta(ObjectNode delta) {
    ObjectNode event = JSON.objectNode().put("type", "content_block_delta").put("index", 0);
    event.set("delta", delta);
    return event;
  }

  private String frame(String name, JsonNode data) {
    return "event: " + name + "\ndata: " + write(data) + "\n\n";
  }

  /** A 200 with a declared length it never finishes sending. */
  private HttpResponse cutBody(ServiceRequestContext ctx, Answer a) {
    ResponseHeaders headers =
        ResponseHeaders.builder(HttpStatus.OK)
            .contentType(MediaType.JSON_UTF_8)
            .contentLength(4096)
            .build();
    return writeFrames(
        ctx,
        headers,
        List.of("{\"id\":\"" + a.id() + "\",\"type\":\"message\","),
        Duration.ZERO,
        "cut by FakeAnthropic");
  }

  /**
   * Writes frames, all at once or one per {@code interval}, then ends the response: normally, or
   * when {@code cut} is not null by breaking it (a reset on HTTP/2, a closed connection on HTTP/1)
   * after a short pause that lets the frames reach the socket first.
   */
  private static HttpResponse writeFrames(
      ServiceRequestContext ctx,
      ResponseHeaders headers,
      List<String> frames,
      Duration interval,
      @Nullable String cut) {
    HttpResponseWriter res = HttpResponse.streaming();
    res.write(headers);
    if (interval.isZero()) {
      frames.forEach(f -> res.write(HttpData.ofUtf8(f)));
      finish(ctx, res, cut);
    } else {
      writePaced(ctx, res, frames, 0, interval, cut);
    }
    return res;
  }

  private static void writePaced(
      ServiceRequestContext ctx,
      HttpResponseWriter res,
      List<String> frames,
      int next,
      Duration interval,
      @Nullable String cut) {
    if (!res.isOpen()) {
      return; // the client went away
    }
    if (next == frames.size()) {
      finish(ctx, res, cut);
      return;
    }
    res.tryWrite(HttpData.ofUtf8(frames.get(next)));
    ctx.eventLoop()
        .schedule(
            () -> writePaced(ctx, res, frames, next + 1, interval, cut),
            interval.toMillis(),
            TimeUnit.MILLISECONDS);
  }

  private static void finish(
      ServiceRequestContext ctx, HttpResponseWriter res, @Nullable String cut) {
    if (cut == null) {
      res.close();
    } else {
      ctx.eventLoop()
          .schedule(() -> res.close(new IllegalStateException(cut)), 50, TimeUnit.MILLISECONDS);
    }
  }

  private HttpResponse error(
      int status, String type, String message, @Nullable Long retryAfterSeconds) {
    ObjectNode body = JSON.objectNode().put("type", "error");
    body.putObject("error").put("type", type).put("message", message);
    body.put("request_id", "req_fake_error");
    ResponseHeadersBuilder headers =
        ResponseHeaders.builder(HttpStatus.valueOf(status)).contentType(MediaType.JSON_UTF_8);
    if (retryAfterSeconds != null) {
      headers.add("retry-after", Long.toString(retryAfterSeconds));
    }
    return HttpResponse.of(headers.build(), HttpData.ofUtf8(write(body)));
  }

  private static List<JsonNode> blocks(JsonNode content) {
    List<JsonNode> blocks = new ArrayList<>();
    if (content.isTextual()) {
      blocks.add(JSON.objectNode().put("type", "text").put("text", content.asText()));
    } else if (content.isArray()) {
      content.forEach(blocks::add);
    }
    return blocks;
  }

  /** The text of a text block or a tool_result (whose content is a string or text blocks). */
  private static String text(JsonNode block) {
    if ("tool_result".equals(block.path("type").asText())) {
      List<String> parts = new ArrayList<>();
      for (JsonNode inner : blocks(block.path("content"))) {
        parts.add(inner.path("text").asText(""));
      }
      return String.join(" ", parts);
    }
    return block.path("text").asText("");
  }

  private @Nullable JsonNode parse(String raw) {
    try {
      return raw.isBlank() ? null : mapper.readTree(raw);
    } catch (JsonProcessingException e) {
      return null;
    }
  }

  private String write(JsonNode node) {
    try {
      return mapper.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
