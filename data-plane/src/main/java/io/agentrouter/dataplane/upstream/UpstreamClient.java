package io.agentrouter.dataplane.upstream;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.linecorp.armeria.client.ClientFactory;
import com.linecorp.armeria.client.RequestOptions;
import com.linecorp.armeria.client.UnprocessedRequestException;
import com.linecorp.armeria.client.WebClient;
import com.linecorp.armeria.common.ExchangeType;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import com.linecorp.armeria.common.RequestHeadersBuilder;
import io.agentrouter.dataplane.provider.ProviderTarget;
import io.agentrouter.dataplane.provider.UpstreamCall;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The pooled, asynchronous client every upstream call goes through. One {@link WebClient} per base
 * URL over one shared {@link ClientFactory}, so connections are pooled per host and HTTP/2 is used
 * where the provider offers it (ALPN for https, the h2c preface for plain http with fallback to
 * HTTP/1.1).
 */
public final class UpstreamClient {
  private final ClientFactory factory;
  private final ObjectMapper mapper;
  private final ConcurrentHashMap<String, WebClient> clients = new ConcurrentHashMap<>();

  public UpstreamClient(ClientFactory factory, ObjectMapper mapper) {
    this.factory = requireNonNull(factory, "factory");
    this.mapper = requireNonNull(mapper, "mapper");
  }

  /**
   * Starts {@code call} against {@code target}. The response is not consumed here; a stream must be
   * read or aborted by the caller.
   *
   * @param responseTimeoutMillis 0 disables the client's own timeout (streams keep their own)
   */
  public HttpResponse execute(
      ProviderTarget target, UpstreamCall call, long responseTimeoutMillis, long maxResponseBytes) {
    WebClient client;
    try {
      client =
          clients.computeIfAbsent(
              target.baseUrl(),
              base ->
                  WebClient.builder(cleartextAsHttp1(base))
                      .factory(factory)
                      .maxResponseLength(0)
                      .build());
    } catch (IllegalArgumentException e) {
      // A base URL whose host the HTTP client does not accept ("127.0.0.1.", "2130706433",
      // "0x7f.0.0.1"): nothing can be sent, so it fails as an unreachable provider, not a 500.
      return HttpResponse.ofFailure(UnprocessedRequestException.of(e));
    }
    byte[] body;
    try {
      body = mapper.writeValueAsBytes(call.body());
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("upstream body cannot be serialized", e);
    }
    RequestHeadersBuilder headers =
        RequestHeaders.builder(HttpMethod.POST, call.path()).contentType(MediaType.JSON_UTF_8);
    if (call.stream()) {
      headers.set("accept", "text/event-stream");
    }
    for (Map.Entry<String, String> h : call.headers().entrySet()) {
      headers.set(h.getKey(), h.getValue());
    }
    RequestOptions options =
        RequestOptions.builder()
            // The body is complete: Armeria then writes headers and body as one message instead of
            // subscribing to a request stream (one flush, no per-piece bookkeeping).
            .exchangeType(call.stream() ? ExchangeType.RESPONSE_STREAMING : ExchangeType.UNARY)
            .responseTimeoutMillis(responseTimeoutMillis)
            .maxResponseLength(maxResponseBytes)
            .build();
    return client.execute(HttpRequest.of(headers.build(), HttpData.wrap(body)), options);
  }

  /**
   * Plain-http upstreams (Ollama, vLLM, a local proxy) speak HTTP/1.1; asking them for h2c costs an
   * upgrade round trip and, where it works, a heavier codec for small messages. TLS upstreams
   * negotiate HTTP/2 with ALPN.
   */
  static String cleartextAsHttp1(String baseUrl) {
    return baseUrl.startsWith("http://") ? "h1c://" + baseUrl.substring(7) : baseUrl;
  }

  /** Drops cached clients of base URLs no longer configured. */
  public void retainOnly(java.util.Set<String> baseUrls) {
    clients.keySet().retainAll(baseUrls);
  }
}
