package io.agentrouter.it;

import static io.agentrouter.it.Planes.log;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.agentrouter.controlplane.testing.Rest;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * One registration token shared by the pods of a scaled-out regional data plane: each pod registers
 * as its own instance (credential, heartbeat, snapshot), up to the number allowed.
 */
@ExtendWith(SecretWatch.class)
class DataplanePoolIT {

  @Test
  void podsShareOneTokenUpToMaxInstancesAndEachServes() throws Exception {
    try (Planes planes = Planes.start();
        FakeOpenAi openAi = FakeOpenAi.start()) {
      Planes.Tenant tenant =
          planes.tenant("hooli", openAi.baseUrl(), "smart", "openai/gpt-4o-mini");
      Planes.Key key = planes.createKey(tenant, "app", null);
      Planes.Registration reg = planes.register("dp-eu", 3);
      String token = SecretWatch.secret(reg.token());

      List<ManagedDataPlane> pods = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        pods.add(
            ManagedDataPlane.start(
                List.of(planes.controlPlaneUrl()), planes.newDir("pod" + i), token, 0));
      }
      try {
        for (ManagedDataPlane pod : pods) {
          await("every pod serves")
              .atMost(Duration.ofSeconds(60))
              .pollInterval(Duration.ofMillis(100))
              .until(() -> pod.chatStatus(key.secret()) == 200);
        }
        // A fourth pod with the same token is refused and serves nothing.
        ManagedDataPlane fourth =
            ManagedDataPlane.start(
                List.of(planes.controlPlaneUrl()), planes.newDir("pod3"), token, 0);
        try {
          await().atMost(Duration.ofSeconds(30)).until(() -> !fourth.fatal.isEmpty());
          assertThat(fourth.fatal.get(0)).contains("refused the registration token");
          assertThat(fourth.configVersion()).isNull();
        } finally {
          fourth.close();
        }

        // Three instances, each healthy, the first under the registered name.
        await("three healthy instances")
            .atMost(Duration.ofSeconds(30))
            .until(
                () ->
                    instances(planes, reg.id()).stream()
                        .allMatch(d -> d.path("healthy").asBoolean()));
        List<JsonNode> instances = instances(planes, reg.id());
        assertThat(instances).hasSize(3);
        assertThat(instances)
            .extracting(d -> d.path("name").asText())
            .allMatch(n -> n.startsWith("dp-eu"))
            .doesNotHaveDuplicates();
        JsonNode first = planes.dataplane(reg.id());
        assertThat(first.path("registrations_left").asInt()).isZero();
        log.info(
            "it: one token, 3 pods registered as {}, a fourth refused",
            instances.stream().map(d -> d.path("name").asText()).toList());
      } finally {
        pods.forEach(ManagedDataPlane::close);
      }
    }
  }

  @Test
  void maxInstancesOutOfRangeIsRefused() throws Exception {
    try (Planes planes = Planes.start()) {
      Rest.Response r =
          planes
              .rest()
              .post(
                  "/v1/dataplanes",
                  planes.adminKey(),
                  Rest.json(
                      Map.of(
                          "name",
                          "too-many",
                          "region",
                          Planes.REGION,
                          "public_url",
                          "http://127.0.0.1:1",
                          "max_instances",
                          5000)));
      assertThat(r.status()).isEqualTo(400);
      assertThat(r.errorMessage()).contains("max_instances");
    }
  }

  /** The registered data plane and its siblings. */
  private static List<JsonNode> instances(Planes planes, String id) {
    List<JsonNode> out = new ArrayList<>();
    for (JsonNode d :
        planes.rest().get("/v1/dataplanes", planes.adminKey()).json().path("dataplanes")) {
      if (d.path("dataplane_id").asText().equals(id) || d.path("pool_id").asText().equals(id)) {
        out.add(d);
      }
    }
    return out;
  }
}
