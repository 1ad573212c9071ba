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
import com.linecorp.armeria.common.QueryParams;
import com.linecorp.armeria.common.ResponseHeaders;
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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A fake Gemini API ({@code POST /{v1beta|v1}/models/{model}:generateContent} and {@code
 * :streamGenerateContent}) on a random port, speaking the real wire format, for tests that need an
 * upstream. {@code :streamGenerateContent?alt=sse} answers server-sent events (each {@code data:} a
 * whole {@code GenerateContentResponse}, lines ending in CRLF as Google sends them); without {@code
 * alt=sse} it answers one JSON array, as Google does.
 *
 * <p>Register it with {@code @RegisterExtension static final FakeGemini gemini = new FakeGemini();}
 * and point a target at {@link #target()}. The key is accepted from {@code x-goog-api-key} or, as
 * Google also does, from {@code ?key=}; the request log lets a test prove it came in the header.
 *
 * <h2>What it answers (deterministic)</h2>
 *
 * <ul>
 *   <li>If the last user turn holds {@code functionResponse} parts: {@code "tool result: "}
 *       followed by each response's JSON, joined by a space.
 *   <li>Else, if the request declares functions and the calling mode is not {@code NONE}: one
 *       {@code functionCall} of the first allowed function (or the first declared), with args
 *       {@code {"query": <last user text>}}.
 *   <li>Else, per candidate i ({@code candidateCount}, default 1): {@code "echo: " + <last user
 *       text>} for candidate 0 and {@code "echo[i]: " + <last user text>} for the others.
 * </ul>
 *
 * Text is cut at the first stop sequence (finishReason {@code STOP}) and at {@code maxOutputTokens}
 * words ({@code MAX_TOKENS}). Tokens are words ({@link #countTokens}): {@code promptTokenCount}
 * counts every text of the system instruction and the contents (function responses as their JSON)
 * plus the cached tokens set with {@link #cachedTokens}, which also appear as {@code
 * cachedContentTokenCount}; {@code candidatesTokenCount} counts the text written (or the call's
 * args JSON) over all candidates.
 */
public final class FakeGemini extends ServerExtension {

  /** The only key this fake accepts. */
  public static final String API_KEY = "AIzaFake-0123456789";

  private static final Pattern PATH =
      Pattern.compile("/(v1beta|v1)/models/([^/:]+):(generateContent|streamGenerateContent)");
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private final ObjectMapper mapper = JsonMapper.builder().build();
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private final Queue<Fault> faults = new ConcurrentLinkedQueue<>();
  private final AtomicInteger sequence = new AtomicInteger();
  private final AtomicLong cached = new AtomicLong();
  private final AtomicInteger cancellations = new AtomicInteger();

  /**
   * One request as it reached the fake; {@code path} includes the query. Header names lower case.
   */
  public record Request(
      String method,
      String path,
      Map<String, String> headers,
      @Nullable JsonNode body,
      String raw) {}

  /** What to do instead of (or before) answering normally. */
  public enum FaultKind {
    /** Answer this status with Google's error body. */
    STATUS,
    /** Wait, then answer normally. */
    DELAY,
    /** Never answer (until the client gives up). */
    HANG,
    /** Streams: headers, then break the connection. Otherwise: half a body, then break. */
    CUT_BEFORE_CONTENT,
    /** Streams: the first text or call event, then break the connection. */
    CUT_AFTER_CONTENT,
    /** A 200 whose body (or, streaming, one event) is not JSON. */
    MALFORMED,
    /** Streams: an {@code error} object as an event after the first content. */
    STREAM_ERROR,
    /** A 200 with no candidates and {@code promptFeedback.blockReason} (the message). */
    BLOCKED,
    /** Streams: one event per {@code delay} (first at once); stops when the client goes away. */
    SLOW_STREAM
  }

  /**
   * A fault to inject.
   *
   * @param grpcStatus Google's status name, for STATUS and STREAM_ERROR
   * @param retryAfterSeconds sent as a {@code RetryInfo} detail with STATUS, when not null
   */
  public record Fault(
      FaultKind kind,
      int status,
      String grpcStatus,
      String message,
      Duration delay,
      @Nullable Long retryAfterSeconds) {
    public Fault {
      requireNonNull(kind, "kind");
      requireNonNull(grpcStatus, "grpcStatus");
      requireNonNull(message, "message");
      requireNonNull(delay, "delay");
    }

    /** An error answer with the status name Google uses for that HTTP status. */
    public static Fault status(int status) {
      String name =
          switch (status) {
            case 400 -> "INVALID_ARGUMENT";
            case 401 -> "UNAUTHENTICATED";
            case 403 -> "PERMISSION_DENIED";
            case 404 -> "NOT_FOUND";
            case 429 -> "RESOURCE_EXHAUSTED";
            case 503 -> "UNAVAILABLE";
            case 504 -> "DEADLINE_EXCEEDED";
            default -> "INTERNAL";
          };
      return status(status, name, "fake " + name);
    }

    public static Fault status(int status, String grpcStatus, String message) {
      return new Fault(FaultKind.STATUS, status, grpcStatus, message, Duration.ZERO, null);
    }

    public static Fault rateLimited(long retryAfterSeconds) {
      return new Fault(
          FaultKind.STATUS,
          429,
          "RESOURCE_EXHAUSTED",
          "You exceeded your current quota, please check your plan and billing details.",
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

    public static Fault streamError(int code, String grpcStatus, String message) {
      return new Fault(FaultKind.STREAM_ERROR, code, grpcStatus, message, Duration.ZERO, null);
    }

    /** A stream paced at one event per interval; a non-streamed answer is delayed by it. */
    public static Fault slowStream(Duration interval) {
      return new Fault(FaultKind.SLOW_STREAM, 200, "", "", interval, null);
    }

    public static Fault blocked(String blockReason) {
      return new Fault(FaultKind.BLOCKED, 200, "", blockReason, Duration.ZERO, null);
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
    return new ProviderTarget("gemini", ProviderType.GEMINI, baseUrl(), API_KEY, null);
  }

  /** Queues faults; each request takes the next one. */
  public void enqueue(Fault... next) {
    faults.addAll(List.of(next));
  }

  /** Cached prompt tokens reported by every answer from now on. */
  public void cachedTokens(long tokens) {
    cached.set(tokens);
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
      throw new IllegalStateException("FakeGemini has received no request");
    }
    return requests.get(requests.size() - 1);
  }

  /** Forgets requests, queued faults and cached tokens. */
  public void reset() {
    requests.clear();
    faults.clear();
    cached.set(0);
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
      return error(500, "INTERNAL", "FakeGemini failed: " + e, null);
    }
  }

  private HttpResponse handle(ServiceRequestContext ctx, AggregatedHttpRequest agg) {
    String raw = agg.contentUtf8();
    JsonNode body = parse(raw);
    Map<String, String> headers = new LinkedHashMap<>();
    agg.headers().forEach((k, v) -> headers.merge(k.toString(), v, (a, b) -> a + "," + b));
    requests.add(new Request(agg.method().name(), agg.path(), headers, body, raw));
    ctx.whenRequestCancelled().thenRun(cancellations::incrementAndGet);

    Matcher m = PATH.matcher(ctx.path());
    if (!m.matches() || !"POST".equals(agg.method().name())) {
      return error(404, "NOT_FOUND", "Requested entity was not found.", null);
    }
    String model = m.group(2);
    boolean streamMethod = "streamGenerateContent".equals(m.group(3));
    QueryParams query = QueryParams.fromQueryString(ctx.query() == null ? "" : ctx.query());
    boolean sse = streamMethod && "sse".equals(query.get("alt"));
    String key = agg.headers().get("x-goog-api-key");
    if (key == null) {
      key = query.get("key");
    }
    if (key == null) {
      return error(
          403,
          "PERMISSION_DENIED",
          "Method doesn't allow unregistered callers (callers without established identity)."
              + " Please use API Key or other form of API consumer identity to call this API.",
          null);
    }
    if (!API_KEY.equals(key)) {
      ObjectNode err =
          errorBody(
              400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", null);
      ((ObjectNode) err.path("error"))
          .putArray("details")
          .addObject()
          .put("@type", "type.googleapis.com/google.rpc.ErrorInfo")
          .put("reason", "API_KEY_INVALID")
          .put("domain", "googleapis.com");
      return HttpResponse.of(HttpStatus.BAD_REQUEST, MediaType.JSON_UTF_8, write(err));
    }
    if (body == null || !body.isObject()) {
      return error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.", null);
    }
    String invalid = validate(body);
    if (invalid != null) {
      return error(400, "INVALID_ARGUMENT", invalid, null);
    }

    Fault fault = faults.poll();
    Answer answer = answer(model, body);
    if (fault == null) {
      return respond(ctx, answer, streamMethod, sse, null);
    }
    return switch (fault.kind()) {
      case STATUS ->
          error(fault.status(), fault.grpcStatus(), fault.message(), fault.retryAfterSeconds());
      case SLOW_STREAM ->
          sse
              ? respond(ctx, answer, true, true, fault)
              : HttpResponse.delayed(
                  () -> respond(ctx, answer, streamMethod, false, null),
                  fault.delay(),
                  ctx.eventLoop());
      case DELAY ->
          HttpResponse.delayed(
              () -> respond(ctx, answer, streamMethod, sse, null), fault.delay(), ctx.eventLoop());
      case HANG -> HttpResponse.of(new CompletableFuture<HttpResponse>());
      case BLOCKED -> {
        ObjectNode blocked = JSON.objectNode();
        blocked.putObject("promptFeedback").put("blockReason", fault.message());
        blocked.set("usageMetadata", usage(answer, answer.candidates().size(), true));
        blocked.put("modelVersion", answer.model());
        blocked.put("responseId", answer.id());
        yield sse
            ? HttpResponse.of(
                HttpStatus.OK, MediaType.EVENT_STREAM, "data: " + write(blocked) + "\r\n\r\n")
            : HttpResponse.of(
                HttpStatus.OK,
                MediaType.JSON_UTF_8,
                streamMethod ? "[" + write(blocked) + "]" : write(blocked));
      }
      case MALFORMED ->
          sse
              ? respond(ctx, answer, true, true, fault)
              : HttpResponse.of(
                  HttpStatus.OK, MediaType.JSON_UTF_8, "{\"candidates\": [{\"content\": {\"par");
      case CUT_BEFORE_CONTENT, CUT_AFTER_CONTENT, STREAM_ERROR ->
          sse ? respond(ctx, answer, true, true, fault) : cutBody(ctx, answer);
    };
  }

  /** The checks Gemini makes that a translator could get wrong. */
  private static @Nullable String validate(JsonNode body) {
    JsonNode contents = body.path("contents");
    if (!contents.isArray() || contents.isEmpty()) {
      return "* GenerateContentRequest.contents: contents is not specified";
    }
    for (int i = 0; i < contents.size(); i++) {
      String role = contents.get(i).path("role").asText("user");
      if (!role.equals("user") && !role.equals("model")) {
        return "Please use a valid role: user, model.";
      }
      if (contents.get(i).path("parts").isEmpty()) {
        return "* GenerateContentRequest.contents["
            + i
            + "].parts: contents.parts must not be empty.";
      }
    }
    return null;
  }

  /** What the fake will say to one request. */
  private record Answer(
      String id,
      String model,
      List<String> candidates,
      @Nullable ObjectNode functionCall,
      List<String> finishReasons,
      long promptTokens,
      long outputTokens,
      long cachedTokens) {}

  private Answer answer(String model, JsonNode body) {
    int n = sequence.incrementAndGet();
    long prompt = 0;
    for (JsonNode part : body.path("systemInstruction").path("parts")) {
      prompt += countTokens(part.path("text").asText(""));
    }
    JsonNode lastUser = null;
    for (JsonNode content : body.path("contents")) {
      for (JsonNode part : content.path("parts")) {
        prompt += countTokens(partText(part));
      }
      if ("user".equals(content.path("role").asText("user"))) {
        lastUser = content;
      }
    }
    List<String> texts = new ArrayList<>();
    List<String> results = new ArrayList<>();
    if (lastUser != null) {
      for (JsonNode part : lastUser.path("parts")) {
        if (part.has("functionResponse")) {
          results.add(write(part.path("functionResponse").path("response")));
        } else if (part.has("text")) {
          texts.add(part.path("text").asText());
        }
      }
    }
    String userText = String.join(" ", texts);
    long cachedTokens = cached.get();
    String id = "fake-gemini-" + n;
    JsonNode decls = body.path("tools").path(0).path("functionDeclarations");
    JsonNode callingConfig = body.path("toolConfig").path("functionCallingConfig");
    String mode = callingConfig.path("mode").asText("AUTO");
    if (results.isEmpty() && decls.isArray() && !decls.isEmpty() && !"NONE".equals(mode)) {
      String name =
          callingConfig
              .path("allowedFunctionNames")
              .path(0)
              .asText(decls.get(0).path("name").asText());
      ObjectNode call = JSON.objectNode();
      call.put("name", name);
      call.putObject("args").put("query", userText);
      return new Answer(
          id,
          model,
          List.of(""),
          call,
          List.of("STOP"),
          prompt + cachedTokens,
          countTokens(write(call.get("args"))),
          cachedTokens);
    }
    JsonNode config = body.path("generationConfig");
    int count = config.path("candidateCount").asInt(1);
    int max = config.path("maxOutputTokens").asInt(Integer.MAX_VALUE);
    List<String> out = new ArrayList<>();
    List<String> reasons = new ArrayList<>();
    long output = 0;
    for (int i = 0; i < count; i++) {
      String text =
          results.isEmpty()
              ? (i == 0 ? "echo: " : "echo[" + i + "]: ") + userText
              : "tool result: " + String.join(" ", results);
      String reason = "STOP";
      for (JsonNode seq : config.path("stopSequences")) {
        int at = text.indexOf(seq.asText());
        if (at >= 0) {
          text = text.substring(0, at);
        }
      }
      if (countTokens(text) > max) {
        text = String.join(" ", List.of(text.split(" ", -1)).subList(0, max));
        reason = "MAX_TOKENS";
      }
      out.add(text);
      reasons.add(reason);
      output += countTokens(text);
    }
    return new Answer(id, model, out, null, reasons, prompt + cachedTokens, output, cachedTokens);
  }

  private HttpResponse respond(
      ServiceRequestContext ctx,
      Answer a,
      boolean streamMethod,
      boolean sse,
      @Nullable Fault fault) {
    if (!streamMethod) {
      return HttpResponse.of(HttpStatus.OK, MediaType.JSON_UTF_8, write(whole(a)));
    }
    List<ObjectNode> events = events(a);
    if (!sse) {
      ArrayNode array = JSON.arrayNode();
      events.forEach(array::add);
      return HttpResponse.of(HttpStatus.OK, MediaType.JSON_UTF_8, write(array));
    }
    // Every event carries content (Gemini sends no empty preamble): the first is the content.
    List<String> frames = new ArrayList<>();
    events.forEach(e -> frames.add("data: " + write(e) + "\r\n\r\n"));
    ResponseHeaders headers =
        ResponseHeaders.builder(HttpStatus.OK).contentType(MediaType.EVENT_STREAM).build();
    FaultKind kind = fault == null ? null : fault.kind();
    if (kind == null || kind == FaultKind.SLOW_STREAM) {
      return writeFrames(ctx, headers, frames, kind == null ? Duration.ZERO : fault.delay(), null);
    }
    return switch (kind) {
      case CUT_BEFORE_CONTENT ->
          writeFrames(ctx, headers, List.of(), Duration.ZERO, "cut by FakeGemini");
      case CUT_AFTER_CONTENT ->
          writeFrames(ctx, headers, frames.subList(0, 1), Duration.ZERO, "cut by FakeGemini");
      case STREAM_ERROR -> {
        ObjectNode error = errorBody(fault.status(), fault.grpcStatus(), fault.message(), null);
        yield writeFrames(
            ctx,
            headers,
            List.of(frames.get(0), "data: " + write(error) + "\r\n\r\n"),
            Duration.ZERO,
            null);
      }
      case MALFORMED ->
          writeFrames(
              ctx,
              headers,
              List.of("data: {\"candidates\": [{\"content\"\r\n\r\n"),
              Duration.ZERO,
              null);
      default -> throw new IllegalStateException("fault " + kind + " is not a stream fault");
    };
  }

  /** The non-streamed answer: all candidates whole. */
  private ObjectNode whole(Answer a) {
    ObjectNode out = JSON.objectNode();
    ArrayNode candidates = out.putArray("candidates");
    for (int i = 0; i < a.candidates().size(); i++) {
      ObjectNode c = candidates.addObject();
      ObjectNode content = c.putObject("content");
      ArrayNode parts = content.putArray("parts");
      if (a.functionCall() != null) {
        parts.addObject().set("functionCall", a.functionCall());
      } else {
        parts.addObject().put("text", a.candidates().get(i));
      }
      content.put("role", "model");
      c.put("finishReason", a.finishReasons().get(i));
      c.put("index", i);
    }
    out.set("usageMetadata", usage(a, a.candidates().size(), true));
    out.put("modelVersion", a.model());
    out.put("responseId", a.id());
    return out;
  }

  /**
   * The streamed answer: one event per word of each candidate (candidates side by side), the last
   * carrying every finishReason and the output tokens; a function call comes whole.
   */
  private List<ObjectNode> events(Answer a) {
    List<ObjectNode> events = new ArrayList<>();
    if (a.functionCall() != null) {
      ObjectNode e = JSON.objectNode();
      ObjectNode c = e.putArray("candidates").addObject();
      c.putObject("content")
          .put("role", "model")
          .putArray("parts")
          .addObject()
          .set("functionCall", a.functionCall());
      c.put("finishReason", "STOP");
      c.put("index", 0);
      e.set("usageMetadata", usage(a, 1, true));
      e.put("modelVersion", a.model());
      e.put("responseId", a.id());
      events.add(e);
      return events;
    }
    List<String[]> pieces = new ArrayList<>();
    int rounds = 0;
    for (String text : a.candidates()) {
      String[] words = text.split(" ", -1);
      String[] p = new String[words.length];
      for (int w = 0; w < words.length; w++) {
        p[w] = w == 0 ? words[w] : " " + words[w];
      }
      pieces.add(p);
      rounds = Math.max(rounds, p.length);
    }
    for (int r = 0; r < rounds; r++) {
      boolean last = r == rounds - 1;
      ObjectNode e = JSON.objectNode();
      ArrayNode candidates = e.putArray("candidates");
      for (int i = 0; i < pieces.size(); i++) {
        String[] p = pieces.get(i);
        if (r >= p.length && !last) {
          continue;
        }
        ObjectNode c = candidates.addObject();
        ArrayNode parts = c.putObject("content").put("role", "model").putArray("parts");
        if (r < p.length) {
          parts.addObject().put("text", p[r]);
        }
        if (last) {
          c.put("finishReason", a.finishReasons().get(i));
        }
        c.put("index", i);
      }
      e.set("usageMetadata", usage(a, a.candidates().size(), last));
      e.put("modelVersion", a.model());
      e.put("responseId", a.id());
      events.add(e);
    }
    return events;
  }

  private static ObjectNode usage(Answer a, int candidates, boolean withOutput) {
    ObjectNode u = JSON.objectNode();
    u.put("promptTokenCount", a.promptTokens());
    long output = withOutput ? a.outputTokens() : 0;
    if (withOutput && candidates > 0) {
      u.put("candidatesTokenCount", output);
    }
    u.put("totalTokenCount", a.promptTokens() + output);
    if (a.cachedTokens() > 0) {
      u.put("cachedContentTokenCount", a.cachedTokens());
    }
    return u;
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
        List.of("{\"responseId\": \"" + a.id() + "\", \"candidates\": ["),
        Duration.ZERO,
        "cut by FakeGemini");
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
      writePaced(ctx, res, List.copyOf(frames), 0, interval, cut);
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

  private static ObjectNode errorBody(
      int code, String status, String message, @Nullable Long retryAfterSeconds) {
    ObjectNode body = JSON.objectNode();
    ObjectNode error = body.putObject("error");
    error.put("code", code);
    error.put("message", message);
    error.put("status", status);
    if (retryAfterSeconds != null) {
      error
          .putArray("details")
          .addObject()
          .put("@type", "type.googleapis.com/google.rpc.RetryInfo")
          .put("retryDelay", retryAfterSeconds + "s");
    }
    return body;
  }

  private HttpResponse error(
      int code, String status, String message, @Nullable Long retryAfterSeconds) {
    return HttpResponse.of(
        HttpStatus.valueOf(code),
        MediaType.JSON_UTF_8,
        write(errorBody(code, status, message, retryAfterSeconds)));
  }

  private String partText(JsonNode part) {
    if (part.has("text")) {
      return part.path("text").asText();
    }
    if (part.has("functionResponse")) {
      return write(part.path("functionResponse").path("response"));
    }
    return "";
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
