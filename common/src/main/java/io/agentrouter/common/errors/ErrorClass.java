package io.agentrouter.common.errors;

/**
 * Why an upstream call failed. Routes name the classes that fall back to the next target; usage
 * records and metrics carry the class so operators can tell a provider outage from a bad request.
 */
public enum ErrorClass {
  /** The provider answered 429 or said it is rate limiting this key. */
  RATE_LIMITED,
  /** The provider is overloaded (Anthropic 529, 503 with an overload message). */
  OVERLOADED,
  /** No answer (or no first byte of a stream) within the timeout. */
  TIMEOUT,
  /** The connection could not be made, or broke before any content. */
  CONNECT,
  /** Any other 5xx. */
  SERVER,
  /** The provider refused our credential (401, 403). */
  AUTH,
  /** The provider refused the request as malformed (400, 404, 422). */
  BAD_REQUEST,
  /** The prompt does not fit the model's context window. */
  CONTEXT_WINDOW,
  /** The provider's content filter refused the request or the output. */
  CONTENT_POLICY;

  /** The lower-case name used in configuration, usage records and metric labels. */
  public String wireName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }

  /** Parses a configuration value such as {@code rate_limited}; throws with the accepted values. */
  public static ErrorClass fromWireName(String name) {
    for (ErrorClass c : values()) {
      if (c.wireName().equals(name)) {
        return c;
      }
    }
    throw new IllegalArgumentException(
        "error class '"
            + name
            + "' is unknown (expected one of: rate_limited, overloaded, timeout, connect, server,"
            + " auth, bad_request, context_window, content_policy)");
  }
}
