package io.agentrouter.controlplane.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/** A small JSON-over-HTTP client for the REST API, as curl would use it. */
public final class Rest {
  private static final ObjectMapper mapper = new ObjectMapper();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String baseUrl;

  public Rest(String baseUrl) {
    this.baseUrl = baseUrl;
  }

  /** A response: status, headers, the raw body and the body as JSON (null when not JSON). */
  public record Response(int status, HttpHeaders headers, String body, @Nullable JsonNode json) {
    public String text(String field) {
      return json == null || json.get(field) == null ? "" : json.get(field).asText();
    }

    public String errorMessage() {
      return json == null ? body : json.path("error").path("message").asText();
    }
  }

  public Response get(String path, @Nullable String token) {
    return send("GET", path, token, null);
  }

  public Response post(String path, @Nullable String token, String json) {
    return send("POST", path, token, json);
  }

  public Response send(String method, String path, @Nullable String token, @Nullable String json) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(baseUrl + path)).timeout(Duration.ofSeconds(30));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (json != null) {
      b.header("Content-Type", "application/json");
      b.method(method, HttpRequest.BodyPublishers.ofString(json));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    try {
      HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      JsonNode node = null;
      try {
        node = r.body().isEmpty() ? null : mapper.readTree(r.body());
      } catch (IOException e) {
        node = null;
      }
      return new Response(r.statusCode(), r.headers(), r.body(), node);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public static String json(Object value) {
    try {
      return mapper.writeValueAsString(value);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
