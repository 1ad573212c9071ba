package io.agentrouter.controlplane.rpc;

import static java.util.Objects.requireNonNull;

import io.grpc.Status;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * A failure the caller should see, with the gRPC code it maps to. {@link ErrorMapping} turns it
 * into a {@code google.rpc.Status} (gRPC) and an HTTP status (REST) in one place. Messages name the
 * bad value and what was expected, and never carry a secret.
 */
public final class ApiException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Status.Code code;
  private final @Nullable String field;
  private final @Nullable Duration retryAfter;

  private ApiException(
      Status.Code code, String message, @Nullable String field, @Nullable Duration retryAfter) {
    super(requireNonNull(message, "message"), null, false, false);
    this.code = code;
    this.field = field;
    this.retryAfter = retryAfter;
  }

  /** 400: a field is missing or malformed. */
  public static ApiException invalid(String field, String message) {
    return new ApiException(Status.Code.INVALID_ARGUMENT, field + ": " + message, field, null);
  }

  /** 401: no usable credential. */
  public static ApiException unauthenticated(String message) {
    return new ApiException(Status.Code.UNAUTHENTICATED, message, null, null);
  }

  /** 403: the caller can see the object but its role may not do this. */
  public static ApiException forbidden(String message) {
    return new ApiException(Status.Code.PERMISSION_DENIED, message, null, null);
  }

  /** 404: unknown, or belongs to a tenant the caller cannot see (the two are not told apart). */
  public static ApiException notFound(String what, Object id) {
    return new ApiException(Status.Code.NOT_FOUND, what + " '" + id + "' not found", null, null);
  }

  /** 404 with a message of its own, for lookups that are not by id (a model name). */
  public static ApiException notFoundMessage(String message) {
    return new ApiException(Status.Code.NOT_FOUND, message, null, null);
  }

  /** 409: the same operation is still in progress (an idempotency key in use). */
  public static ApiException aborted(String message) {
    return new ApiException(Status.Code.ABORTED, message, null, null);
  }

  /** 504: a service this call depends on did not answer in time. */
  public static ApiException timeout(String message) {
    return new ApiException(Status.Code.DEADLINE_EXCEEDED, message, null, null);
  }

  /** 409: the write conflicts with what is stored. */
  public static ApiException conflict(String message) {
    return new ApiException(Status.Code.ALREADY_EXISTS, message, null, null);
  }

  /** 422: well-formed, but the current state does not allow it. */
  public static ApiException unprocessable(String message) {
    return new ApiException(Status.Code.FAILED_PRECONDITION, message, null, null);
  }

  /** 429 with Retry-After. */
  public static ApiException exhausted(String message, Duration retryAfter) {
    return new ApiException(
        Status.Code.RESOURCE_EXHAUSTED, message, null, requireNonNull(retryAfter, "retryAfter"));
  }

  /** 503, optionally with Retry-After. */
  public static ApiException unavailable(String message, @Nullable Duration retryAfter) {
    return new ApiException(Status.Code.UNAVAILABLE, message, null, retryAfter);
  }

  /** 501: part of the contract, implemented by a later milestone. */
  public static ApiException unimplemented(String method) {
    return new ApiException(
        Status.Code.UNIMPLEMENTED,
        method + " is part of the API contract but not implemented by this control plane yet",
        null,
        null);
  }

  public Status.Code code() {
    return code;
  }

  /** The request field at fault, for 400s. */
  public @Nullable String field() {
    return field;
  }

  public @Nullable Duration retryAfter() {
    return retryAfter;
  }
}
