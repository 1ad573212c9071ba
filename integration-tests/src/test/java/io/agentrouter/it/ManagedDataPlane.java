package io.agentrouter.it;

import static java.util.Objects.requireNonNull;

import com.linecorp.armeria.server.Server;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import io.agentrouter.dataplane.DataPlane;
import io.agentrouter.dataplane.TestGateway;
import io.agentrouter.dataplane.spool.UsageSpool;
import io.agentrouter.dataplane.sync.ControlPlaneConfigSource;
import io.agentrouter.dataplane.sync.ManagedSettings;
import io.agentrouter.dataplane.upstream.UpstreamAddressPolicy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jspecify.annotations.Nullable;

/**
 * A data plane in managed mode, wired as {@code Main.startManaged} wires it: the control-plane
 * config source (register, StreamConfig, heartbeats, sealed snapshot), the durable usage spool as
 * its usage sink, and the managed SSRF policy with private upstreams allowed (the fake providers
 * listen on 127.0.0.1, as {@code AGENTROUTER_ALLOW_PRIVATE_UPSTREAMS=true} allows).
 */
final class ManagedDataPlane implements AutoCloseable {
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  final Path dataDir;
  final DataPlane dataPlane;
  final ControlPlaneConfigSource source;
  final List<String> fatal = new CopyOnWriteArrayList<>();
  private final Server server;

  private ManagedDataPlane(
      List<String> controlPlaneUrls, Path dataDir, @Nullable String token, int port) {
    this.dataDir = requireNonNull(dataDir, "dataDir");
    ManagedSettings settings =
        new ManagedSettings(
            controlPlaneUrls, token, dataDir, null, Duration.ofMillis(500), 64L * 1024 * 1024);
    DataPlane[] holder = new DataPlane[1];
    try {
      UsageSpool spool =
          UsageSpool.open(dataDir.resolve("spool"), settings.spoolMaxBytes(), 1024 * 1024);
      source =
          ControlPlaneConfigSource.builder(settings)
              .spool(spool)
              .inFlight(() -> holder[0] == null ? 0 : holder[0].inFlightRequests())
              .onFatal(fatal::add)
              .build();
      dataPlane =
          DataPlane.builder(TestGateway.settings().withHttpPort(port), source)
              .usageSink(spool)
              .upstreamAddressPolicy(UpstreamAddressPolicy.managed(true))
              .build();
      holder[0] = dataPlane;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server = dataPlane.start();
  }

  /** Starts on {@code port} (0: any free one); {@code token} only for the first start. */
  static ManagedDataPlane start(
      String controlPlaneUrl, Path dataDir, @Nullable String token, int port) {
    return new ManagedDataPlane(List.of(controlPlaneUrl), dataDir, token, port);
  }

  /** Starts with several control-plane URLs (replicas), used in turn when one is unreachable. */
  static ManagedDataPlane start(
      List<String> controlPlaneUrls, Path dataDir, @Nullable String token, int port) {
    return new ManagedDataPlane(controlPlaneUrls, dataDir, token, port);
  }

  String url() {
    return "http://127.0.0.1:" + server.activeLocalPort();
  }

  int port() {
    return server.activeLocalPort();
  }

  /** The OpenAI Java SDK pointed at this data plane, without retries so every failure counts. */
  OpenAIClient openAi(String apiKey) {
    return OpenAIOkHttpClient.builder()
        .baseUrl(url() + "/v1")
        .apiKey(apiKey)
        .maxRetries(0)
        .timeout(Duration.ofSeconds(30))
        .build();
  }

  /** The status of one small chat completion (route alias "smart") with {@code apiKey}. */
  int chatStatus(String apiKey) throws IOException, InterruptedException {
    return HTTP.send(
            HttpRequest.newBuilder(URI.create(url() + "/v1/chat/completions"))
                .header("authorization", "Bearer " + apiKey)
                .header("content-type", "application/json")
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"model\":\"smart\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
                .build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  /** The config version this data plane serves, or null before its first snapshot. */
  @Nullable String configVersion() {
    var c = dataPlane.config().current();
    return c == null ? null : c.version();
  }

  @Override
  public void close() {
    dataPlane.close();
  }
}
