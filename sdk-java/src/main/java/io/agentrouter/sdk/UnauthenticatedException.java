package io.agentrouter.sdk;

import io.grpc.Status;
import org.jspecify.annotations.Nullable;

/** The credential is missing, malformed, expired or revoked. */
public final class UnauthenticatedException extends AgentRouterException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with the server's {@code message} and status. */
  public UnauthenticatedException(
      Status.Code code,
      String message,
      com.google.rpc.@Nullable Status status,
      @Nullable Throwable cause) {
    super(code, message, status, cause);
  }
}
