package io.agentrouter.sdk;

import io.grpc.Status;
import org.jspecify.annotations.Nullable;

/** The caller is authenticated but its role does not allow the call. */
public final class PermissionDeniedException extends AgentRouterException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with the server's {@code message} and status. */
  public PermissionDeniedException(
      Status.Code code,
      String message,
      com.google.rpc.@Nullable Status status,
      @Nullable Throwable cause) {
    super(code, message, status, cause);
  }
}
