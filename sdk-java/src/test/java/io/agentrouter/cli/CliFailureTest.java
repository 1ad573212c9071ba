package io.agentrouter.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.agentrouter.sdk.RateLimitedException;
import io.grpc.Status;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CliFailureTest {
  final StringWriter err = new StringWriter();
  final RootCommand root =
      new RootCommand(
          new CliContext(
              Map.of(),
              Path.of("/nonexistent"),
              new ByteArrayInputStream(new byte[0]),
              new PrintWriter(new StringWriter()),
              new PrintWriter(err),
              null,
              d -> {}));

  @Test
  void rateLimitedExitsSixAndSaysWhenToRetry() {
    int code =
        Cli.failure(
            new RateLimitedException(
                Status.Code.RESOURCE_EXHAUSTED,
                "key 'k1' is over 60 requests/min",
                null,
                Duration.ofSeconds(7),
                null),
            new PrintWriter(err, true),
            root);
    assertThat(code).isEqualTo(ExitCodes.RATE_LIMITED);
    assertThat(err.toString())
        .isEqualTo(
            "error: key 'k1' is over 60 requests/min (RESOURCE_EXHAUSTED); retry after 7s"
                + System.lineSeparator());
  }

  @Test
  void everyStatusHasItsDocumentedExitCode() {
    assertThat(ExitCodes.of(Status.Code.NOT_FOUND)).isEqualTo(4);
    assertThat(ExitCodes.of(Status.Code.PERMISSION_DENIED)).isEqualTo(3);
    assertThat(ExitCodes.of(Status.Code.UNAUTHENTICATED)).isEqualTo(3);
    assertThat(ExitCodes.of(Status.Code.INVALID_ARGUMENT)).isEqualTo(2);
    assertThat(ExitCodes.of(Status.Code.UNAVAILABLE)).isEqualTo(5);
    assertThat(ExitCodes.of(Status.Code.DEADLINE_EXCEEDED)).isEqualTo(5);
    assertThat(ExitCodes.of(Status.Code.RESOURCE_EXHAUSTED)).isEqualTo(6);
    assertThat(ExitCodes.of(Status.Code.ALREADY_EXISTS)).isEqualTo(1);
    assertThat(ExitCodes.of(Status.Code.UNIMPLEMENTED)).isEqualTo(1);
    assertThat(ExitCodes.of(Status.Code.INTERNAL)).isEqualTo(1);
  }

  @Test
  void multiLineMessagesBecomeOneLine() {
    assertThat(Cli.oneLine("first\n  second\r\nthird ")).isEqualTo("first; second; third");
  }

  @Test
  void credentialsInErrorMessagesAreMasked() {
    assertThat(Cli.oneLine("Unmatched argument at index 2: 'sk-ar-abc123.DEF456xyz'"))
        .isEqualTo("Unmatched argument at index 2: 'sk-ar-***'");
    assertThat(Cli.oneLine("token eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln rejected"))
        .isEqualTo("token eyJ*** rejected");
  }
}
