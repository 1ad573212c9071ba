package io.agentrouter.sdk;

import io.grpc.Status;
import org.jspecify.annotations.Nullable;

/** The control plane could not be reached or answered in time; retrying later may succeed. */
public final class UnavailableException extends AgentRouterException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with the server's {@code message} and status. */
  public UnavailableException(
      Status.Code code,
      String message,
      com.google.rpc.@Nullable Status status,
      @Nullable Throwable cause) {
    super(code, message, status, cause);
  }
}
