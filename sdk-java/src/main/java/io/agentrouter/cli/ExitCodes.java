package io.agentrouter.cli;

import io.grpc.Status;

/**
 * The CLI's exit codes. Scripts can tell "fix your command" (2) from "log in again" (3) from "try
 * again later" (5).
 */
final class ExitCodes {
  static final int OK = 0;

  /** The server failed or refused for another reason (internal, unimplemented, conflict). */
  static final int SERVER_ERROR = 1;

  /** Bad flags, missing arguments, missing configuration, or a field the server rejected. */
  static final int USAGE = 2;

  /** Not logged in, credential rejected, or not allowed. */
  static final int AUTH = 3;

  static final int NOT_FOUND = 4;

  /** The control plane could not be reached or timed out. */
  static final int UNAVAILABLE = 5;

  /** A limit or budget was hit. */
  static final int RATE_LIMITED = 6;

  private ExitCodes() {}

  static int of(Status.Code code) {
    return switch (code) {
      case OK -> OK;
      case INVALID_ARGUMENT, OUT_OF_RANGE -> USAGE;
      case UNAUTHENTICATED, PERMISSION_DENIED -> AUTH;
      case NOT_FOUND -> NOT_FOUND;
      case UNAVAILABLE, DEADLINE_EXCEEDED -> UNAVAILABLE;
      case RESOURCE_EXHAUSTED -> RATE_LIMITED;
      default -> SERVER_ERROR;
    };
  }
}
