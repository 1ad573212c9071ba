package io.agentrouter.sdk;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.RetryInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Runs one call: maps gRPC failures to {@link AgentRouterException}s and retries idempotent calls
 * (reads, and writes that carry an idempotency key) on UNAVAILABLE with exponential backoff and
 * full jitter. Non-idempotent writes are never retried: the server may have applied them.
 */
final class Calls {
  /** How the retry loop waits; tests may replace it. */
  interface Sleeper {
    void sleep(Duration d) throws InterruptedException;
  }

  private final int maxRetries;
  private final Duration initialBackoff;
  private final Duration maxBackoff;
  private final Sleeper sleeper;

  Calls(int maxRetries, Duration initialBackoff, Duration maxBackoff, Sleeper sleeper) {
    this.maxRetries = maxRetries;
    this.initialBackoff = initialBackoff;
    this.maxBackoff = maxBackoff;
    this.sleeper = sleeper;
  }

  <T> T read(Supplier<T> call) {
    return run(call, true);
  }

  <T> T write(Supplier<T> call) {
    return run(call, false);
  }

  <T> T run(Supplier<T> call, boolean idempotent) {
    int attempt = 0;
    while (true) {
      try {
        return call.get();
      } catch (StatusRuntimeException e) {
        AgentRouterException mapped = map(e);
        if (!idempotent || attempt >= maxRetries || !(mapped instanceof UnavailableException)) {
          throw mapped;
        }
        long cap =
            Math.min(maxBackoff.toMillis(), initialBackoff.toMillis() << Math.min(attempt, 20));
        attempt++;
        try {
          sleeper.sleep(Duration.ofMillis(ThreadLocalRandom.current().nextLong(cap + 1)));
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw mapped;
        }
      }
    }
  }

  /** The typed exception for a gRPC failure, keeping the server's message and details. */
  static AgentRouterException map(StatusRuntimeException e) {
    Status s = e.getStatus();
    com.google.rpc.Status details = StatusProto.fromThrowable(e);
    String message = s.getDescription();
    if (message == null || message.isBlank()) {
      message =
          s.getCause() != null && s.getCause().getMessage() != null
              ? s.getCode() + ": " + s.getCause().getMessage()
              : s.getCode().toString();
    }
    return switch (s.getCode()) {
      case NOT_FOUND -> new NotFoundException(s.getCode(), message, details, e);
      case PERMISSION_DENIED -> new PermissionDeniedException(s.getCode(), message, details, e);
      case UNAUTHENTICATED -> new UnauthenticatedException(s.getCode(), message, details, e);
      case INVALID_ARGUMENT, OUT_OF_RANGE ->
          new InvalidArgumentException(s.getCode(), message, details, e);
      case ALREADY_EXISTS, FAILED_PRECONDITION, ABORTED ->
          new ConflictException(s.getCode(), message, details, e);
      case UNAVAILABLE, DEADLINE_EXCEEDED ->
          new UnavailableException(s.getCode(), message, details, e);
      case RESOURCE_EXHAUSTED ->
          new RateLimitedException(s.getCode(), message, details, retryAfter(details), e);
      default -> new AgentRouterException(s.getCode(), message, details, e);
    };
  }

  static @Nullable Duration retryAfter(com.google.rpc.@Nullable Status status) {
    if (status == null) {
      return null;
    }
    for (var any : status.getDetailsList()) {
      if (any.is(RetryInfo.class)) {
        try {
          var d = any.unpack(RetryInfo.class).getRetryDelay();
          return Duration.ofSeconds(d.getSeconds(), d.getNanos());
        } catch (InvalidProtocolBufferException ignored) {
          return null;
        }
      }
    }
    return null;
  }
}
