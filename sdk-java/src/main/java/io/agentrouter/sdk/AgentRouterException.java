package io.agentrouter.sdk;

import io.grpc.Status;
import org.jspecify.annotations.Nullable;

/**
 * A call to the control plane failed. The message is the server's own message; {@link #code()} is
 * the gRPC status code and {@link #status()} the full {@code google.rpc.Status} (with its details:
 * ErrorInfo, BadRequest, RetryInfo) when the server sent one. Subclasses name the classes of
 * failure an application usually handles differently.
 */
public class AgentRouterException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Status.Code code;
  private final transient com.google.rpc.@Nullable Status status;

  /** Creates an exception for {@code code} with the server's {@code message}. */
  public AgentRouterException(
      Status.Code code,
      String message,
      com.google.rpc.@Nullable Status status,
      @Nullable Throwable cause) {
    super(message, cause);
    this.code = code;
    this.status = status;
  }

  /** The gRPC status code the server answered with. */
  public Status.Code code() {
    return code;
  }

  /** The server's {@code google.rpc.Status}, details included, or null when it sent none. */
  public com.google.rpc.@Nullable Status status() {
    return status;
  }
}
