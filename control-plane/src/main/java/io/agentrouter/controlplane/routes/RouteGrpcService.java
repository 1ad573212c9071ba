package io.agentrouter.controlplane.routes;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Empty;
import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.controlplane.catalog.CatalogStore;
import io.agentrouter.controlplane.catalog.CatalogStore.ModelRow;
import io.agentrouter.controlplane.identity.Authenticator;
import io.agentrouter.controlplane.providerkeys.ProviderKeyStore;
import io.agentrouter.controlplane.providerkeys.ProviderKeyStore.ProviderKeyRow;
import io.agentrouter.controlplane.routes.RouteStore.RouteRow;
import io.agentrouter.controlplane.routes.RouteStore.Target;
import io.agentrouter.controlplane.rpc.ApiException;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.controlplane.rpc.Rpc;
import io.agentrouter.controlplane.tenancy.Access;
import io.agentrouter.controlplane.tenancy.Role;
import io.agentrouter.controlplane.tenancy.TenancyStore.ProjectRow;
import io.agentrouter.proto.admin.v1.CreateRouteRequest;
import io.agentrouter.proto.admin.v1.DeleteRouteRequest;
import io.agentrouter.proto.admin.v1.GetRouteRequest;
import io.agentrouter.proto.admin.v1.ListRoutesRequest;
import io.agentrouter.proto.admin.v1.ListRoutesResponse;
import io.agentrouter.proto.admin.v1.Route;
import io.agentrouter.proto.admin.v1.RouteServiceGrpc;
import io.agentrouter.proto.admin.v1.RouteTarget;
import io.agentrouter.proto.admin.v1.UpdateRouteRequest;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jooq.exception.IntegrityConstraintViolationException;

/** Project aliases: weighted targets, ordered fallbacks, and which error classes fall back. */
public final class RouteGrpcService extends RouteServiceGrpc.RouteServiceImplBase {
  /** Error classes that fall back when a route names none. */
  static final List<String> DEFAULT_FALLBACK_ON =
      List.of(
          ErrorClass.RATE_LIMITED.wireName(),
          ErrorClass.OVERLOADED.wireName(),
          ErrorClass.TIMEOUT.wireName(),
          ErrorClass.CONNECT.wireName(),
          ErrorClass.SERVER.wireName());

  private static final Pattern ALIAS = Pattern.compile("[A-Za-z0-9._/-]{1,200}");
  private static final int MAX_TARGETS = 16;
  private static final int MAX_TIMEOUT_MS = 600_000;

  private final Authenticator auth;
  private final Access access;
  private final RouteStore store;
  private final ProviderKeyStore providerKeys;
  private final CatalogStore catalog;
  private final Clock clock;

  public RouteGrpcService(
      Authenticator auth,
      Access access,
      RouteStore store,
      ProviderKeyStore providerKeys,
      CatalogStore catalog,
      Clock clock) {
    this.auth = requireNonNull(auth, "auth");
    this.access = requireNonNull(access, "access");
    this.store = requireNonNull(store, "store");
    this.providerKeys = requireNonNull(providerKeys, "providerKeys");
    this.catalog = requireNonNull(catalog, "catalog");
    this.clock = requireNonNull(clock, "clock");
  }

