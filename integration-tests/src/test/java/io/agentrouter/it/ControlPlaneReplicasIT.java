package io.agentrouter.it;

import static io.agentrouter.it.Planes.log;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.agentrouter.controlplane.ControlPlane;
import io.agentrouter.controlplane.testing.Rest;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two control-plane replicas on one database and a real managed data plane that knows both URLs:
 * when the replica it talks to dies, it moves to the other; changes made through either reach it;
 * its usage is stored whichever replica receives it.
 */
@ExtendWith(SecretWatch.class)
class ControlPlaneReplicasIT {

  @Test
  void aDataPlaneMovesToTheOtherReplicaAndChangesThroughEitherReachIt() throws Exception {
    try (Planes planes = Planes.start();
        FakeOpenAi openAi = FakeOpenAi.start()) {
      ControlPlane replica = planes.startReplica();
      try {
        Rest viaReplica = new Rest(replica.baseUrl());
        Planes.Tenant tenant =
            planes.tenant("globex", openAi.baseUrl(), "smart", "openai/gpt-4o-mini");
        Planes.Registration reg = planes.register("dp-eu-1");
        ManagedDataPlane dp =
            planes.startDataPlane(
                reg,
                planes.newDir("dp"),
                reg.token(),
                List.of(planes.controlPlaneUrl(), replica.baseUrl()));
        Planes.Key first = planes.createKey(tenant, "first", null);
        await("the first key served")
            .atMost(Duration.ofSeconds(60))
            .until(() -> dp.chatStatus(first.secret()) == 200);

        // The replica the data plane talks to goes away; a key created and one revoked through
        // the other replica still reach the data plane.
        planes.stopControlPlane();
        long t0 = System.nanoTime();
        Rest.Response created =
            viaReplica.post(
                tenant.path() + "/keys", planes.adminKey(), Rest.json(Map.of("name", "second")));
        assertThat(created.status()).as(created.body()).isEqualTo(200);
        String second = SecretWatch.secret(created.text("secret"));
        await("a key created through the other replica works")
            .atMost(Duration.ofSeconds(30))
            .pollInterval(Duration.ofMillis(50))
            .until(() -> dp.chatStatus(second) == 200);
        long createdMs = (System.nanoTime() - t0) / 1_000_000;
        Rest.Response revoked =
            viaReplica.send(
                "DELETE", tenant.path() + "/keys/" + first.id(), planes.adminKey(), null);
        assertThat(revoked.status()).as(revoked.body()).isEqualTo(200);
        long t1 = System.nanoTime();
        await("a key revoked through the other replica is refused")
            .atMost(Duration.ofSeconds(5))
            .pollInterval(Duration.ofMillis(50))
            .until(() -> dp.chatStatus(first.secret()) == 401);
        long revokedMs = (System.nanoTime() - t1) / 1_000_000;

        // The first replica comes back and the second goes: the data plane moves back, and a
        // revocation through the first replica reaches it.
        planes.startControlPlane();
        replica.close();
        replica = null;
        Rest.Response revokedBack =
            planes
                .rest()
                .send(
                    "DELETE",
                    tenant.path() + "/keys/" + created.json().path("key").path("key_id").asText(),
                    planes.adminKey(),
                    null);
        assertThat(revokedBack.status()).as(revokedBack.body()).isEqualTo(200);
        await("a revocation through the first replica reaches it again")
            .atMost(Duration.ofSeconds(30))
            .pollInterval(Duration.ofMillis(50))
            .until(() -> dp.chatStatus(second) == 401);

        // Every request served reached the request log, whichever replica took the batch.
        int served = openAi.received().size();
        await("usage stored")
            .atMost(Duration.ofSeconds(30))
            .until(() -> requestLogRows(planes) == served);
        log.info(
            "it: replicas: new key through the other replica served after {} ms (includes the"
                + " move), revocation through it refused after {} ms; {} requests logged",
            createdMs,
            revokedMs,
            served);
      } finally {
        if (replica != null) {
          replica.close();
        }
      }
    }
  }

  private static int requestLogRows(Planes planes) throws Exception {
    try (Connection c = planes.jdbc();
        ResultSet r = c.createStatement().executeQuery("select count(*) from request_log")) {
      r.next();
      return r.getInt(1);
    }
  }
}
