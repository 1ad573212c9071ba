package io.agentrouter.dataplane.sync;

import com.linecorp.armeria.client.WebClient;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import com.linecorp.armeria.server.Server;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import io.agentrouter.dataplane.DataPlane;
import io.agentrouter.dataplane.TestGateway;
import io.agentrouter.dataplane.spool.UsageSpool;
import io.agentrouter.dataplane.upstream.UpstreamAddressPolicy;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jspecify.annotations.Nullable;

/** A data plane in managed mode on a free port, wired as {@code Main} wires it. */
final class ManagedGateway implements AutoCloseable {
  final DataPlane dataPlane;
  final UsageSpool spool;
  final ControlPlaneConfigSource source;
  final List<String> fatal = new CopyOnWriteArrayList<>();
  private final Server server;

  private ManagedGateway(String controlPlaneUrls, Path dataDir, @Nullable String token) {
    ManagedSettings settings =
        new ManagedSettings(
            List.of(controlPlaneUrls.split(",")),
            token,
            dataDir,
            null,
            Duration.ofMillis(200),
            16L * 1024 * 1024);
    try {
      spool = UsageSpool.open(dataDir.resolve("spool"), settings.spoolMaxBytes(), 64 * 1024);
      DataPlane[] holder = new DataPlane[1];
      source =
          ControlPlaneConfigSource.builder(settings)
              .spool(spool)
              .inFlight(() -> holder[0] == null ? 0 : holder[0].inFlightRequests())
              .onFatal(fatal::add)
              .build();
      dataPlane =
          DataPlane.builder(TestGateway.settings().withHttpPort(0), source)
              .usageSink(spool)
              // The fake providers listen on 127.0.0.1.
              .upstreamAddressPolicy(UpstreamAddressPolicy.managed(true))
              .build();
      holder[0] = dataPlane;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    server = dataPlane.start();
  }

  static ManagedGateway start(String controlPlaneUrls, Path dataDir, @Nullable String token) {
    return new ManagedGateway(controlPlaneUrls, dataDir, token);
  }

  String url() {
    return "http://127.0.0.1:" + server.activeLocalPort();
  }

  WebClient web() {
    return WebClient.of(url());
  }

  OpenAIClient openAi(String token) {
    return OpenAIOkHttpClient.builder()
        .baseUrl(url() + "/v1")
        .apiKey(token)
        .maxRetries(0)
        .timeout(Duration.ofSeconds(10))
        .build();
  }

  AggregatedHttpResponse chat(String token) {
    return web()
        .execute(
            HttpRequest.of(
                RequestHeaders.builder(HttpMethod.POST, "/v1/chat/completions")
                    .contentType(MediaType.JSON)
                    .add("authorization", "Bearer " + token)
                    .build(),
                HttpData.ofUtf8(
                    "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")))
        .aggregate()
        .join();
  }

  AggregatedHttpResponse health() {
    return web().get("/internal/health").aggregate().join();
  }

  @Override
  public void close() {
    dataPlane.close();
  }
}
