package io.agentrouter.dataplane.provider;

import static java.util.Objects.requireNonNull;

import io.agentrouter.common.errors.ErrorClass;
import org.jspecify.annotations.Nullable;

/**
 * A failed upstream answer, classified.
 *
 * @param errorClass why it failed; decides fallback
 * @param status the upstream HTTP status (0 when there was none, e.g. an in-stream error)
 * @param message the provider's message, safe to show the client (never contains our credential)
 * @param retryAfterSeconds the provider's {@code Retry-After}, when it sent one
 */
public record ProviderError(
    ErrorClass errorClass, int status, String message, @Nullable Long retryAfterSeconds) {
  public ProviderError {
    requireNonNull(errorClass, "errorClass");
    requireNonNull(message, "message");
  }
}
