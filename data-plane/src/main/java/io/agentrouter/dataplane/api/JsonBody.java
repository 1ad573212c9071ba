package io.agentrouter.dataplane.api;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.AggregatedHttpRequest;
import com.linecorp.armeria.common.ContentTooLargeException;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.util.Exceptions;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.ServiceRequestContext;
import com.linecorp.armeria.server.SimpleDecoratingHttpService;
import io.agentrouter.dataplane.chain.Endpoint;
import io.agentrouter.dataplane.chain.Exchange;
import io.agentrouter.dataplane.chain.OpenAiErrorResponses;
import java.io.IOException;
import java.util.function.Function;

/**
 * Reads and parses the JSON body once, for every later stage: 415 for another content type, 413 for
 * a body over the cap (at once when {@code Content-Length} says so, otherwise as soon as the cap is
 * passed, never after buffering all of it), 400 for malformed JSON or a missing required field.
 * Also estimates the tokens the request will use, for the token limit.
 */
public final class JsonBody extends SimpleDecoratingHttpService {
  private final ObjectMapper mapper;
  private final long maxBytes;

  private JsonBody(HttpService delegate, ObjectMapper mapper, long maxBytes) {
    super(delegate);
    this.mapper = mapper;
    this.maxBytes = maxBytes;
  }

  public static Function<HttpService, JsonBody> newDecorator(ObjectMapper mapper, long maxBytes) {
    requireNonNull(mapper, "mapper");
    if (maxBytes <= 0) {
      throw new IllegalArgumentException("maxBytes: " + maxBytes + " (expected: > 0)");
    }
    return delegate -> new JsonBody(delegate, mapper, maxBytes);
  }

  @Override
  public HttpResponse serve(ServiceRequestContext ctx, HttpRequest req) throws Exception {
    Exchange ex = Exchange.of(ctx);
    if (!ex.endpoint().proxied()) {
      return unwrap().serve(ctx, req);
    }
    MediaType type = req.contentType();
    if (type == null || !type.isJson()) {
      return OpenAiErrorResponses.of(
          HttpStatus.UNSUPPORTED_MEDIA_TYPE,
          "Unsupported content type '"
              + (type == null ? "none" : type.nameWithoutParameters())
              + "' (expected: application/json).",
          OpenAiErrorResponses.INVALID_REQUEST,
          null,
          "unsupported_media_type");
    }
    long length = req.headers().contentLength();
    if (length > maxBytes) {
      return tooLarge();
    }
    ctx.setMaxRequestLength(maxBytes);
    return HttpResponse.of(
        req.aggregate()
            .handle(
                (agg, cause) -> {
                  if (cause != null) {
                    if (Exceptions.peel(cause) instanceof ContentTooLargeException) {
                      return tooLarge();
                    }
                    return HttpResponse.ofFailure(cause);
                  }
                  try {
                    HttpResponse invalid = parse(ex, agg);
                    return invalid != null ? invalid : unwrap().serve(ctx, req);
                  } catch (Exception e) {
                    return HttpResponse.ofFailure(e);
                  }
                }));
  }

  private HttpResponse tooLarge() {
    return OpenAiErrorResponses.of(
        HttpStatus.REQUEST_ENTITY_TOO_LARGE,
        "The request body is larger than " + maxBytes + " bytes.",
        OpenAiErrorResponses.INVALID_REQUEST,
        null,
        "request_too_large");
  }

  /** Parses and checks the body; returns a 400 response, or null when it is fine. */
  private HttpResponse parse(Exchange ex, AggregatedHttpRequest agg) {
    byte[] bytes = agg.content().array();
    JsonNode node;
    try {
      node = mapper.readTree(bytes);
    } catch (IOException e) {
      return invalid("The request body is not valid JSON (expected: a JSON object).", null);
    }
    if (!(node instanceof ObjectNode body)) {
      return invalid("The request body is not a JSON object (expected: a JSON object).", null);
    }
    JsonNode streamNode = body.get("stream");
    if (streamNode != null && !streamNode.isBoolean() && !streamNode.isNull()) {
      return invalid("Invalid type for 'stream': expected a boolean.", "stream");
    }
    boolean stream = streamNode != null && streamNode.asBoolean(false);
    long estimate = bytes.length / 4;
    switch (ex.endpoint()) {
      case CHAT -> {
        JsonNode messages = body.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
          return invalid("'messages' must be a non-empty array of messages.", "messages");
        }
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && (!n.canConvertToInt() || n.asInt() < 1)) {
          return invalid("Invalid value for 'n': expected an integer >= 1.", "n");
        }
        long max =
            Math.max(
                body.path("max_completion_tokens").asLong(0), body.path("max_tokens").asLong(0));
        estimate += Math.max(0, max) * (n == null || n.isNull() ? 1 : n.asInt());
      }
      case EMBEDDINGS -> {
        JsonNode input = body.get("input");
        if (input == null || input.isNull()) {
          return invalid("'input' is required.", "input");
        }
      }
      case IMAGES -> {
        JsonNode prompt = body.get("prompt");
        if (prompt == null || !prompt.isTextual() || prompt.asText().isEmpty()) {
          return invalid("'prompt' must be a non-empty string.", "prompt");
        }
        estimate = 0;
      }
      case MESSAGES, COUNT_TOKENS -> {
        JsonNode messages = body.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
          return invalid("'messages' must be a non-empty array of messages.", "messages");
        }
        if (ex.endpoint() == Endpoint.MESSAGES) {
          JsonNode max = body.get("max_tokens");
          if (max == null || !max.canConvertToLong() || max.asLong() < 1) {
            return invalid("'max_tokens' is required: expected an integer >= 1.", "max_tokens");
          }
          estimate += max.asLong();
        } else {
          estimate = 0;
        }
      }
      case RESPONSES -> {
        JsonNode input = body.get("input");
        boolean hasInput =
            input != null && (input.isTextual() || (input.isArray() && !input.isEmpty()));
        if (!hasInput && !body.hasNonNull("previous_response_id")) {
          return invalid("'input' must be a string or a non-empty array of input items.", "input");
        }
        estimate += Math.max(0, body.path("max_output_tokens").asLong(0));
      }
      case MODELS -> {
        // Not proxied; never reached.
      }
    }
    boolean streams =
        switch (ex.endpoint()) {
          case CHAT, MESSAGES, RESPONSES -> true;
          default -> false;
        };
    if (stream && !streams) {
      return invalid(
          "'stream' is only supported for chat completions, messages and responses.", "stream");
    }
    // The Messages and Responses streams always report usage; only chat makes it optional.
    boolean wantsUsage =
        ex.endpoint() != Endpoint.CHAT
            || body.path("stream_options").path("include_usage").asBoolean(false);
    ex.body(body, stream, wantsUsage, estimate);
    return null;
  }

  private static HttpResponse invalid(String message, String param) {
    return OpenAiErrorResponses.of(
        HttpStatus.BAD_REQUEST, message, OpenAiErrorResponses.INVALID_REQUEST, param, null);
  }
}
