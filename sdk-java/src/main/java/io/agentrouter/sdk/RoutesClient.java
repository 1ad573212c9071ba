package io.agentrouter.sdk;

import static java.util.Objects.requireNonNull;

import io.agentrouter.proto.admin.v1.CreateRouteRequest;
import io.agentrouter.proto.admin.v1.DeleteRouteRequest;
import io.agentrouter.proto.admin.v1.GetRouteRequest;
import io.agentrouter.proto.admin.v1.ListRoutesRequest;
import io.agentrouter.proto.admin.v1.Route;
import io.agentrouter.proto.admin.v1.RouteServiceGrpc.RouteServiceBlockingStub;
import io.agentrouter.proto.admin.v1.UpdateRouteRequest;
import java.util.List;

/**
 * Routes of a project: aliases, weighted targets, fallbacks and the error classes that trigger
 * them.
 */
public final class RoutesClient {
  private final RouteServiceBlockingStub stub;
  private final Calls calls;

  RoutesClient(RouteServiceBlockingStub stub, Calls calls) {
    this.stub = stub;
    this.calls = calls;
  }

  /** Creates a route. Not retried. */
  public Route create(String customerId, String projectId, Route route) {
    var request =
        CreateRouteRequest.newBuilder()
            .setCustomerId(requireNonNull(customerId, "customerId"))
            .setProjectId(requireNonNull(projectId, "projectId"))
            .setRoute(requireNonNull(route, "route"))
            .build();
    return calls.write(() -> stub.createRoute(request));
  }

  /** A project's routes. */
  public List<Route> list(String customerId, String projectId) {
    var request =
        ListRoutesRequest.newBuilder()
            .setCustomerId(requireNonNull(customerId, "customerId"))
            .setProjectId(requireNonNull(projectId, "projectId"))
            .build();
    return calls.read(() -> stub.listRoutes(request).getRoutesList());
  }

  /** A route by id. */
  public Route get(String customerId, String projectId, String routeId) {
    var request =
        GetRouteRequest.newBuilder()
            .setCustomerId(requireNonNull(customerId, "customerId"))
            .setProjectId(requireNonNull(projectId, "projectId"))
            .setRouteId(requireNonNull(routeId, "routeId"))
            .build();
    return calls.read(() -> stub.getRoute(request));
  }

  /** Replaces a route. */
  public Route update(String customerId, String projectId, String routeId, Route route) {
    var request =
        UpdateRouteRequest.newBuilder()
            .setCustomerId(requireNonNull(customerId, "customerId"))
            .setProjectId(requireNonNull(projectId, "projectId"))
            .setRouteId(requireNonNull(routeId, "routeId"))
            .setRoute(requireNonNull(route, "route"))
            .build();
    return calls.write(() -> stub.updateRoute(request));
  }

  /** Deletes a route. */
  public void delete(String customerId, String projectId, String routeId) {
    var request =
        DeleteRouteRequest.newBuilder()
            .setCustomerId(requireNonNull(customerId, "customerId"))
            .setProjectId(requireNonNull(projectId, "projectId"))
            .setRouteId(requireNonNull(routeId, "routeId"))
            .build();
    calls.write(() -> stub.deleteRoute(request));
  }
}