  @Override
  public void createRoute(CreateRouteRequest r, StreamObserver<Route> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          ProjectRow p =
              access.project(
                  auth.current(), r.getCustomerId(), r.getProjectId(), Role.ADMIN, "create routes");
          Instant now = Fields.micros(clock.instant());
          RouteRow row = validate(p, UUID.randomUUID(), r.getRoute(), now, now);
          if (store.findByAlias(p.id(), row.alias()) != null) {
            throw ApiException.conflict(
                "alias '"
                    + row.alias()
                    + "' already has a route in this project (expected a new alias)");
          }
          save(row, true);
          return toProto(row);
        });
  }

  @Override
  public void listRoutes(ListRoutesRequest r, StreamObserver<ListRoutesResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          ProjectRow p =
              access.project(
                  auth.current(), r.getCustomerId(), r.getProjectId(), Role.VIEWER, "read");
          ListRoutesResponse.Builder b = ListRoutesResponse.newBuilder();
          store.list(p.id()).forEach(x -> b.addRoutes(toProto(x)));
          return b.build();
        });
  }

  @Override
  public void getRoute(GetRouteRequest r, StreamObserver<Route> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          ProjectRow p =
              access.project(
                  auth.current(), r.getCustomerId(), r.getProjectId(), Role.VIEWER, "read");
          return toProto(find(p, r.getRouteId()));
        });
  }

  @Override
  public void updateRoute(UpdateRouteRequest r, StreamObserver<Route> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          ProjectRow p =
              access.project(
                  auth.current(), r.getCustomerId(), r.getProjectId(), Role.ADMIN, "change routes");
          RouteRow old = find(p, r.getRouteId());
          RouteRow row =
              validate(p, old.id(), r.getRoute(), old.createdAt(), Fields.micros(clock.instant()));
          RouteRow clash = store.findByAlias(p.id(), row.alias());
          if (clash != null && !clash.id().equals(old.id())) {
            throw ApiException.conflict(
                "alias '"
                    + row.alias()
                    + "' already has a route in this project (expected a new alias)");
          }
          save(row, false);
          return toProto(row);
        });
  }

  @Override
  public void deleteRoute(DeleteRouteRequest r, StreamObserver<Empty> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          ProjectRow p =
              access.project(
                  auth.current(), r.getCustomerId(), r.getProjectId(), Role.ADMIN, "delete routes");
          RouteRow old = find(p, r.getRouteId());
          store.delete(p.id(), old.id());
          return Empty.getDefaultInstance();
        });
  }

  private void save(RouteRow row, boolean create) {
    try {
      store.save(row, create);
    } catch (IntegrityConstraintViolationException e) {
      throw ApiException.conflict(
          "route '" + row.alias() + "' conflicts with a concurrent change (expected to retry)");
    }
  }

  private RouteRow find(ProjectRow p, String id) {
    UUID routeId = Fields.uuid("route_id", id);
    RouteRow row = store.find(p.id(), routeId);
    if (row == null) {
      throw ApiException.notFound("route", routeId);
    }
    return row;
  }

  private RouteRow validate(ProjectRow p, UUID id, Route in, Instant createdAt, Instant now) {
    String alias = in.getAlias().strip();
    if (!ALIAS.matcher(alias).matches()) {
      throw ApiException.invalid(
          "route.alias",
          "'"
              + alias
              + "' is not a valid alias (expected 1-200 letters, digits, '-', '_', '.', '/')");
    }
    List<ModelRow> models = catalog.list(null);
    for (ModelRow m : models) {
      if (m.modelId().equals(alias) || m.name().equals(alias)) {
        throw ApiException.invalid(
            "route.alias",
            "'"
                + alias
                + "' shadows catalog model '"
                + m.modelId()
                + "' (expected a name callers cannot mistake for a model, e.g. 'my-"
                + m.name()
                + "')");
      }
    }
    Map<String, ModelRow> byId =
        models.stream().collect(Collectors.toMap(ModelRow::modelId, Function.identity()));
    List<ProviderKeyRow> keys = providerKeys.list(p.id());
    if (in.getTargetsCount() == 0) {
      throw ApiException.invalid("route.targets", "is empty (expected at least one target)");
    }
    if (in.getTargetsCount() > MAX_TARGETS || in.getFallbacksCount() > MAX_TARGETS) {
      throw ApiException.invalid(
          "route.targets", "has too many entries (expected at most " + MAX_TARGETS + " of each)");
    }
    List<Target> targets = new ArrayList<>();
    for (int i = 0; i < in.getTargetsCount(); i++) {
      targets.add(target("route.targets[" + i + "]", in.getTargets(i), true, byId, keys));
    }
    List<Target> fallbacks = new ArrayList<>();
    for (int i = 0; i < in.getFallbacksCount(); i++) {
      fallbacks.add(target("route.fallbacks[" + i + "]", in.getFallbacks(i), false, byId, keys));
    }
    Set<String> on = new LinkedHashSet<>();
    for (String s : in.getFallbackOnList()) {
      try {
        on.add(ErrorClass.fromWireName(s.strip()).wireName());
      } catch (IllegalArgumentException e) {
        throw ApiException.invalid(
            "route.fallback_on",
            "'"
                + s
                + "' is not an error class (expected one of "
                + Arrays.stream(ErrorClass.values())
                    .map(ErrorClass::wireName)
                    .collect(Collectors.joining(", "))
                + ")");
      }
    }
    if (in.getTimeoutMs() < 0 || in.getTimeoutMs() > MAX_TIMEOUT_MS) {
      throw ApiException.invalid(
          "route.timeout_ms",
          in.getTimeoutMs() + " is out of range (expected 0-" + MAX_TIMEOUT_MS + ", 0 = default)");
    }
    return new RouteRow(
        id,
        p.customerId(),
        p.id(),
        alias,
        List.copyOf(targets),
        List.copyOf(fallbacks),
        on.isEmpty() ? DEFAULT_FALLBACK_ON : List.copyOf(on),
        in.getTimeoutMs(),
        createdAt,
        now);
  }

  private static Target target(
      String field,
      RouteTarget t,
      boolean primary,
      Map<String, ModelRow> models,
      List<ProviderKeyRow> keys) {
    ModelRow model = models.get(t.getModel().strip());
    if (model == null) {
      throw ApiException.invalid(
          field + ".model",
          "'"
              + t.getModel()
              + "' is not a catalog model (expected '<provider>/<name>' from /v1/catalog/models,"
              + " e.g. 'openai/gpt-4o')");
    }
    int weight = t.getWeight();
    if (primary && (weight < 1 || weight > 1000)) {
      throw ApiException.invalid(field + ".weight", weight + " is out of range (expected 1-1000)");
    }
    ProviderKeyRow key;
    if (t.getProviderKeyId().isBlank()) {
      List<ProviderKeyRow> candidates = keys.stream().filter(k -> serves(k, model)).toList();
      if (candidates.size() != 1) {
        throw ApiException.invalid(
            field + ".provider_key_id",
            "is empty and the project has "
                + candidates.size()
                + " provider keys for '"
                + model.provider()
                + "' (expected exactly one, or name one)");
      }
      key = candidates.get(0);
    } else {
      UUID keyId = Fields.uuid(field + ".provider_key_id", t.getProviderKeyId());
      key = keys.stream().filter(k -> k.id().equals(keyId)).findFirst().orElse(null);
      if (key == null) {
        throw ApiException.invalid(
            field + ".provider_key_id",
            "'" + keyId + "' is not a provider key of this project (expected one of its keys)");
      }
      if (!serves(key, model)) {
        throw ApiException.invalid(
            field + ".provider_key_id",
            "key '"
                + keyId
                + "' is for provider '"
                + key.provider()
                + "' (expected one that can call '"
                + model.modelId()
                + "')");
      }
    }
    return new Target(model.modelId(), key.id(), primary ? weight : 0);
  }

  /** Azure and OpenAI-compatible keys serve OpenAI models; otherwise the providers match. */
  private static boolean serves(ProviderKeyRow key, ModelRow model) {
    return key.provider().equals(model.provider())
        || (model.provider().equals("openai")
            && (key.provider().equals("azure_openai")
                || key.provider().equals("openai_compatible")));
  }

  static Route toProto(RouteRow r) {
    Route.Builder b =
        Route.newBuilder()
            .setRouteId(r.id().toString())
            .setCustomerId(r.customerId().toString())
            .setProjectId(r.projectId().toString())
            .setAlias(r.alias())
            .addAllFallbackOn(r.fallbackOn())
            .setTimeoutMs(r.timeoutMs())
            .setCreatedAt(Fields.timestamp(r.createdAt()))
            .setUpdatedAt(Fields.timestamp(r.updatedAt()));
    r.targets().forEach(t -> b.addTargets(target(t)));
    r.fallbacks().forEach(t -> b.addFallbacks(target(t)));
    return b.build();
  }

  private static RouteTarget target(Target t) {
    return RouteTarget.newBuilder()
        .setModel(t.model())
        .setProviderKeyId(t.providerKeyId().toString())
        .setWeight(t.weight())
        .build();
  }
}
