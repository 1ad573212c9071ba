package io.agentrouter.dataplane.upstream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.linecorp.armeria.client.WebClient;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import io.agentrouter.common.config.ApiKeyPepper;
import io.agentrouter.dataplane.DataPlane;
import io.agentrouter.dataplane.TestGateway;
import io.agentrouter.dataplane.config.StandaloneConfigParser;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Upstream connections are checked on the address actually connected to. */
class SsrfTest {

  private static boolean allowed(UpstreamAddressPolicy p, String ip) throws Exception {
    return p.test(new InetSocketAddress(InetAddress.getByName(ip), 443));
  }

  @Test
  void classifiesAddressesAsTheControlPlaneDoes() throws Exception {
    UpstreamAddressPolicy strict = UpstreamAddressPolicy.managed(false);
    UpstreamAddressPolicy open = UpstreamAddressPolicy.managed(true);
    for (String never :
        new String[] {
          "169.254.169.254",
          "fd00:ec2::254",
          "100.100.100.200",
          "::ffff:169.254.169.254",
          "169.254.10.1",
          "fe80::1",
          "0.0.0.0",
          "224.0.0.1"
        }) {
      assertThat(allowed(strict, never)).as(never).isFalse();
      assertThat(allowed(open, never)).as(never).isFalse();
    }
    for (String priv :
        new String[] {
          "127.0.0.1", "::1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "100.64.0.1", "fd12:3456::1"
        }) {
      assertThat(allowed(strict, priv)).as(priv).isFalse();
      assertThat(allowed(open, priv)).as(priv).isTrue();
    }
    for (String pub : new String[] {"172.32.0.1", "8.8.8.8", "2606:4700::1111"}) {
      assertThat(allowed(strict, pub)).as(pub).isTrue();
    }
  }

