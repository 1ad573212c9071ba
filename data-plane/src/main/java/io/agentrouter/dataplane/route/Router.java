package io.agentrouter.dataplane.route;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpResponseWriter;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.ServiceRequestContext;
import io.agentrouter.dataplane.chain.ClientSurface;
import io.agentrouter.dataplane.chain.Endpoint;
import io.agentrouter.dataplane.chain.Exchange;
import io.agentrouter.dataplane.config.Route;
import io.agentrouter.dataplane.config.Target;
import io.agentrouter.dataplane.metrics.GatewayMetrics;
import io.agentrouter.dataplane.upstream.UpstreamClient;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;

/**
 * The end of the chain for proxied endpoints: orders the route's targets (a weighted pick first,
 * the rest in declared order), skips targets whose breaker is open, and relays the request through
 * the provider translator and the upstream client, falling back on the route's error classes. At
 * most one attempt per target, so at most 1 + fallbacks attempts per request.
 */
public final class Router implements HttpService {
  final UpstreamClient client;
  final CircuitBreakers breakers;
  final GatewayMetrics metrics;
  final ObjectMapper mapper;
  final LongSupplier nanoTime;
  final Clock clock;
  final Map<Endpoint, ClientSurface> surfaces;
  final ClientHangups hangups;

  public Router(
      UpstreamClient client,
      CircuitBreakers breakers,
      GatewayMetrics metrics,
      ObjectMapper mapper,
      LongSupplier nanoTime,
      Clock clock) {
    this(client, breakers, metrics, mapper, nanoTime, clock, Map.of());
  }

  /** With the client surfaces (Anthropic Messages, OpenAI Responses) relayed like chat. */
  public Router(
      UpstreamClient client,
      CircuitBreakers breakers,
      GatewayMetrics metrics,
      ObjectMapper mapper,
      LongSupplier nanoTime,
      Clock clock,
      Map<Endpoint, ClientSurface> surfaces) {
    this(client, breakers, metrics, mapper, nanoTime, clock, surfaces, new ClientHangups());
  }

  /** With the listener that reports HTTP/1 clients hanging up (see {@link ClientHangups}). */
  public Router(
      UpstreamClient client,
      CircuitBreakers breakers,
      GatewayMetrics metrics,
      ObjectMapper mapper,
      LongSupplier nanoTime,
      Clock clock,
      Map<Endpoint, ClientSurface> surfaces,
      ClientHangups hangups) {
    this.hangups = requireNonNull(hangups, "hangups");
    this.surfaces = Map.copyOf(requireNonNull(surfaces, "surfaces"));
    this.client = requireNonNull(client, "client");
    this.breakers = requireNonNull(breakers, "breakers");
    this.metrics = requireNonNull(metrics, "metrics");
    this.mapper = requireNonNull(mapper, "mapper");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
    this.clock = requireNonNull(clock, "clock");
  }

  @Override
  public HttpResponse serve(ServiceRequestContext ctx, HttpRequest req) {
    Exchange ex = Exchange.of(ctx);
    long start = nanoTime.getAsLong();
    Route route = ex.route(Route.class);
    List<Target> plan = plan(route);
    ex.addRouteNanos(nanoTime.getAsLong() - start);
    HttpResponseWriter res = HttpResponse.streaming();
    new Relay(this, ctx, ex, route, plan, res).start();
    return res;
  }

  static List<Target> plan(Route route) {
    List<Target> targets = route.targets();
    if (targets.size() == 1) {
      return targets;
    }
    int pick = 0;
    int r = ThreadLocalRandom.current().nextInt(route.totalWeight());
    int[] w = route.weights();
    for (int i = 0; i < w.length; i++) {
      r -= w[i];
      if (r < 0) {
        pick = i;
        break;
      }
    }
    List<Target> plan = new ArrayList<>(targets.size());
    plan.add(targets.get(pick));
    for (int i = 0; i < targets.size(); i++) {
      if (i != pick) {
        plan.add(targets.get(i));
      }
    }
    return plan;
  }
}
