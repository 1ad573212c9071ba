package io.agentrouter.dataplane.api;

import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.ClosedSessionException;
import com.linecorp.armeria.common.ContentTooLargeException;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.RequestHeaders;
import com.linecorp.armeria.common.stream.ClosedStreamException;
import com.linecorp.armeria.common.util.Exceptions;
import com.linecorp.armeria.server.HttpStatusException;
import com.linecorp.armeria.server.ServerErrorHandler;
import com.linecorp.armeria.server.ServiceConfig;
import com.linecorp.armeria.server.ServiceRequestContext;
import io.agentrouter.dataplane.chain.Exchange;
import io.agentrouter.dataplane.chain.OpenAiErrorResponses;
import io.agentrouter.dataplane.messages.AnthropicErrorShape;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Renders every error the server itself produces (unknown path, wrong method, oversized body,
 * unexpected exception) in OpenAI's error shape, so SDKs parse it like any other error.
 */
public final class GatewayErrorHandler implements ServerErrorHandler {
  public GatewayErrorHandler() {}

  private static final Logger log = LoggerFactory.getLogger(GatewayErrorHandler.class);

  @Override
  public @Nullable HttpResponse onServiceException(ServiceRequestContext ctx, Throwable cause) {
    Throwable c = Exceptions.peel(cause);
    String path = ctx.path();
    if (c instanceof ContentTooLargeException) {
      return error(
              path,
              HttpStatus.REQUEST_ENTITY_TOO_LARGE,
              "The request body is too large.",
              OpenAiErrorResponses.INVALID_REQUEST,
              "request_too_large")
          .toHttpResponse();
    }
    if (c instanceof HttpStatusException e) {
      return render(path, e.httpStatus()).toHttpResponse();
    }
    if (Exceptions.isExpected(c)
        || c instanceof ClosedSessionException
        || c instanceof ClosedStreamException) {
      // The client went away; nobody will read an answer.
      return HttpResponse.ofFailure(c);
    }
    Exchange ex = Exchange.find(ctx);
    // The exception class and request id only: a message might quote request data.
    log.error(
        "request {} failed: {}", ex == null ? "-" : ex.requestId(), c.getClass().getName(), c);
    return error(
            path,
            HttpStatus.INTERNAL_SERVER_ERROR,
            "The gateway failed to process the request"
                + (ex == null ? "." : " (request id " + ex.requestId() + ")."),
            OpenAiErrorResponses.SERVER,
            null)
        .toHttpResponse();
  }

  @Override
  public @Nullable AggregatedHttpResponse renderStatus(
      @Nullable ServiceRequestContext ctx,
      ServiceConfig config,
      @Nullable RequestHeaders headers,
      HttpStatus status,
      @Nullable String description,
      @Nullable Throwable cause) {
    String message =
        switch (status.code()) {
          case 404 ->
              "Unknown path "
                  + (headers == null ? "" : headers.path())
                  + " (expected: /v1/chat/completions, /v1/embeddings, /v1/images/generations,"
                  + " /v1/models).";
          case 405 ->
              "Method "
                  + (headers == null ? "" : headers.method().name())
                  + " is not allowed on this path.";
          case 413 -> "The request body is too large.";
          default -> status.reasonPhrase();
        };
    String type =
        status.code() >= 500 ? OpenAiErrorResponses.SERVER : OpenAiErrorResponses.INVALID_REQUEST;
    return error(headers == null ? null : headers.path(), status, message, type, codeOf(status));
  }

  private static AggregatedHttpResponse render(String path, HttpStatus status) {
    String type =
        status.code() >= 500 ? OpenAiErrorResponses.SERVER : OpenAiErrorResponses.INVALID_REQUEST;
    return error(path, status, status.reasonPhrase(), type, codeOf(status));
  }

  /**
   * OpenAI's error shape, or Anthropic's on the Messages routes: errors raised before or outside
   * their chain (a body over the cap) must look like every other error an Anthropic client gets.
   */
  private static AggregatedHttpResponse error(
      @Nullable String path,
      HttpStatus status,
      String message,
      String type,
      @Nullable String code) {
    if (path != null && (path.equals("/v1/messages") || path.startsWith("/v1/messages/"))) {
      return AggregatedHttpResponse.of(
          OpenAiErrorResponses.headers(status).build(),
          HttpData.wrap(AnthropicErrorShape.body(status.code(), message)));
    }
    return OpenAiErrorResponses.aggregated(status, message, type, null, code);
  }

  private static @Nullable String codeOf(HttpStatus status) {
    return switch (status.code()) {
      case 404 -> "unknown_url";
      case 405 -> "method_not_allowed";
      case 413 -> "request_too_large";
      default -> null;
    };
  }
}