  @Test
  void metadataIsRefusedEvenWhenPrivateRangesAreAllowed() throws Exception {
    for (UpstreamAddressPolicy p :
        new UpstreamAddressPolicy[] {
          UpstreamAddressPolicy.managed(true), UpstreamAddressPolicy.standalone(true)
        }) {
      assertThat(p.test(new InetSocketAddress(InetAddress.getByName("169.254.169.254"), 80)))
          .isFalse();
      assertThat(p.test(new InetSocketAddress(InetAddress.getByName("fd00:ec2::254"), 80)))
          .isFalse();
      assertThat(p.test(new InetSocketAddress(InetAddress.getByName("10.0.0.5"), 80))).isTrue();
    }
    UpstreamAddressPolicy managed = UpstreamAddressPolicy.managed(false);
    assertThat(managed.test(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 80)))
        .isFalse();
    assertThat(managed.test(new InetSocketAddress(InetAddress.getByName("192.168.0.10"), 80)))
        .isFalse();
    assertThat(managed.test(new InetSocketAddress(InetAddress.getByName("8.8.8.8"), 443))).isTrue();
    UpstreamAddressPolicy standalone = UpstreamAddressPolicy.standalone(false);
    assertThat(standalone.test(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 80)))
        .isTrue();
    assertThat(standalone.test(new InetSocketAddress(InetAddress.getByName("10.0.0.5"), 80)))
        .isFalse();
  }

  @Test
  void managedModeRefusesLoopbackUpstreamsAtConnectTimeWhateverTheName() {
    String token = TestGateway.newKey();
    try (FakeOpenAi fake = FakeOpenAi.start()) {
      String yaml =
          """
          providers:
            - {name: byip, type: openai, base_url: "%s"}
            - {name: byname, type: openai, base_url: "http://localhost:%d/v1"}
          models: [{provider: byip, model: a}, {provider: byname, model: b}]
          projects: [{id: p}]
          keys: [{token: "%s", project: p}]
          """
              .formatted(fake.baseUrl(), fake.port(), token);
      try (Started refusing = start(yaml, UpstreamAddressPolicy.managed(false))) {
        WebClient web = WebClient.of("http://127.0.0.1:" + refusing.port());
        for (String model : new String[] {"a", "b"}) {
          AggregatedHttpResponse r = chat(web, token, model);
          assertThat(r.status().code()).isEqualTo(502);
          assertThat(r.contentUtf8()).doesNotContain("127.0.0.1").doesNotContain("localhost");
        }
        assertThat(fake.received()).isEmpty();
      }
      // The operator's switch lets on-premises models through.
      try (Started allowing = start(yaml, UpstreamAddressPolicy.managed(true))) {
        WebClient web = WebClient.of("http://127.0.0.1:" + allowing.port());
        assertThat(chat(web, token, "a").status().code()).isEqualTo(200);
        assertThat(chat(web, token, "b").status().code()).isEqualTo(200);
      }
    }
  }

  @Test
  void upstreamRedirectsAreNeitherFollowedNorPassedOffAsAnswers() throws Exception {
    String token = TestGateway.newKey();
    try (FakeOpenAi fake = FakeOpenAi.start();
        ServerSocket internal = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      internal.setSoTimeout(1);
      String yaml =
          """
          providers: [{name: up, type: openai, base_url: "%s"}]
          models: [{provider: up, model: a}]
          projects: [{id: p}]
          keys: [{token: "%s", project: p}]
          """
              .formatted(fake.baseUrl(), token);
      String location = "http://127.0.0.1:" + internal.getLocalPort() + "/v1/chat/completions";
      try (Started gw = start(yaml, UpstreamAddressPolicy.managed(true))) {
        WebClient web = WebClient.of("http://127.0.0.1:" + gw.port());
        for (int status : new int[] {301, 302, 303, 307, 308}) {
          for (boolean stream : new boolean[] {false, true}) {
            fake.reset();
            fake.always(FakeOpenAi.Fault.status(status, "moved", Map.of("location", location)));
            AggregatedHttpResponse r = chat(web, token, "a", stream);
            assertThat(r.status().code()).as(status + " stream=" + stream).isEqualTo(502);
            assertThat(r.contentUtf8())
                .contains("\"code\":\"upstream_error\"")
                .contains("redirect")
                .doesNotContain(location);
            assertThat(fake.received()).hasSize(1);
          }
        }
      }
      assertThatThrownBy(internal::accept).isInstanceOf(SocketTimeoutException.class);
    }
  }

  @Test
  void aBaseUrlWhoseHostTheClientCannotUseIsAnUnreachableProviderNotA500() {
    String token = TestGateway.newKey();
    String yaml =
        """
        providers:
          - {name: dot, type: openai, base_url: "http://127.0.0.1.:9/v1"}
          - {name: decimal, type: openai, base_url: "http://2130706433:9/v1"}
        models: [{provider: dot, model: a}, {provider: decimal, model: b}]
        projects: [{id: p}]
        keys: [{token: "%s", project: p}]
        """
            .formatted(token);
    try (Started gw = start(yaml, UpstreamAddressPolicy.managed(false))) {
      WebClient web = WebClient.of("http://127.0.0.1:" + gw.port());
      for (String model : new String[] {"a", "b"}) {
        AggregatedHttpResponse r = chat(web, token, model);
        assertThat(r.status().code()).as(model).isEqualTo(502);
        assertThat(r.contentUtf8()).contains("\"code\":\"upstream_unavailable\"");
      }
    }
  }

  private record Started(DataPlane dp, int port) implements AutoCloseable {
    @Override
    public void close() {
      dp.close();
    }
  }

  private static Started start(String yaml, UpstreamAddressPolicy policy) {
    StandaloneConfigParser parser =
        new StandaloneConfigParser(
            Map.<String, String>of()::get, ApiKeyPepper.of(TestGateway.PEPPER));
    DataPlane dp =
        DataPlane.builder(
                TestGateway.settings().withHttpPort(0),
                l -> l.accept(parser.parse(yaml.getBytes(StandardCharsets.UTF_8), "ssrf.yaml")))
            .upstreamAddressPolicy(policy)
            .build();
    return new Started(dp, dp.start().activeLocalPort());
  }

  private static AggregatedHttpResponse chat(WebClient web, String token, String model) {
    return chat(web, token, model, false);
  }

  private static AggregatedHttpResponse chat(
      WebClient web, String token, String model, boolean stream) {
    return web.execute(
            HttpRequest.of(
                RequestHeaders.builder(HttpMethod.POST, "/v1/chat/completions")
                    .contentType(MediaType.JSON)
                    .add("authorization", "Bearer " + token)
                    .build(),
                HttpData.ofUtf8(
                    "{\"model\":\""
                        + model
                        + "\",\"stream\":"
                        + stream
                        + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")))
        .aggregate()
        .join();
  }
}
