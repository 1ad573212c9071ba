package io.agentrouter.controlplane.inference;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.client.ResponseTimeoutException;
import com.linecorp.armeria.client.UnprocessedRequestException;
import com.linecorp.armeria.client.WebClient;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpHeaderNames;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import io.agentrouter.controlplane.rpc.ApiException;
import io.agentrouter.controlplane.sync.ByokNames;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.jspecify.annotations.Nullable;

/**
 * Calls a data plane's OpenAI-compatible {@code POST /v1/chat/completions} without blocking
 * (Armeria {@link WebClient}, bounded by a response timeout) and maps its answers to API errors the
 * Prompt caller can act on. The MP JWT travels in the Authorization header only.
 */
final class DataplaneClient {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final WebClient client;
  private final Duration timeout;

  DataplaneClient(WebClient client, Duration timeout) {
    this.client = requireNonNull(client, "client");
    this.timeout = requireNonNull(timeout, "timeout");
  }

  /** The answer of a chat completion. */
  record Completion(String text, String model, long promptTokens, long completionTokens) {}

  CompletableFuture<Completion> chat(
      String baseUrl,
      String dataplaneName,
      String jwt,
      String model,
      String prompt,
      @Nullable String idempotencyKey) {
    ObjectNode body = JSON.createObjectNode();
    body.put("model", model);
    ObjectNode message = body.putArray("messages").addObject();
    message.put("role", "user");
    message.put("content", prompt);
    String url = baseUrl.replaceAll("/+$", "") + "/v1/chat/completions";
    com.linecorp.armeria.common.RequestHeadersBuilder headers =
        RequestHeaders.builder(HttpMethod.POST, url)
            .contentType(MediaType.JSON_UTF_8)
            .set(HttpHeaderNames.AUTHORIZATION, "Bearer " + jwt);
    if (idempotencyKey != null) {
      headers.set("idempotency-key", idempotencyKey);
    }
    HttpRequest request =
        HttpRequest.of(
            headers.build(), com.linecorp.armeria.common.HttpData.ofUtf8(body.toString()));
    return client
        .execute(
            request,
            com.linecorp.armeria.client.RequestOptions.builder().responseTimeout(timeout).build())
        .aggregate()
        .handle(
            (res, err) -> {
              if (err != null) {
                throw failure(dataplaneName, err);
              }
              return parse(dataplaneName, model, res);
            });
  }

  private ApiException failure(String dataplaneName, Throwable err) {
    Throwable t =
        err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
    if (t instanceof ResponseTimeoutException) {
      return ApiException.timeout(
          "data plane '"
              + dataplaneName
              + "' did not answer within "
              + timeout.toSeconds()
              + " s (expected a completion; try again)");
    }
    String why =
        t instanceof UnprocessedRequestException && t.getCause() != null
            ? t.getCause().getClass().getSimpleName()
            : t.getClass().getSimpleName();
    return ApiException.unavailable(
        "data plane '"
            + dataplaneName
            + "' is unreachable ("
            + why
            + "; expected it to accept"
            + " connections)",
        Duration.ofSeconds(5));
  }

  private static Completion parse(String dataplaneName, String model, AggregatedHttpResponse res) {
    HttpStatus status = res.status();
    JsonNode json = readTree(res.contentUtf8());
    if (status.isSuccess()) {
      JsonNode choice = json == null ? null : json.path("choices").path(0);
      if (choice == null || choice.isMissingNode()) {
        throw ApiException.unavailable(
            "data plane '"
                + dataplaneName
                + "' answered "
                + status.code()
                + " without choices (expected an OpenAI chat completion)",
            null);
      }
      String served = json.path("model").asText("");
      String provider = res.headers().get("x-agentrouter-provider");
      // A project's own credential is "<type>-<provider key id>" on the data plane.
      if (provider != null) {
        provider = ByokNames.provider(provider);
      }
      served = ByokNames.model(served);
      if (!served.isEmpty() && served.indexOf('/') < 0 && provider != null && !provider.isEmpty()) {
        served = provider + "/" + served;
      }
      return new Completion(
          choice.path("message").path("content").asText(""),
          served.isEmpty() ? model : served,
          json.path("usage").path("prompt_tokens").asLong(0),
          json.path("usage").path("completion_tokens").asLong(0));
    }
    String message = json == null ? "" : json.path("error").path("message").asText("");
    String detail =
        "data plane '"
            + dataplaneName
            + "' answered "
            + status.code()
            + (message.isEmpty() ? "" : ": " + message);
    String retryAfter = res.headers().get(HttpHeaderNames.RETRY_AFTER);
    throw switch (status.code()) {
      case 429 -> ApiException.exhausted(detail, Duration.ofSeconds(retryAfterSeconds(retryAfter)));
      case 400, 413, 422 -> ApiException.invalid("prompt", detail);
      case 404 -> ApiException.notFoundMessage(detail);
      case 401, 403 ->
          ApiException.unavailable(
              detail
                  + " (the data plane refused the control plane's token; is its snapshot"
                  + " current?)",
              Duration.ofSeconds(5));
      case 504 -> ApiException.timeout(detail);
      default ->
          ApiException.unavailable(
              detail,
              retryAfter == null ? null : Duration.ofSeconds(retryAfterSeconds(retryAfter)));
    };
  }

  private static long retryAfterSeconds(@Nullable String value) {
    if (value != null) {
      try {
        return Math.max(1, Long.parseLong(value.strip()));
      } catch (NumberFormatException e) {
        // An HTTP date: fall back to the default.
      }
    }
    return 1;
  }

  private static @Nullable JsonNode readTree(String body) {
    try {
      return body.isEmpty() ? null : JSON.readTree(body);
    } catch (IOException e) {
      return null;
    }
  }
}
