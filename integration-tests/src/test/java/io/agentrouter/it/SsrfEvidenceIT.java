package io.agentrouter.it;

import static io.agentrouter.it.Planes.log;
import static org.assertj.core.api.Assertions.assertThat;

import com.linecorp.armeria.client.WebClient;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import io.agentrouter.common.config.ApiKeyPepper;
import io.agentrouter.common.config.ConfigSnapshot;
import io.agentrouter.controlplane.testing.Rest;
import io.agentrouter.dataplane.DataPlane;
import io.agentrouter.dataplane.TestGateway;
import io.agentrouter.dataplane.config.StandaloneConfigParser;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import io.agentrouter.dataplane.upstream.UpstreamAddressPolicy;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * SSRF through tenant base URLs: every vector (cloud metadata, loopback and private ranges in every
 * notation, userinfo tricks, zone ids, names that resolve to loopback) is refused when a provider
 * key is saved on a control plane without private upstreams, and again at connect time by a data
 * plane with the managed policy and private upstreams off, fed the same URLs through a standalone
 * config that bypasses the save-time check. Loopback vectors all target a canary listener, which
 * must accept 0 connections; a control run with private upstreams allowed shows they would reach
 * it. An allowed upstream that answers with a redirect to an internal address is not followed.
 */
@ExtendWith(SecretWatch.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SsrfEvidenceIT {
  private static final String CHECK = "SSRF";

  /** A base URL to refuse; {@code local}: it names this host, so the canary would see it. */
  record Vector(String label, String url, boolean local) {}

  private final String key = TestGateway.newKey();
  private Planes planes;
  private Canary canary;
  private FakeOpenAi openAi;

  @BeforeAll
  void start() throws Exception {
    SecretWatch.secret(key);
    canary = Canary.onAllAddresses();
    openAi = FakeOpenAi.start();
    planes = Planes.startWithoutPrivateUpstreams();
  }

  @AfterAll
  void stop() throws Exception {
    if (planes != null) {
      planes.close();
    }
    if (openAi != null) {
      openAi.close();
    }
    if (canary != null) {
      canary.close();
    }
  }

  List<Vector> vectors() {
    int p = canary.port();
    List<Vector> v = new ArrayList<>();
    Consumer<String[]> local = a -> v.add(new Vector(a[0], a[1], true));
    Consumer<String[]> remote = a -> v.add(new Vector(a[0], a[1], false));
    // Cloud metadata, by address in several notations and by name.
    remote.accept(
        new String[] {"AWS/GCP/Azure metadata", "http://169.254.169.254/latest/meta-data/"});
    remote.accept(new String[] {"metadata, port", "http://169.254.169.254:" + p + "/"});
    remote.accept(new String[] {"AWS IPv6 metadata", "http://[fd00:ec2::254]:" + p + "/"});
    remote.accept(new String[] {"ECS task metadata", "http://169.254.170.2:" + p + "/v2/"});
    remote.accept(new String[] {"Alibaba metadata", "http://100.100.100.200:" + p + "/"});
    remote.accept(new String[] {"metadata, decimal", "http://2852039166:" + p + "/"});
    remote.accept(new String[] {"metadata, hex", "http://0xa9fea9fe:" + p + "/"});
    remote.accept(
        new String[] {"metadata, IPv4-mapped", "http://[::ffff:169.254.169.254]:" + p + "/"});
    remote.accept(new String[] {"GCP metadata name", "http://metadata.google.internal:" + p + "/"});
    remote.accept(
        new String[] {"GCP metadata name, dot", "http://metadata.google.internal.:" + p + "/"});
    remote.accept(new String[] {"bare 'metadata' name", "http://metadata:" + p + "/"});
    // Loopback in every notation.
    local.accept(new String[] {"127.0.0.1", "http://127.0.0.1:" + p + "/v1"});
    local.accept(new String[] {"127.0.0.2", "http://127.0.0.2:" + p + "/v1"});
    local.accept(new String[] {"127.0.0.1, https", "https://127.0.0.1:" + p + "/v1"});
    local.accept(new String[] {"127.0.0.1, trailing dot", "http://127.0.0.1.:" + p + "/v1"});
    local.accept(new String[] {"decimal 2130706433", "http://2130706433:" + p + "/v1"});
    local.accept(new String[] {"octal 0177.0.0.1", "http://0177.0.0.1:" + p + "/v1"});
    local.accept(new String[] {"hex 0x7f000001", "http://0x7f000001:" + p + "/v1"});
    local.accept(new String[] {"hex parts 0x7f.0.0.1", "http://0x7f.0.0.1:" + p + "/v1"});
    local.accept(new String[] {"short 127.1", "http://127.1:" + p + "/v1"});
    local.accept(new String[] {"0.0.0.0", "http://0.0.0.0:" + p + "/v1"});
    local.accept(new String[] {"0", "http://0:" + p + "/v1"});
    local.accept(new String[] {"[::1]", "http://[::1]:" + p + "/v1"});
    local.accept(new String[] {"[0:0:0:0:0:0:0:1]", "http://[0:0:0:0:0:0:0:1]:" + p + "/v1"});
    local.accept(new String[] {"[::]", "http://[::]:" + p + "/v1"});
    local.accept(
        new String[] {"IPv4-mapped [::ffff:127.0.0.1]", "http://[::ffff:127.0.0.1]:" + p + "/v1"});
    local.accept(
        new String[] {"IPv4-mapped hex [::ffff:7f00:1]", "http://[::ffff:7f00:1]:" + p + "/v1"});
    local.accept(
        new String[] {"IPv4-compatible [::127.0.0.1]", "http://[::127.0.0.1]:" + p + "/v1"});
    local.accept(new String[] {"NAT64 [64:ff9b::7f00:1]", "http://[64:ff9b::7f00:1]:" + p + "/v1"});
    local.accept(new String[] {"6to4 [2002:7f00:1::]", "http://[2002:7f00:1::]:" + p + "/v1"});
    local.accept(new String[] {"zone id [::1%25lo]", "http://[::1%25lo]:" + p + "/v1"});
    local.accept(new String[] {"zone id [fe80::1%25lo]", "http://[fe80::1%25lo]:" + p + "/v1"});
    // Names that resolve to loopback without a network.
    local.accept(new String[] {"localhost", "http://localhost:" + p + "/v1"});
    local.accept(new String[] {"LOCALHOST", "http://LOCALHOST:" + p + "/v1"});
    local.accept(new String[] {"localhost.", "http://localhost.:" + p + "/v1"});
    local.accept(new String[] {"api.localhost", "http://api.localhost:" + p + "/v1"});
    for (String name : hostsFileLoopbackNames()) {
      local.accept(new String[] {"/etc/hosts name " + name, "http://" + name + ":" + p + "/v1"});
    }
    // User info tricks.
    local.accept(new String[] {"userinfo evil@127.0.0.1", "http://evil@127.0.0.1:" + p + "/v1"});
    local.accept(
        new String[] {
          "userinfo api.openai.com@127.0.0.1", "http://api.openai.com@127.0.0.1:" + p + "/v1"
        });
    local.accept(
        new String[] {"userinfo user:pass@localhost", "http://u:p@localhost:" + p + "/v1"});
    // Private, CGNAT, link-local and unique-local ranges.
    remote.accept(new String[] {"10/8", "http://10.0.0.1:" + p + "/v1"});
    remote.accept(new String[] {"10/8 top", "http://10.255.255.254:" + p + "/v1"});
    remote.accept(new String[] {"10/8 octal 012.0.0.1", "http://012.0.0.1:" + p + "/v1"});
    remote.accept(new String[] {"10/8 hex 0x0a.0.0.1", "http://0x0a.0.0.1:" + p + "/v1"});
    remote.accept(new String[] {"172.16/12", "http://172.16.0.1:" + p + "/v1"});
    remote.accept(new String[] {"172.16/12 top", "http://172.31.255.254:" + p + "/v1"});
    remote.accept(new String[] {"192.168/16", "http://192.168.0.1:" + p + "/v1"});
    remote.accept(new String[] {"192.168/16 decimal", "http://3232235777:" + p + "/v1"});
    remote.accept(new String[] {"100.64/10 CGNAT", "http://100.64.0.1:" + p + "/v1"});
    remote.accept(new String[] {"100.64/10 CGNAT top", "http://100.127.255.254:" + p + "/v1"});
    remote.accept(new String[] {"169.254/16 link-local", "http://169.254.0.1:" + p + "/v1"});
    remote.accept(new String[] {"198.18/15 benchmarking", "http://198.18.0.1:" + p + "/v1"});
    remote.accept(new String[] {"IPv4-mapped 10/8", "http://[::ffff:10.0.0.1]:" + p + "/v1"});
    remote.accept(new String[] {"IPv4-mapped 192.168/16", "http://[::ffff:c0a8:101]:" + p + "/v1"});
    remote.accept(new String[] {"fc00::/7", "http://[fc00::1]:" + p + "/v1"});
    remote.accept(new String[] {"fd00::/8", "http://[fd12:3456:789a::1]:" + p + "/v1"});
    remote.accept(new String[] {"fe80::/10", "http://[fe80::1]:" + p + "/v1"});
    remote.accept(new String[] {"fec0::/10 site-local", "http://[fec0::1]:" + p + "/v1"});
    return v;
  }

  @Test
  void everyVectorIsRefusedAtSaveTimeAndAtConnectTime() throws Exception {
    List<Vector> vectors = vectors();
    assertThat(vectors).hasSizeGreaterThanOrEqualTo(40);
    int connectionsBefore = canary.connections();

    // Save time: the control plane refuses each base URL with INVALID_ARGUMENT.
    String project = project();
    List<String> saveFailures = new ArrayList<>();
    int savedRefused = 0;
    for (int i = 0; i < vectors.size(); i++) {
      Vector v = vectors.get(i);
      Rest.Response r = saveProviderKey(project, "v" + i, v.url());
      String shape = ErrorShapes.rpcStatusProblem(r.body(), "INVALID_ARGUMENT", 400);
      if (r.status() == 400 && shape == null) {
        savedRefused++;
      } else {
        saveFailures.add(v.label() + " (" + v.url() + ") -> " + r.status() + " " + r.body());
      }
    }
    // The control: a public address is accepted, so the refusals are the policy's.
    Rest.Response publicUrl = saveProviderKey(project, "public", "https://8.8.8.8/v1");
    assertThat(publicUrl.status()).as(publicUrl.body()).isEqualTo(200);

    // Connect time: a data plane with the managed policy and private upstreams off.
    ConnectRun strict = connectRun(vectors, UpstreamAddressPolicy.managed(false));
    int strictConnections = canary.connections() - connectionsBefore;

    // The control: with private upstreams allowed, the loopback vectors do reach the canary.
    List<Vector> local = vectors.stream().filter(Vector::local).toList();
    int beforeControl = canary.connections();
    ConnectRun control = connectRun(local, UpstreamAddressPolicy.managed(true));
    int controlConnections = canary.connections() - beforeControl;

    // Redirects from an allowed upstream to internal addresses are not followed.
    int beforeRedirects = canary.connections();
    List<String> redirectFailures = redirects();
    int redirectConnections = canary.connections() - beforeRedirects;

    log.info(
        "it: SSRF save time {}/{} refused, failures {}; connect time {}/{} refused, not refused {},"
            + " canary {}; control (private allowed) reached the canary {} times for {} local"
            + " vectors ({} answered 2xx-5xx); redirects: failures {}, canary {}",
        savedRefused,
        vectors.size(),
        saveFailures,
        strict.refused,
        vectors.size(),
        strict.failures,
        strictConnections,
        controlConnections,
        local.size(),
        control.statuses,
        redirectFailures,
        redirectConnections);
    boolean met =
        savedRefused == vectors.size()
            && strict.refused == vectors.size()
            && strictConnections == 0
            && redirectFailures.isEmpty()
            && redirectConnections == 0;
    Evidence.figure(
        CHECK,
        vectors.size()
            + " vectors: "
            + savedRefused
            + "/"
            + vectors.size()
            + " refused at save (400 INVALID_ARGUMENT), "
            + strict.refused
            + "/"
            + vectors.size()
            + " refused at connect "
            + strict.statuses
            + "; "
            + strictConnections
            + " canary connections (control with private allowed: "
            + controlConnections
            + " for "
            + local.size()
            + " loopback vectors); "
            + REDIRECTS.length * 4
            + " redirects (5 statuses x 2 targets x plain/stream) refused with 502, not followed: "
            + (REDIRECTS.length * 4 - redirectFailures.size())
            + ", canary "
            + redirectConnections,
        "100% refused, 0 connections",
        met);
    assertThat(saveFailures).as("base URLs saved").isEmpty();
    assertThat(strict.failures).as("vectors not refused at connect time").isEmpty();
    assertThat(strictConnections).as("canary connections").isZero();
    assertThat(redirectFailures).as("redirects").isEmpty();
    assertThat(redirectConnections).as("canary connections after redirects").isZero();
    assertThat(controlConnections).as("the canary sees what is let through").isPositive();
  }

  private static final int[] REDIRECTS = {301, 302, 303, 307, 308};

  /** Each redirect status, to the canary and to the metadata address: never followed. */
  private List<String> redirects() throws Exception {
    List<String> failures = new ArrayList<>();
    String yaml =
        """
        providers: [{name: up, type: openai, base_url: "%s"}]
        models: [{provider: up, model: m}]
        projects: [{id: p}]
        keys: [{token: "%s", project: p}]
        """
            .formatted(openAi.baseUrl(), key);
    // Loopback allowed, as for an on-premises model: the fake upstream is on 127.0.0.1.
    try (Gateway gw = Gateway.start(UpstreamAddressPolicy.managed(true))) {
      gw.publish(yaml);
      for (int status : REDIRECTS) {
        for (String location :
            List.of(
                "http://127.0.0.1:" + canary.port() + "/v1/chat/completions",
                "http://169.254.169.254/latest/meta-data/iam/security-credentials/")) {
          for (boolean stream : new boolean[] {false, true}) {
            openAi.reset();
            openAi.always(FakeOpenAi.Fault.status(status, "moved", Map.of("location", location)));
            AggregatedHttpResponse r = gw.chat(key, "m", stream);
            int calls = openAi.received().size();
            String shape = ErrorShapes.openAiProblem(r.contentUtf8());
            if (r.status().code() != 502 || shape != null || calls != 1) {
              failures.add(
                  status
                      + (stream ? " (stream) -> " : " -> ")
                      + location
                      + ": "
                      + r.status()
                      + ", upstream calls "
                      + calls
                      + " "
                      + ErrorShapes.abbreviate(r.contentUtf8()));
            }
          }
        }
      }
    } finally {
      openAi.reset();
    }
    return failures;
  }

  private static final class ConnectRun {
    int refused;
    final List<String> failures = new ArrayList<>();
    final Map<Integer, Integer> statuses = new LinkedHashMap<>();
  }

  /**
   * Each vector as the only provider of a fresh standalone config on one data plane, one chat
   * request each. Refused: no 2xx, an OpenAI-shaped error, and (checked by the caller) no
   * connection. A config the data plane refuses to load also counts: the model is then unknown.
   */
  private ConnectRun connectRun(List<Vector> vectors, UpstreamAddressPolicy policy)
      throws Exception {
    ConnectRun run = new ConnectRun();
    try (Gateway gw = Gateway.start(policy)) {
      for (int i = 0; i < vectors.size(); i++) {
        Vector v = vectors.get(i);
        String model = "m" + i;
        String yaml =
            """
            providers: [{name: "v%1$d", type: openai, base_url: "%2$s"}]
            models: [{provider: "v%1$d", model: "%3$s"}]
            projects: [{id: p}]
            keys: [{token: "%4$s", project: p}]
            """
                .formatted(i, v.url(), model, key);
        String loadError = gw.publish(yaml);
        AggregatedHttpResponse r = gw.chat(key, model);
        run.statuses.merge(r.status().code(), 1, Integer::sum);
        String shape = ErrorShapes.openAiProblem(r.contentUtf8());
        boolean leaks = r.contentUtf8().contains(canary.port() + "");
        // Refused: 502 (the connection was not made), or 404 when the config did not load and
        // the model is unknown; never a 2xx, and never a 500 (a crash is not a refusal).
        int code = r.status().code();
        boolean refusal = code == 502 || (code == 404 && loadError != null);
        if (refusal && shape == null && !leaks) {
          run.refused++;
        } else {
          run.failures.add(
              v.label()
                  + " ("
                  + v.url()
                  + ") -> "
                  + r.status()
                  + (loadError == null ? "" : " [config refused: " + loadError + "]")
                  + " "
                  + ErrorShapes.abbreviate(r.contentUtf8()));
        }
      }
    }
    return run;
  }

  private String project() {
    Rest rest = planes.rest();
    Rest.Response c =
        rest.post("/v1/customers", planes.adminKey(), Rest.json(Map.of("name", "ssrf")));
    assertThat(c.status()).as(c.body()).isEqualTo(200);
    String customer = c.text("customer_id");
    Rest.Response p =
        rest.post(
            "/v1/customers/" + customer + "/projects",
            planes.adminKey(),
            Rest.json(Map.of("name", "web", "region", Planes.REGION)));
    assertThat(p.status()).as(p.body()).isEqualTo(200);
    return "/v1/customers/" + customer + "/projects/" + p.text("project_id");
  }

  private Rest.Response saveProviderKey(String project, String name, String baseUrl) {
    return planes
        .rest()
        .post(
            project + "/provider-keys",
            planes.adminKey(),
            Rest.json(
                Map.of(
                    "provider",
                    "openai",
                    "name",
                    name,
                    "secret",
                    SecretWatch.secret("sk-upstream-ssrf-" + name),
                    "base_url",
                    baseUrl)));
  }

  /** Names in /etc/hosts that this JVM resolves, offline, to loopback only. */
  private static List<String> hostsFileLoopbackNames() {
    List<String> names = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(Path.of("/etc/hosts"))) {
        String l = line.strip();
        if (l.isEmpty() || l.startsWith("#")) {
          continue;
        }
        String[] f = l.split("\\s+");
        for (int i = 1; i < f.length; i++) {
          String name = f[i].toLowerCase(Locale.ROOT);
          if (name.equals("localhost") || name.contains("localhost") || names.contains(name)) {
            continue;
          }
          InetAddress[] all = InetAddress.getAllByName(name);
          boolean loopback = all.length > 0;
          for (InetAddress a : all) {
            loopback &= a.isLoopbackAddress();
          }
          if (loopback) {
            names.add(name);
          }
        }
      }
    } catch (Exception e) {
      log.info("it: /etc/hosts not usable for SSRF vectors: {}", e.toString());
    }
    return names.size() > 3 ? names.subList(0, 3) : names;
  }

  /** A data plane whose standalone config is swapped per vector, with the given policy. */
  private static final class Gateway implements AutoCloseable {
    private final AtomicReference<Consumer<ConfigSnapshot>> listener = new AtomicReference<>();
    private final StandaloneConfigParser parser =
        new StandaloneConfigParser(
            Map.<String, String>of()::get, ApiKeyPepper.of(TestGateway.PEPPER));
    private final DataPlane dp;
    private final WebClient web;

    private Gateway(UpstreamAddressPolicy policy) {
      dp =
          DataPlane.builder(TestGateway.settings().withHttpPort(0), listener::set)
              .upstreamAddressPolicy(policy)
              .build();
      web =
          WebClient.builder("http://127.0.0.1:" + dp.start().activeLocalPort())
              .responseTimeoutMillis(30_000)
              .build();
    }

    static Gateway start(UpstreamAddressPolicy policy) {
      return new Gateway(policy);
    }

    /** Null when the config parsed and was handed over, else why it did not parse. */
    String publish(String yaml) {
      ConfigSnapshot s;
      try {
        s = parser.parse(yaml.getBytes(StandardCharsets.UTF_8), "ssrf.yaml");
      } catch (RuntimeException e) {
        return e.getMessage();
      }
      try {
        listener.get().accept(s);
        return null;
      } catch (RuntimeException e) {
        return e.getMessage();
      }
    }

    AggregatedHttpResponse chat(String token, String model) {
      return chat(token, model, false);
    }

    AggregatedHttpResponse chat(String token, String model, boolean stream) {
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

    @Override
    public void close() {
      dp.close();
    }
  }
}
