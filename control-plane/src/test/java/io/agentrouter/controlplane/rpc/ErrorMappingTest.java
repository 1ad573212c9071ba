package io.agentrouter.controlplane.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.linecorp.armeria.common.AggregatedHttpResponse;
import io.grpc.Status;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ErrorMappingTest {
  @Test
  void everyKindMapsToItsHttpStatus() {
    assertThat(render(ApiException.invalid("name", "is required")).status().code()).isEqualTo(400);
    assertThat(render(ApiException.unauthenticated("no")).status().code()).isEqualTo(401);
    assertThat(render(ApiException.forbidden("no")).status().code()).isEqualTo(403);
    assertThat(render(ApiException.notFound("customer", "x")).status().code()).isEqualTo(404);
    assertThat(render(ApiException.conflict("dup")).status().code()).isEqualTo(409);
    assertThat(render(ApiException.unprocessable("state")).status().code()).isEqualTo(422);
    assertThat(render(ApiException.unavailable("down", null)).status().code()).isEqualTo(503);
    assertThat(render(ApiException.unimplemented("X.Y")).status().code()).isEqualTo(501);
  }

  @Test
  void rateLimitedCarriesRetryAfter() {
    AggregatedHttpResponse r = render(ApiException.exhausted("slow down", Duration.ofSeconds(7)));
    assertThat(r.status().code()).isEqualTo(429);
    assertThat(r.headers().get("retry-after")).isEqualTo("7");
    assertThat(r.contentUtf8()).contains("\"status\":\"RESOURCE_EXHAUSTED\"").contains("RetryInfo");
  }

  @Test
  void badFieldBecomesAFieldViolation() {
    String body = render(ApiException.invalid("region", "'X' is not a valid region")).contentUtf8();
    assertThat(body)
        .contains("\"message\":\"region: 'X' is not a valid region\"")
        .contains("\"field\":\"region\"");
  }

  @Test
  void unexpectedFailuresDoNotLeakTheirMessage() {
    com.google.rpc.Status s =
        ErrorMapping.toProto(Status.UNKNOWN, new IllegalStateException("password=hunter2"));
    assertThat(s.getCode()).isEqualTo(Status.Code.INTERNAL.value());
    assertThat(s.getMessage()).doesNotContain("hunter2");
  }

  @Test
  void unknownEnumNamesTheFieldAndTheValues() {
    assertThat(
            EnumHints.rewrite(
                "Invalid enum value: VALUE_STRING for enum type: agentrouter.admin.v1.Role"))
        .isEqualTo(
            "role: unknown value (expected one of ROLE_VIEWER, ROLE_MEMBER, ROLE_ADMIN, ROLE_OWNER)");
  }

  @Test
  void malformedIdsAreRejectedWithTheField() {
    assertThatThrownBy(() -> Fields.uuid("project_id", "proj_123"))
        .isInstanceOf(ApiException.class)
        .hasMessageStartingWith("project_id: 'proj_123' is not a valid id");
    assertThat(Fields.optionalUuid("project_id", "-")).isNull();
    assertThatThrownBy(() -> Fields.name("name", " ", 100))
        .hasMessage("name: is required (expected 1-100 characters)");
  }

  private static AggregatedHttpResponse render(ApiException e) {
    return HttpErrorHandler.render(ErrorMapping.toProto(Status.UNKNOWN, e));
  }
}
