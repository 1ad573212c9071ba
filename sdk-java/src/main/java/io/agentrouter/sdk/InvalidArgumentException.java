package io.agentrouter.sdk;

import io.grpc.Status;
import org.jspecify.annotations.Nullable;

/** The server rejected a request field; the message names it and what was expected. */
public final class InvalidArgumentException extends AgentRouterException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with the server's {@code message} and status. */
  public InvalidArgumentException(
      Status.Code code,
      String message,
      com.google.rpc.@Nullable Status status,
      @Nullable Throwable cause) {
    super(code, message, status, cause);
  }
}
