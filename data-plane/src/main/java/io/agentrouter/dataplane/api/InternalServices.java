package io.agentrouter.dataplane.api;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.ResponseHeaders;
import com.linecorp.armeria.server.HttpService;
import io.agentrouter.dataplane.config.ConfigHolder;
import io.agentrouter.dataplane.config.RuntimeConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/** {@code /internal/health} and {@code /internal/metrics}. */
public final class InternalServices {
  private static final MediaType PROMETHEUS =
      MediaType.parse("text/plain; version=0.0.4; charset=utf-8");

  private InternalServices() {}

  /** 200 with the active config version, or 503 while there is no valid snapshot. */
  public static HttpService health(ConfigHolder config, ObjectMapper mapper) {
    requireNonNull(config, "config");
    requireNonNull(mapper, "mapper");
    return (ctx, req) -> {
      RuntimeConfig current = config.current();
      ObjectNode body = mapper.createObjectNode();
      HttpStatus status;
      if (current == null) {
        status = HttpStatus.SERVICE_UNAVAILABLE;
        body.put("status", "not_ready");
        body.put("reason", config.lastError() == null ? "no config yet" : config.lastError());
      } else {
        status = HttpStatus.OK;
        body.put("status", "ready");
        body.put("config_version", current.version());
        if (config.lastError() != null) {
          body.put("last_refused", config.lastError());
        }
      }
      return HttpResponse.of(
          ResponseHeaders.of(status, "content-type", MediaType.JSON_UTF_8.toString()),
          HttpData.wrap(mapper.writeValueAsBytes(body)));
    };
  }

  /** The Prometheus text exposition of {@code registry}. */
  public static HttpService metrics(PrometheusMeterRegistry registry) {
    requireNonNull(registry, "registry");
    return (ctx, req) -> HttpResponse.of(HttpStatus.OK, PROMETHEUS, registry.scrape());
  }
}
