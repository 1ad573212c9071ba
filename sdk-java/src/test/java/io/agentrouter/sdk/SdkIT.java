package io.agentrouter.sdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.rpc.BadRequest;
import io.agentrouter.controlplane.testing.ControlPlaneExtension;
import io.agentrouter.proto.admin.v1.ApiKey;
import io.agentrouter.proto.admin.v1.CreateKeyResponse;
import io.agentrouter.proto.admin.v1.Customer;
import io.agentrouter.proto.admin.v1.DataplaneStatus;
import io.agentrouter.proto.admin.v1.KeyStatus;
import io.agentrouter.proto.admin.v1.PlatformRole;
import io.agentrouter.proto.admin.v1.Project;
import io.agentrouter.proto.inference.v1.DataplaneURL;
import io.grpc.Status;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The typed SDK against a real control plane and PostgreSQL. */
class SdkIT {
  @RegisterExtension static final ControlPlaneExtension cp = new ControlPlaneExtension();

  static AgentRouterClient admin;
  static Customer customer;
  static Project project;
  static CreateKeyResponse key;

  @BeforeAll
  static void tenant() {
    admin = AgentRouterClient.builder().baseUrl(cp.baseUrl()).apiKey(cp.adminKey()).build();
    customer = admin.customers().create("acme");
    project = admin.projects().create(customer.getCustomerId(), "web", "eu-west-1", "");
    key = admin.keys().create(customer.getCustomerId(), project.getProjectId(), "sdk");
  }

  @AfterAll
  static void close() {
    admin.close();
  }

  static AgentRouterClient as(String token) {
    return AgentRouterClient.builder()
        .baseUrl(cp.baseUrl())
        .bearerToken(token)
        .deadline(Duration.ofSeconds(10))
        .build();
  }

  @Test
  void adminClientsCoverTheTenantLifecycle() {
    assertThat(admin.identity().whoAmI().getPrincipal().getPlatformRole())
        .isEqualTo(PlatformRole.PLATFORM_ROLE_OPERATOR);
    assertThat(admin.customers().get(customer.getCustomerId()).getName()).isEqualTo("acme");
    assertThat(admin.projects().list(customer.getCustomerId(), 0, "").getProjectsList())
        .extracting(Project::getProjectId)
        .contains(project.getProjectId());
    assertThat(key.getSecret()).startsWith("sk-ar-");
    assertThat(
            admin
                .keys()
                .list(customer.getCustomerId(), project.getProjectId(), 0, "")
                .getKeysList())
        .extracting(ApiKey::getKeyId)
        .contains(key.getKey().getKeyId());

    try (AgentRouterClient app = as(key.getSecret())) {
      var me = app.identity().whoAmI();
      assertThat(me.getCredential().getKeyId()).isEqualTo(key.getKey().getKeyId());
    }
  }

  @Test
  void dataplaneUrlsFollowTheRegistry() {
    var reg = admin.dataplanes().register("dp-sdk", "eu-west-1", "https://dp-sdk.example.com");
    assertThat(reg.getRegistrationToken()).startsWith("ar-dpreg-");
    // Only data planes with a recent heartbeat are handed out.
    cp.activateAndHeartbeat(reg.getRegistrationToken());
    assertThat(admin.dataplanes().list())
        .anySatisfy(
            d -> assertThat(d.getDataplaneId()).isEqualTo(reg.getDataplane().getDataplaneId()));
    try (AgentRouterClient app = as(key.getSecret())) {
      DataplaneURL url = app.inference().getDataplaneUrl();
      assertThat(url.getUrl()).isEqualTo("https://dp-sdk.example.com");
      assertThat(url.getProjectId()).isEqualTo(project.getProjectId());
      assertThat(app.inference().listDataplaneUrls()).hasSize(1);

      assertThatThrownBy(
              () -> admin.dataplanes().register("dp-sdk", "eu-west-1", "https://x.example.com"))
          .isInstanceOf(ConflictException.class);
      assertThat(admin.dataplanes().drain(reg.getDataplane().getDataplaneId()).getStatus())
          .isEqualTo(DataplaneStatus.DATAPLANE_STATUS_DRAINED);
      assertThatThrownBy(() -> app.inference().getDataplaneUrl())
          .isInstanceOf(UnavailableException.class)
          .hasMessageContaining("eu-west-1");
    }
  }

  @Test
  void failuresAreTypedAndKeepTheServersMessageAndDetails() {
    String c = customer.getCustomerId();
    String p = project.getProjectId();
    String missing = UUID.randomUUID().toString();
    assertThatThrownBy(() -> admin.keys().get(c, p, missing))
        .isInstanceOfSatisfying(
            NotFoundException.class,
            e -> {
              assertThat(e.code()).isEqualTo(Status.Code.NOT_FOUND);
              assertThat(e.getMessage()).isNotBlank();
              assertThat(e.status()).isNotNull();
            });

    assertThatThrownBy(() -> admin.inference().prompt(c, p, " "))
        .isInstanceOfSatisfying(
            InvalidArgumentException.class,
            e -> {
              assertThat(e.getMessage()).contains("prompt");
              assertThat(e.status().getDetailsList()).anyMatch(a -> a.is(BadRequest.class));
            });

    try (AgentRouterClient stranger = as("sk-ar-garbage")) {
      assertThatThrownBy(() -> stranger.identity().whoAmI())
          .isInstanceOf(UnauthenticatedException.class);
    }

    try (AgentRouterClient down =
        AgentRouterClient.builder()
            .baseUrl("http://127.0.0.1:1")
            .apiKey("x")
            .maxRetries(2)
            .backoff(Duration.ZERO, Duration.ofMillis(10))
            .build()) {
      assertThatThrownBy(() -> down.identity().whoAmI()).isInstanceOf(UnavailableException.class);
    }
  }

  @Test
  void promptReachesTheServerAndItsAnswerIsKept() {
    // Until the server side of Prompt lands, the server answers UNIMPLEMENTED: the SDK must surface
    // that code and message, not swallow them.
    assertThatThrownBy(
            () ->
                admin
                    .inference()
                    .prompt(
                        customer.getCustomerId(),
                        project.getProjectId(),
                        "hello",
                        PromptOption.model("gpt-4o"),
                        PromptOption.idempotencyKey("idem-1")))
        .isInstanceOfSatisfying(
            AgentRouterException.class,
            e -> {
              assertThat(e.code()).isIn(Status.Code.UNIMPLEMENTED, Status.Code.UNAVAILABLE);
              assertThat(e.getMessage()).isNotBlank();
            });
  }

  @Test
  void revokedKeysStopWorking() {
    CreateKeyResponse k =
        admin.keys().create(customer.getCustomerId(), project.getProjectId(), "tmp");
    ApiKey revoked =
        admin
            .keys()
            .revoke(customer.getCustomerId(), project.getProjectId(), k.getKey().getKeyId());
    assertThat(revoked.getStatus()).isEqualTo(KeyStatus.KEY_STATUS_REVOKED);
    try (AgentRouterClient app = as(k.getSecret())) {
      assertThatThrownBy(() -> app.identity().whoAmI())
          .isInstanceOf(UnauthenticatedException.class);
    }
  }
}
