package io.agentrouter.it;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * Chat completions as an application sends them, each carrying a tag of the test's own in the
 * request body ({@code user}, which reaches the fake provider) and as client metadata ({@code
 * x-agentrouter-meta-tag}, which reaches the request log), so that what the provider served, what
 * the client saw and what the control plane logged can be joined request by request.
 */
final class TaggedChats {
  static final ObjectMapper JSON = new ObjectMapper();

  /**
   * What the client saw: the status, the data plane's request id and the usage the answer carried
   * (the final usage chunk of a stream).
   */
  record Outcome(
      int status, @Nullable String requestId, long promptTokens, long completionTokens) {}

  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(10))
          .build();
  private final String model;

  TaggedChats(String model) {
    this.model = requireNonNull(model, "model");
  }

  /** The tag of a request as the fake provider received it, or null when it carries none. */
  static @Nullable String tagOf(JsonNode upstreamBody) {
    JsonNode user = upstreamBody.get("user");
    return user == null || !user.isTextual() ? null : user.asText();
  }

  Outcome send(ManagedDataPlane dp, String secret, String tag, boolean stream)
      throws IOException, InterruptedException {
    ObjectNode body = JSON.createObjectNode().put("model", model).put("user", tag);
    body.putArray("messages").addObject().put("role", "user").put("content", "hi");
    if (stream) {
      body.put("stream", true);
      body.putObject("stream_options").put("include_usage", true);
    }
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(dp.url() + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(60))
                .header("authorization", "Bearer " + secret)
                .header("content-type", "application/json")
                .header("x-agentrouter-meta-tag", tag)
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    String requestId = r.headers().firstValue("x-request-id").orElse(null);
    if (r.statusCode() != 200) {
      return new Outcome(r.statusCode(), requestId, 0, 0);
    }
    JsonNode usage = stream ? streamUsage(r.body()) : JSON.readTree(r.body()).path("usage");
    if (usage == null) {
      // A 200 stream without its usage chunk or its end is a failure the client would notice.
      return new Outcome(-1, requestId, 0, 0);
    }
    return new Outcome(
        200,
        requestId,
        usage.path("prompt_tokens").asLong(),
        usage.path("completion_tokens").asLong());
  }

  /** The usage of a complete stream (one that ended with [DONE]), else null. */
  private static @Nullable JsonNode streamUsage(String sse) throws IOException {
    JsonNode usage = null;
    boolean done = false;
    for (String line : sse.split("\n")) {
      if (!line.startsWith("data: ")) {
        continue;
      }
      String data = line.substring("data: ".length()).strip();
      if (data.equals("[DONE]")) {
        done = true;
      } else {
        JsonNode chunk = JSON.readTree(data);
        if (chunk.path("usage").isObject()) {
          usage = chunk.path("usage");
        }
      }
    }
    return done ? usage : null;
  }
}
