package io.agentrouter.common.usage;

/** How a request ended. */
public enum UsageOutcome {
  /** The response was delivered in full. */
  SUCCESS,
  /** The gateway or the provider answered with an error before any content. */
  ERROR,
  /** The client went away before the response was complete. */
  CLIENT_ABORT,
  /** A stream broke after content had been sent; the client received an error event. */
  CUT_STREAM;

  public String wireName() {
    return name().toLowerCase(java.util.Locale.ROOT);
  }
}
