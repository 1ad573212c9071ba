package io.agentrouter.it;

import static io.agentrouter.it.Planes.log;
import static org.assertj.core.api.Assertions.assertThat;

import com.linecorp.armeria.client.WebClient;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import com.linecorp.armeria.common.RequestHeadersBuilder;
import com.nimbusds.jwt.SignedJWT;
import io.agentrouter.common.keys.ApiKeys;
import io.agentrouter.dataplane.TestGateway;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import io.agentrouter.dataplane.upstream.SseParser;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.text.ParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Generated malformed input, from a seeded random generator (seed printed, {@code
 * -Devidence.seed=N} to replay), against the parsers a client or provider can reach: request bodies
 * of every API surface through a real data plane's HTTP endpoint, credentials in the {@code
 * Authorization} header, the SSE parser that reads provider streams, the JWT parser and the API-key
 * parser. The properties: no crash (no exception but the parser's documented rejection), no 5xx, no
 * case over 1 s, every HTTP refusal in the surface's error shape, bodies over the cap 413.
 */
@ExtendWith(SecretWatch.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MalformedInputEvidenceIT {
  private static final String CHECK = "Malformed input";
  private static final int MAX_BODY = 16 * 1024;
  private static final long HANG_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final int IN_FLIGHT = 8;

  private static final long SEED = Long.getLong("evidence.seed", 0x5EED_2026L);
  private static final int HTTP_BODIES = Evidence.size(12_000, 200_000);
  private static final int HTTP_CREDENTIALS = Evidence.size(5_000, 100_000);
  private static final int SSE_STREAMS = Evidence.size(18_000, 350_000);
  private static final int JWTS = Evidence.size(5_000, 150_000);
  private static final int MAX_CREDENTIAL = 4096;
  private static final int API_KEYS = Evidence.size(10_000, 200_000);

  /** A surface: its path, a valid body to start from and the error shape it answers in. */
  record Surface(String path, String seed, boolean anthropic) {}

  private static final List<Surface> SURFACES =
      List.of(
          new Surface(
              "/v1/chat/completions",
              "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":\"be"
                  + " brief\"},{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}],"
                  + "\"max_tokens\":16,\"temperature\":0.5,\"stream\":false,\"tools\":[{\"type\":"
                  + "\"function\",\"function\":{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}}],"
                  + "\"stream_options\":{\"include_usage\":true},\"user\":\"u\"}",
              false),
          new Surface(
              "/v1/embeddings",
              "{\"model\":\"text-embedding-3-small\",\"input\":[\"a\",\"b\"],"
                  + "\"encoding_format\":\"float\",\"dimensions\":8}",
              false),
          new Surface(
              "/v1/messages",
              "{\"model\":\"gpt-4o-mini\",\"max_tokens\":16,\"system\":\"s\",\"messages\":[{\"role\":"
                  + "\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]},{\"role\":"
                  + "\"assistant\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":\"more\"}],"
                  + "\"stream\":false,\"temperature\":1,\"metadata\":{\"user_id\":\"u\"}}",
              true),
          new Surface(
              "/v1/messages/count_tokens",
              "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
              true),
          new Surface(
              "/v1/responses",
              "{\"model\":\"gpt-4o-mini\",\"input\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                  + "\"instructions\":\"be brief\",\"max_output_tokens\":16,\"stream\":false}",
              false));

  private static final String[] JSON_TOKENS = {
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    "\"",
    "\\",
    "null",
    "true",
    "false",
    "-",
    "0",
    "1e999999",
    "-0.0e-0",
    "123456789012345678901234567890",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"\u00e9\u4e2d\"",
    "NaN",
    "Infinity",
    "/*",
    "//",
    "'",
    "\u0000",
    "\uFEFF",
    "\"model\"",
    "\"messages\"",
    "\"stream\":true",
    "\"role\"",
    "\"content\"",
    "\"tools\"",
    "\"max_tokens\"",
    "[[[[",
    "]]]]",
    "{\"\":{}}",
    "\"\\\"",
    " ",
    "\n",
    "\t"
  };

  private static final String[] FIELD_NAMES = {
    "model",
    "messages",
    "content",
    "role",
    "input",
    "max_tokens",
    "max_output_tokens",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "system",
    "temperature",
    "top_p",
    "stop",
    "response_format",
    "metadata",
    "user",
    "encoding_format",
    "dimensions",
    "instructions",
    "text",
    "type",
    "parallel_tool_calls",
    "seed",
    "logit_bias",
    "__proto__",
    ""
  };

  private final Random random = new Random(SEED);
  private final String key = TestGateway.newKey();
  private FakeOpenAi fake;
  private TestGateway gw;
  private WebClient web;

  @BeforeAll
  void start() {
    SecretWatch.secret(key);
    fake = FakeOpenAi.start();
    gw =
        TestGateway.start(
            """
            providers: [{name: openai, type: openai, base_url: "%s"}]
            models:
              - {provider: openai, model: gpt-4o-mini}
              - {provider: openai, model: text-embedding-3-small}
            projects: [{id: p}]
            keys: [{token: "%s", project: p}]
            """
                .formatted(fake.baseUrl(), key),
            TestGateway.settings().withMaxRequestBytes(MAX_BODY));
    web = WebClient.builder(gw.url()).responseTimeoutMillis(30_000).maxResponseLength(0).build();
    log.info("it: malformed input: seed {} (replay with -Devidence.seed={})", SEED, SEED);
  }

  @AfterAll
  void stop() {
    if (gw != null) {
      gw.close();
    }
    if (fake != null) {
      fake.close();
    }
  }

  /** Tallies of one run of cases. */
  static final class Tally {
    final AtomicLong cases = new AtomicLong();
    final AtomicLong crashes = new AtomicLong();
    final AtomicLong serverErrors = new AtomicLong();
    final AtomicLong badShapes = new AtomicLong();
    final AtomicLong hangs = new AtomicLong();
    final AtomicLong oversized = new AtomicLong();
    final AtomicLong oversizedNot413 = new AtomicLong();
    final AtomicLong accepted = new AtomicLong();
    final AtomicLong rejected = new AtomicLong();
    final AtomicLong libraryExceptions = new AtomicLong();
    final Map<Integer, AtomicLong> statuses = new ConcurrentHashMap<>();
    final ConcurrentLinkedQueue<String> examples = new ConcurrentLinkedQueue<>();

    void problem(AtomicLong counter, String example) {
      counter.incrementAndGet();
      if (examples.size() < 10) {
        examples.add(ErrorShapes.abbreviate(example));
      }
    }

    long failures() {
      return crashes.get()
          + serverErrors.get()
          + badShapes.get()
          + hangs.get()
          + oversizedNot413.get();
    }

    @Override
    public String toString() {
      return cases
          + " cases, "
          + crashes
          + " crashes, "
          + serverErrors
          + " 5xx, "
          + hangs
          + " over 1 s, "
          + badShapes
          + " off-shape refusals, "
          + oversized
          + " over the cap ("
          + oversizedNot413
          + " not 413); "
          + accepted
          + " accepted, "
          + rejected
          + " refused";
    }
  }

  @Test
  void generatedMalformedInputNeverCrashesHangsOr5xx() throws Exception {
    long t0 = System.nanoTime();
    Tally bodies = httpBodies();
    Tally credentials = httpCredentials();
    Tally sse = sseStreams();
    Tally jwts = jwtParser();
    Tally keys = apiKeyParser();
    long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
    long total =
        bodies.cases.get()
            + credentials.cases.get()
            + sse.cases.get()
            + jwts.cases.get()
            + keys.cases.get();
    long failures =
        bodies.failures()
            + credentials.failures()
            + sse.failures()
            + jwts.failures()
            + keys.failures();
    log.info("it: malformed request bodies over HTTP: {}; statuses {}", bodies, bodies.statuses);
    log.info(
        "it: malformed credentials over HTTP: {}; statuses {}", credentials, credentials.statuses);
    log.info("it: SSE parser: {}", sse);
    log.info("it: JWT parser: {}", jwts);
    log.info("it: API-key parser: {}", keys);
    List<String> examples = new ArrayList<>();
    for (Tally t : List.of(bodies, credentials, sse, jwts, keys)) {
      examples.addAll(t.examples);
    }
    log.info("it: malformed input failures (first few): {}", examples);
    Evidence.figure(
        CHECK,
        total
            + " cases in "
            + seconds
            + " s (seed "
            + SEED
            + "): HTTP bodies "
            + bodies.cases
            + ", HTTP credentials "
            + credentials.cases
            + ", SSE "
            + sse.cases
            + ", JWT "
            + jwts.cases
            + ", API keys "
            + keys.cases
            + "; crashes "
            + (bodies.crashes.get()
                + credentials.crashes.get()
                + sse.crashes.get()
                + jwts.crashes.get()
                + keys.crashes.get())
            + ", 5xx "
            + (bodies.serverErrors.get() + credentials.serverErrors.get())
            + ", over 1 s "
            + (bodies.hangs.get()
                + credentials.hangs.get()
                + sse.hangs.get()
                + jwts.hangs.get()
                + keys.hangs.get())
            + ", off-shape refusals "
            + (bodies.badShapes.get() + credentials.badShapes.get())
            + ", over the cap "
            + bodies.oversized
            + " ("
            + bodies.oversizedNot413
            + " not 413); nimbus SignedJWT.parse threw a non-ParseException for "
            + jwts.libraryExceptions
            + " of "
            + jwts.cases
            + " direct cases (contained by the data plane: 401)",
        "0 crashes, 0 5xx, 0 over 1 s, 100% in shape, 413 over the cap",
        failures == 0);
    assertThat(examples).as("failures").isEmpty();
    assertThat(failures).isZero();
  }

  // ---- HTTP: request bodies -------------------------------------------------------------------

  private Tally httpBodies() throws Exception {
    Tally t = new Tally();
    runHttp(HTTP_BODIES, this::bodyCase, t);
    return t;
  }

  private Case bodyCase() {
    {
      Surface s = SURFACES.get(random.nextInt(SURFACES.size()));
      int kind = random.nextInt(100);
      byte[] body;
      boolean oversized = false;
      if (kind < 3) {
        body = oversized(s);
        oversized = true;
      } else if (kind < 8) {
        body = s.seed().getBytes(StandardCharsets.UTF_8); // valid: the generator's baseline
      } else if (kind < 14) {
        body = randomBytes(random.nextInt(512));
      } else if (kind < 18) {
        body = deep(random.nextInt(4) == 0 ? 100_000 / 2 : 1 + random.nextInt(3000));
      } else if (kind < 55) {
        body = mutateText(s.seed()).getBytes(StandardCharsets.UTF_8);
      } else {
        body = mutateStructure(s.seed()).getBytes(StandardCharsets.UTF_8);
      }
      if (!oversized && body.length > MAX_BODY) {
        oversized = true;
      }
      String contentType =
          random.nextInt(50) == 0
              ? (random.nextBoolean() ? null : "application/json; charset=latin1")
              : "application/json";
      return new Case(s, body, contentType, "Bearer " + key, oversized);
    }
  }

  private byte[] oversized(Surface s) {
    String pad = "x".repeat(MAX_BODY + random.nextInt(MAX_BODY));
    return s.seed()
        .replace("\"hi\"", "\"" + pad + "\"")
        .replace("\"a\"", "\"" + pad + "\"")
        .getBytes(StandardCharsets.UTF_8);
  }

  private byte[] deep(int depth) {
    StringBuilder b = new StringBuilder("{\"model\":\"gpt-4o-mini\",\"messages\":");
    String open = random.nextBoolean() ? "[" : "{\"a\":";
    b.append(open.repeat(depth));
    return b.append("1")
        .append((open.equals("[") ? "]" : "}").repeat(depth))
        .append("}")
        .toString()
        .getBytes(StandardCharsets.UTF_8);
  }

  private byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return b;
  }

  /** Character-level damage: deletions, insertions of JSON tokens, swaps, truncation. */
  private String mutateText(String seed) {
    StringBuilder b = new StringBuilder(seed);
    int edits = 1 + random.nextInt(6);
    for (int e = 0; e < edits && !b.isEmpty(); e++) {
      int at = random.nextInt(b.length());
      switch (random.nextInt(6)) {
        case 0 -> b.deleteCharAt(at);
        case 1 -> b.insert(at, JSON_TOKENS[random.nextInt(JSON_TOKENS.length)]);
        case 2 -> b.setCharAt(at, (char) random.nextInt(0x80));
        case 3 -> b.setLength(at);
        case 4 -> b.setCharAt(at, (char) random.nextInt(0x10000));
        default -> {
          int to = Math.min(b.length(), at + random.nextInt(40));
          b.insert(random.nextInt(b.length()), b.substring(at, to));
        }
      }
    }
    return b.toString();
  }

  /**
   * Well-formed JSON with the wrong content: a field's value swapped for a value of another type,
   * fields dropped or duplicated, unknown fields added.
   */
  private String mutateStructure(String seed) {
    String s = seed;
    int edits = 1 + random.nextInt(4);
    for (int e = 0; e < edits; e++) {
      String field = FIELD_NAMES[random.nextInt(FIELD_NAMES.length)];
      String needle = "\"" + field + "\":";
      int at = s.indexOf(needle);
      String value = randomJson(3);
      if (at < 0 || random.nextInt(4) == 0) {
        // An added (or duplicated) field at the top level.
        s = "{" + needle + value + "," + s.substring(1);
      } else {
        int start = at + needle.length();
        int end = endOfValue(s, start);
        s = s.substring(0, start) + value + s.substring(end);
      }
    }
    return s;
  }

  private static int endOfValue(String s, int start) {
    int depth = 0;
    boolean inString = false;
    for (int i = start; i < s.length(); i++) {
      char c = s.charAt(i);
      if (inString) {
        if (c == '\\') {
          i++;
        } else if (c == '"') {
          inString = false;
          if (depth == 0) {
            return i + 1;
          }
        }
      } else if (c == '"') {
        inString = true;
      } else if (c == '{' || c == '[') {
        depth++;
      } else if (c == '}' || c == ']') {
        if (depth == 0) {
          return i;
        }
        depth--;
        if (depth == 0) {
          return i + 1;
        }
      } else if (c == ',' && depth == 0) {
        return i;
      }
    }
    return s.length();
  }

  private String randomJson(int depth) {
    int k = random.nextInt(depth <= 0 ? 7 : 10);
    return switch (k) {
      case 0 -> "null";
      case 1 -> random.nextBoolean() ? "true" : "false";
      case 2 -> Long.toString(random.nextLong());
      case 3 ->
          List.of("1e308", "-1e308", "1e-400", "0.0", "-0", "1.5", "99999999999999999999999")
              .get(random.nextInt(7));
      case 4 -> "\"\"";
      case 5 -> "\"" + randomString(random.nextInt(40)) + "\"";
      case 6 -> "\"" + "y".repeat(random.nextInt(4000)) + "\"";
      case 7 -> {
        StringBuilder b = new StringBuilder("[");
        int n = random.nextInt(4);
        for (int i = 0; i < n; i++) {
          b.append(i == 0 ? "" : ",").append(randomJson(depth - 1));
        }
        yield b.append("]").toString();
      }
      case 8 -> {
        StringBuilder b = new StringBuilder("{");
        int n = random.nextInt(4);
        for (int i = 0; i < n; i++) {
          b.append(i == 0 ? "" : ",")
              .append("\"")
              .append(FIELD_NAMES[random.nextInt(FIELD_NAMES.length)])
              .append("\":")
              .append(randomJson(depth - 1));
        }
        yield b.append("}").toString();
      }
      default ->
          "[{\"role\":\""
              + List.of("user", "assistant", "system", "tool", "developer", "", "x")
                  .get(random.nextInt(7))
              + "\",\"content\":"
              + randomJson(depth - 1)
              + "}]";
    };
  }

  /** JSON-string-safe random text: escapes, unicode, surrogates as escapes, control chars. */
  private String randomString(int n) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < n; i++) {
      switch (random.nextInt(5)) {
        case 0 -> b.append(String.format("\\u%04x", random.nextInt(0x10000)));
        case 1 -> b.append("\\n\\t\\\"\\\\");
        case 2 -> b.appendCodePoint(0x80 + random.nextInt(0xD700));
        default -> b.append((char) ('a' + random.nextInt(26)));
      }
    }
    return b.toString();
  }

  // ---- HTTP: credentials ----------------------------------------------------------------------

  private Tally httpCredentials() throws Exception {
    Tally t = new Tally();
    runHttp(HTTP_CREDENTIALS, this::credentialCase, t);
    return t;
  }

  private Case credentialCase() {
    Surface chat = SURFACES.get(0);
    byte[] body = chat.seed().getBytes(StandardCharsets.UTF_8);
    {
      String token =
          switch (random.nextInt(4)) {
            case 0 -> randomJwt();
            case 1 -> mutateKey(key);
            case 2 -> randomJwtLike();
            default -> randomHeaderText(random.nextInt(200));
          };
      // Longer headers are refused by the HTTP/2 client before they are sent (8 KiB header list).
      if (token.length() > MAX_CREDENTIAL) {
        token = token.substring(0, MAX_CREDENTIAL);
      }
      String header = random.nextInt(10) == 0 ? token : "Bearer " + token;
      return new Case(chat, body, "application/json", header, false);
    }
  }

  private String mutateKey(String k) {
    StringBuilder b = new StringBuilder(k);
    int at = random.nextInt(b.length());
    switch (random.nextInt(4)) {
      case 0 -> b.setCharAt(at, (char) ('0' + random.nextInt(75)));
      case 1 -> b.deleteCharAt(at);
      case 2 -> b.insert(at, (char) ('A' + random.nextInt(26)));
      default -> b.setLength(at);
    }
    return b.toString();
  }

  /** Three base64url segments of JSON-ish or random content. */
  private String randomJwt() {
    String header =
        List.of(
                "{\"alg\":\"ES256\",\"kid\":\"k\"}",
                "{\"alg\":\"none\"}",
                "{\"alg\":\"HS256\"}",
                "{\"alg\":" + randomJson(2) + "}",
                "{\"alg\":\"ES256\",\"jku\":\"http://127.0.0.1:1/\",\"crit\":"
                    + randomJson(1)
                    + "}",
                mutateText("{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"ar-1\"}"),
                randomJson(2))
            .get(random.nextInt(7));
    String payload =
        random.nextBoolean()
            ? mutateText(
                "{\"iss\":\"agentrouter-control-plane\",\"aud\":\"agentrouter-dataplane\",\"exp\":"
                    + (System.currentTimeMillis() / 1000 + 300)
                    + ",\"jti\":\""
                    + UUID.randomUUID()
                    + "\"}")
            : randomJson(3);
    byte[] sig = randomBytes(random.nextInt(3) == 0 ? 64 : random.nextInt(200));
    Base64.Encoder e = Base64.getUrlEncoder().withoutPadding();
    return e.encodeToString(header.getBytes(StandardCharsets.UTF_8))
        + "."
        + e.encodeToString(payload.getBytes(StandardCharsets.UTF_8))
        + "."
        + e.encodeToString(sig);
  }

  /** Dots and base64url-ish characters in random amounts and places. */
  private String randomJwtLike() {
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/";
    StringBuilder b = new StringBuilder("eyJ");
    int n = random.nextInt(600);
    for (int i = 0; i < n; i++) {
      b.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return b.toString();
  }

  /** Printable ASCII (what an HTTP header may carry), including spaces. */
  private String randomHeaderText(int n) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < n; i++) {
      b.append((char) (0x20 + random.nextInt(0x5f)));
    }
    return b.toString().strip();
  }

  // ---- HTTP runner ----------------------------------------------------------------------------

  record Case(
      Surface surface, byte[] body, String contentType, String authorization, boolean oversized) {}

  private void runHttp(int count, java.util.function.Supplier<Case> next, Tally t)
      throws Exception {
    Semaphore slots = new Semaphore(IN_FLIGHT);
    List<Case> slow = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Case c = next.get();
      slots.acquire();
      long start = System.nanoTime();
      send(c)
          .handle(
              (r, err) -> {
                slots.release();
                long took = System.nanoTime() - start;
                judge(c, r, err, took, t, slow);
                return null;
              });
      if (fake.received().size() > 1000) {
        fake.reset();
      }
    }
    // Every case finished once every slot is free again.
    if (!slots.tryAcquire(IN_FLIGHT, 5, TimeUnit.MINUTES)) {
      t.problem(t.hangs, "requests still running after 5 minutes");
    }
    slots.release(IN_FLIGHT);
    // A case over 1 s under 8 concurrent requests on a shared box is run again, alone: a hang is
    // a case that is slow on its own, not one that waited behind a garbage collection.
    for (Case c : slow) {
      long start = System.nanoTime();
      AggregatedHttpResponse r = send(c).get(30, TimeUnit.SECONDS);
      long took = System.nanoTime() - start;
      if (took > HANG_NANOS) {
        t.problem(
            t.hangs, c.surface().path() + " took " + took / 1_000_000 + " ms alone: " + r.status());
      }
    }
  }

  private synchronized void judge(
      Case c, AggregatedHttpResponse r, Throwable err, long took, Tally t, List<Case> slow) {
    t.cases.incrementAndGet();
    if (err != null) {
      t.problem(t.crashes, c.surface().path() + ": no response: " + err);
      return;
    }
    int status = r.status().code();
    t.statuses.computeIfAbsent(status, s -> new AtomicLong()).incrementAndGet();
    if (took > HANG_NANOS) {
      slow.add(c);
    }
    if (c.oversized()) {
      t.oversized.incrementAndGet();
      if (status != 413) {
        t.problem(
            t.oversizedNot413, c.surface().path() + ": " + c.body().length + " bytes -> " + status);
      }
    }
    if (status >= 500) {
      t.problem(
          t.serverErrors,
          c.surface().path()
              + " -> "
              + status
              + " "
              + r.contentUtf8()
              + " for body "
              + new String(c.body(), StandardCharsets.UTF_8));
      return;
    }
    if (status / 100 == 2) {
      t.accepted.incrementAndGet();
      return;
    }
    t.rejected.incrementAndGet();
    String shape =
        c.surface().anthropic()
            ? ErrorShapes.anthropicProblem(r.contentUtf8())
            : ErrorShapes.openAiProblem(r.contentUtf8());
    if (shape != null) {
      t.problem(t.badShapes, c.surface().path() + " -> " + status + ": " + shape);
    }
  }

  private CompletableFuture<AggregatedHttpResponse> send(Case c) {
    RequestHeadersBuilder h =
        RequestHeaders.builder(HttpMethod.POST, c.surface().path())
            .add("authorization", c.authorization());
    if (c.surface().anthropic()) {
      h.add("anthropic-version", "2023-06-01");
    }
    HttpData body = HttpData.wrap(c.body());
    if (c.contentType() != null) {
      h.contentType(MediaType.parse(c.contentType()));
    }
    return web.execute(HttpRequest.of(h.build(), body)).aggregate();
  }

  // ---- SSE parser -----------------------------------------------------------------------------

  /**
   * Random provider streams (valid events, damaged events, binary garbage, lone CRs, huge lines),
   * fed whole and in random pieces: no exception, and the same events whatever the split.
   */
  private Tally sseStreams() {
    Tally t = new Tally();
    for (int i = 0; i < SSE_STREAMS; i++) {
      byte[] stream = randomSse();
      long start = System.nanoTime();
      try {
        List<String> whole = new ArrayList<>();
        SseParser p1 = new SseParser();
        p1.feed(stream, 0, stream.length, (e, d) -> whole.add(e + "|" + d));
        List<String> pieces = new ArrayList<>();
        SseParser p2 = new SseParser();
        int at = 0;
        while (at < stream.length) {
          int n = 1 + random.nextInt(Math.min(64, stream.length - at));
          p2.feed(stream, at, n, (e, d) -> pieces.add(e + "|" + d));
          at += n;
        }
        if (!whole.equals(pieces) || p1.hasPartialEvent() != p2.hasPartialEvent()) {
          t.problem(t.crashes, "SSE: split changes the events for " + printable(stream));
        }
      } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
        t.problem(t.crashes, "SSE: " + e + " for " + printable(stream));
      }
      if (System.nanoTime() - start > HANG_NANOS) {
        t.problem(t.hangs, "SSE: over 1 s for " + stream.length + " bytes");
      }
      t.cases.incrementAndGet();
    }
    return t;
  }

  private byte[] randomSse() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int events = random.nextInt(8);
    String[] eol = {"\n", "\r\n", "\r"};
    for (int i = 0; i < events; i++) {
      String nl = eol[random.nextInt(3)];
      StringBuilder e = new StringBuilder();
      switch (random.nextInt(8)) {
        case 0 -> e.append("data: ").append(randomJson(3)).append(nl).append(nl);
        case 1 ->
            e.append("event: message_delta").append(nl).append("data: {}").append(nl).append(nl);
        case 2 -> e.append(": comment").append(nl);
        case 3 -> e.append("data: [DONE]").append(nl).append(nl);
        case 4 -> e.append("data:").append(nl).append("data:x").append(nl).append(nl);
        case 5 -> e.append("id: 1").append(nl).append("retry: x").append(nl);
        case 6 -> e.append("data: ").append("z".repeat(random.nextInt(20_000)));
        default -> e.append(mutateText("event: e\ndata: {\"a\":1}\n\n"));
      }
      out.writeBytes(e.toString().getBytes(StandardCharsets.UTF_8));
      if (random.nextInt(5) == 0) {
        out.writeBytes(randomBytes(random.nextInt(100)));
      }
    }
    return out.toByteArray();
  }

  private static String printable(byte[] b) {
    String s = new String(b, 0, Math.min(b.length, 200), StandardCharsets.ISO_8859_1);
    return s.replace("\r", "\\r").replace("\n", "\\n");
  }

  // ---- JWT parser -----------------------------------------------------------------------------

  /** nimbus {@code SignedJWT.parse} and its claims: only {@code ParseException} may come out. */
  private Tally jwtParser() {
    Tally t = new Tally();
    for (int i = 0; i < JWTS; i++) {
      String token =
          switch (random.nextInt(3)) {
            case 0 -> randomJwt();
            case 1 -> randomJwtLike();
            default -> mutateText(randomJwt());
          };
      long start = System.nanoTime();
      try {
        SignedJWT jwt = SignedJWT.parse(token);
        jwt.getJWTClaimsSet();
        jwt.getHeader().getKeyID();
        t.accepted.incrementAndGet();
      } catch (ParseException e) {
        t.rejected.incrementAndGet();
      } catch (RuntimeException e) {
        // nimbus throws NullPointerException for a segment that is JSON null; the data plane's
        // verifier contains it (401, see the HTTP credential cases), so it is reported, not failed.
        t.rejected.incrementAndGet();
        if (t.libraryExceptions.incrementAndGet() == 1) {
          log.info("it: nimbus SignedJWT.parse threw {} for a malformed token", e.toString());
        }
      } catch (StackOverflowError e) {
        t.problem(t.crashes, "JWT: " + e + " for " + token);
      }
      if (System.nanoTime() - start > HANG_NANOS) {
        t.problem(t.hangs, "JWT: over 1 s for " + token.length() + " chars");
      }
      t.cases.incrementAndGet();
    }
    return t;
  }

  // ---- API-key parser -------------------------------------------------------------------------

  /**
   * {@code ApiKeys.parse}: null for anything that is not a key (its documented rejection), never an
   * exception; a generated key always parses back to its id.
   */
  private Tally apiKeyParser() {
    Tally t = new Tally();
    SecureRandom secure = new SecureRandom();
    for (int i = 0; i < API_KEYS; i++) {
      long start = System.nanoTime();
      String token;
      UUID expected = null;
      switch (random.nextInt(4)) {
        case 0 -> {
          expected = UUID.randomUUID();
          token = ApiKeys.generate(expected, secure).token();
        }
        case 1 -> token = mutateKey(ApiKeys.generate(UUID.randomUUID(), secure).token());
        case 2 -> token = "sk-ar-" + randomHeaderText(random.nextInt(120));
        default ->
            token =
                random.nextBoolean()
                    ? randomString(random.nextInt(100))
                    : new String(randomBytes(ApiKeys.LENGTH), StandardCharsets.ISO_8859_1);
      }
      try {
        ApiKeys.Parsed p = ApiKeys.parse(token);
        if (expected != null && (p == null || !p.keyId().equals(expected))) {
          t.problem(t.crashes, "API key: a generated key did not parse back to its id");
        }
        if (p == null) {
          t.rejected.incrementAndGet();
        } else {
          t.accepted.incrementAndGet();
        }
      } catch (RuntimeException e) {
        t.problem(t.crashes, "API key: " + e + " for " + ApiKeys.redact(token));
      }
      if (System.nanoTime() - start > HANG_NANOS) {
        t.problem(t.hangs, "API key: over 1 s");
      }
      t.cases.incrementAndGet();
    }
    return t;
  }
}
