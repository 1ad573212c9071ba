package io.agentrouter.sdk;

import io.grpc.Status;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/** A limit or budget was hit; {@link #retryAfter()} says when trying again may succeed. */
public final class RateLimitedException extends AgentRouterException {
  private static final long serialVersionUID = 1L;

  private final @Nullable Duration retryAfter;

  /** Creates the exception with the server's {@code message}, status and retry delay. */
  public RateLimitedException(
      Status.Code code,
      String message,
      com.google.rpc.@Nullable Status status,
      @Nullable Duration retryAfter,
      @Nullable Throwable cause) {
    super(code, message, status, cause);
    this.retryAfter = retryAfter;
  }

  /** How long the server asked the caller to wait, or null when it did not say. */
  public @Nullable Duration retryAfter() {
    return retryAfter;
  }
}
