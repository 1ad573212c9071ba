package io.agentrouter.sdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class CallsTest {
  final List<Duration> slept = new ArrayList<>();
  final Calls calls = new Calls(3, Duration.ofMillis(100), Duration.ofSeconds(1), slept::add);

  static StatusRuntimeException unavailable() {
    return Status.UNAVAILABLE.withDescription("connection refused").asRuntimeException();
  }

  @Test
  void readsAreRetriedOnUnavailableWithBoundedBackoff() {
    AtomicInteger attempts = new AtomicInteger();
    String r =
        calls.read(
            () -> {
              if (attempts.incrementAndGet() < 3) {
                throw unavailable();
              }
              return "ok";
            });
    assertThat(r).isEqualTo("ok");
    assertThat(attempts).hasValue(3);
    assertThat(slept)
        .hasSize(2)
        .allSatisfy(d -> assertThat(d).isBetween(Duration.ZERO, Duration.ofSeconds(1)));
  }

  @Test
  void readsGiveUpAfterMaxRetries() {
    AtomicInteger attempts = new AtomicInteger();
    assertThatThrownBy(
            () ->
                calls.read(
                    () -> {
                      attempts.incrementAndGet();
                      throw unavailable();
                    }))
        .isInstanceOf(UnavailableException.class)
        .hasMessage("connection refused");
    assertThat(attempts).hasValue(4);
  }

  @Test
  void writesWithoutAnIdempotencyKeyAreNeverRetried() {
    AtomicInteger attempts = new AtomicInteger();
    assertThatThrownBy(
            () ->
                calls.write(
                    () -> {
                      attempts.incrementAndGet();
                      throw unavailable();
                    }))
        .isInstanceOf(UnavailableException.class);
    assertThat(attempts).hasValue(1);
    assertThat(slept).isEmpty();
  }

  @Test
  void otherErrorsAreNotRetried() {
    AtomicInteger attempts = new AtomicInteger();
    assertThatThrownBy(
            () ->
                calls.read(
                    () -> {
                      attempts.incrementAndGet();
                      throw Status.NOT_FOUND
                          .withDescription("key 'k1' not found")
                          .asRuntimeException();
                    }))
        .isInstanceOf(NotFoundException.class)
        .hasMessage("key 'k1' not found");
    assertThat(attempts).hasValue(1);
  }

  @Test
  void rateLimitedKeepsRetryAfterAndTheStatusDetails() {
    var status =
        com.google.rpc.Status.newBuilder()
            .setCode(Status.Code.RESOURCE_EXHAUSTED.value())
            .setMessage("key 'k1' is over 60 requests/min")
            .addDetails(Any.pack(ErrorInfo.newBuilder().setReason("RATE_LIMITED").build()))
            .addDetails(
                Any.pack(
                    RetryInfo.newBuilder()
                        .setRetryDelay(com.google.protobuf.Duration.newBuilder().setSeconds(7))
                        .build()))
            .build();
    AgentRouterException e = Calls.map(StatusProto.toStatusRuntimeException(status));
    assertThat(e).isInstanceOf(RateLimitedException.class);
    assertThat(((RateLimitedException) e).retryAfter()).isEqualTo(Duration.ofSeconds(7));
    assertThat(e.getMessage()).isEqualTo("key 'k1' is over 60 requests/min");
    assertThat(e.status()).isNotNull();
    assertThat(e.status().getDetailsList()).hasSize(2);
  }

  @Test
  void eachStatusMapsToItsType() {
    assertThat(Calls.map(Status.PERMISSION_DENIED.asRuntimeException()))
        .isInstanceOf(PermissionDeniedException.class);
    assertThat(Calls.map(Status.UNAUTHENTICATED.asRuntimeException()))
        .isInstanceOf(UnauthenticatedException.class);
    assertThat(Calls.map(Status.INVALID_ARGUMENT.asRuntimeException()))
        .isInstanceOf(InvalidArgumentException.class);
    assertThat(Calls.map(Status.ALREADY_EXISTS.asRuntimeException()))
        .isInstanceOf(ConflictException.class);
    assertThat(Calls.map(Status.DEADLINE_EXCEEDED.asRuntimeException()))
        .isInstanceOf(UnavailableException.class);
    AgentRouterException unimplemented = Calls.map(Status.UNIMPLEMENTED.asRuntimeException());
    assertThat(unimplemented.getClass()).isEqualTo(AgentRouterException.class);
    assertThat(unimplemented.code()).isEqualTo(Status.Code.UNIMPLEMENTED);
  }

  @Test
  void builderRejectsBadSettingsNamingTheValue() {
    assertThatThrownBy(() -> new AgentRouterClient.Builder(java.util.Map.of()).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("AGENTROUTER_BASE_URL");
    assertThatThrownBy(
            () -> new AgentRouterClient.Builder(java.util.Map.of()).baseUrl("ftp://x").build())
        .hasMessageContaining("'ftp://x'")
        .hasMessageContaining("expected: http://host:port");
    assertThatThrownBy(() -> AgentRouterClient.builder().maxRetries(-1))
        .hasMessage("maxRetries: -1 (expected: >= 0)");
  }
}
