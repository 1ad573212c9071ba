package io.agentrouter.dataplane.sync;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.agentrouter.dataplane.DataPlane;
import io.agentrouter.dataplane.config.ConfigException;
import io.agentrouter.dataplane.config.RuntimeConfig;
import io.agentrouter.dataplane.provider.ProviderTranslators;
import io.agentrouter.proto.dataplane.v1.DataplaneSnapshot;
import io.agentrouter.proto.dataplane.v1.ProviderCredential;
import io.agentrouter.proto.dataplane.v1.SnapshotProject;
import io.agentrouter.proto.dataplane.v1.SnapshotRoute;
import io.agentrouter.proto.dataplane.v1.SnapshotRouteTarget;
import java.time.Clock;
import org.junit.jupiter.api.Test;

/** A tenant's own provider credential is reachable from its project only. */
class SnapshotMapperTest {
  private static final String OTHER = "44444444-4444-4444-4444-444444444444";
  private static final String OTHER_CREDENTIAL = "55555555-5555-5555-5555-555555555555";

  private static RuntimeConfig compile(DataplaneSnapshot s) {
    return RuntimeConfig.compile(
        new SnapshotMapper(Clock.systemUTC()).map(s, s.getVersion()),
        new ProviderTranslators(DataPlane.defaultTranslators()));
  }

  private static DataplaneSnapshot.Builder twoTenants() {
    return FakeControlPlane.Snapshots.base("1", "https://a.example/v1")
        .addProjects(SnapshotProject.newBuilder().setProjectId(OTHER).setCustomerId("c2"))
        .addProviderCredentials(
            ProviderCredential.newBuilder()
                .setProviderKeyId(OTHER_CREDENTIAL)
                .setProjectId(OTHER)
                .setProvider("openai")
                .setBaseUrl("https://b.example/v1")
                .setSecret("sk-other"));
  }

  @Test
  void eachProjectReachesOnlyItsOwnCredential() {
    RuntimeConfig c = compile(twoTenants().build());
    String mine = FakeControlPlane.Snapshots.PROJECT;
    assertThat(c.lookup(mine, "gpt-4o-mini").targets().get(0).upstream().target().baseUrl())
        .isEqualTo("https://a.example/v1");
    assertThat(c.lookup(mine, "openai/gpt-4o-mini").targets().get(0).upstream().target().baseUrl())
        .isEqualTo("https://a.example/v1");
    assertThat(c.lookup(OTHER, "gpt-4o-mini").targets().get(0).upstream().target().baseUrl())
        .isEqualTo("https://b.example/v1");
    // Naming the other tenant's provider outright resolves to nothing.
    assertThat(c.lookup(mine, "openai-" + OTHER_CREDENTIAL + "/gpt-4o-mini")).isNull();
    assertThat(c.visibleModels(mine)).containsOnlyKeys("gpt-4o-mini");
  }

  @Test
  void aRouteCannotBorrowAnotherProjectsCredential() {
    DataplaneSnapshot s =
        twoTenants()
            .addRoutes(
                SnapshotRoute.newBuilder()
                    .setProjectId(FakeControlPlane.Snapshots.PROJECT)
                    .setAlias("borrowed")
                    .addTargets(
                        SnapshotRouteTarget.newBuilder()
                            .setModel("openai/gpt-4o-mini")
                            .setProviderKeyId(OTHER_CREDENTIAL)
                            .setWeight(1)))
            .build();
    assertThatThrownBy(() -> compile(s))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("route 'borrowed'")
        .hasMessageContaining("expected: the route's own project's");
  }
}
