package io.agentrouter.sdk;

import io.grpc.Status;
import org.jspecify.annotations.Nullable;

/** The call conflicts with the current state (already exists, or a failed precondition). */
public final class ConflictException extends AgentRouterException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with the server's {@code message} and status. */
  public ConflictException(
      Status.Code code,
      String message,
      com.google.rpc.@Nullable Status status,
      @Nullable Throwable cause) {
    super(code, message, status, cause);
  }
}
