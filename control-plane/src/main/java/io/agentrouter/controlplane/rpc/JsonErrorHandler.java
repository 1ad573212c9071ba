package io.agentrouter.controlplane.rpc;

import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.server.HttpResponseException;
import com.linecorp.armeria.server.HttpStatusException;
import com.linecorp.armeria.server.ServerErrorHandler;
import com.linecorp.armeria.server.ServiceConfig;
import com.linecorp.armeria.server.ServiceRequestContext;
import io.grpc.Status;
import org.jspecify.annotations.Nullable;

/**
 * Failures raised before a call reaches a service (the body is not JSON, the content type is wrong,
 * no route matched) rendered in the same JSON shape as every other error.
 */
public final class JsonErrorHandler implements ServerErrorHandler {
  @Override
  public @Nullable HttpResponse onServiceException(ServiceRequestContext ctx, Throwable cause) {
    if (cause instanceof HttpResponseException) {
      return null;
    }
    if (cause instanceof HttpStatusException e) {
      HttpStatus status = e.httpStatus();
      if (!ctx.path().startsWith("/v1/")
          || status.codeClass() != com.linecorp.armeria.common.HttpStatusClass.CLIENT_ERROR) {
        return null;
      }
      Status.Code code =
          switch (status.code()) {
            case 401 -> Status.Code.UNAUTHENTICATED;
            case 403 -> Status.Code.PERMISSION_DENIED;
            case 404 -> Status.Code.NOT_FOUND;
            case 409 -> Status.Code.ALREADY_EXISTS;
            case 429 -> Status.Code.RESOURCE_EXHAUSTED;
            default -> Status.Code.INVALID_ARGUMENT;
          };
      return HttpErrorHandler.render(ErrorMapping.simple(code, describe(e, status)))
          .toHttpResponse();
    }
    return null;
  }

  @Override
  public @Nullable AggregatedHttpResponse renderStatus(
      @Nullable ServiceRequestContext ctx,
      ServiceConfig config,
      com.linecorp.armeria.common.RequestHeaders headers,
      HttpStatus status,
      @Nullable String description,
      @Nullable Throwable cause) {
    if (!headers.path().startsWith("/v1/")
        || status.codeClass() != com.linecorp.armeria.common.HttpStatusClass.CLIENT_ERROR) {
      return null;
    }
    Status.Code code =
        status.code() == 404
            ? Status.Code.NOT_FOUND
            : status.code() == 405 ? Status.Code.UNIMPLEMENTED : Status.Code.INVALID_ARGUMENT;
    String msg =
        status.code() == 404
            ? "no API path matches " + headers.method() + " " + headers.path()
            : status.code() == 405
                ? "method " + headers.method() + " is not allowed on " + headers.path()
                : description == null ? status.reasonPhrase() : description;
    return HttpErrorHandler.render(ErrorMapping.simple(code, msg));
  }

  private static String describe(HttpStatusException e, HttpStatus status) {
    Throwable c = e.getCause();
    if (c == null) {
      return status.reasonPhrase();
    }
    String m = c.getMessage() == null ? "" : c.getMessage();
    if (m.contains("content-type")) {
      return "request body: missing or wrong Content-Type (expected 'Content-Type: application/json')";
    }
    Throwable root = c;
    while (root.getCause() != null) {
      root = root.getCause();
    }
    String detail =
        root.getMessage() == null
            ? root.getClass().getSimpleName()
            : root.getMessage().split("\n", 2)[0];
    return "request body: malformed JSON: " + detail + " (expected a JSON object)";
  }
}
