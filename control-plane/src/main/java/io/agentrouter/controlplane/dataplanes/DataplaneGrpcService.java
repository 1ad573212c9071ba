package io.agentrouter.controlplane.dataplanes;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Empty;
import io.agentrouter.controlplane.dataplanes.DataplaneStore.DataplaneRow;
import io.agentrouter.controlplane.identity.Authenticator;
import io.agentrouter.controlplane.identity.Caller;
import io.agentrouter.controlplane.rpc.ApiException;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.controlplane.rpc.Rpc;
import io.agentrouter.proto.admin.v1.DataplaneServiceGrpc;
import io.agentrouter.proto.admin.v1.DataplaneStatus;
import io.agentrouter.proto.admin.v1.DeleteDataplaneRequest;
import io.agentrouter.proto.admin.v1.DrainDataplaneRequest;
import io.agentrouter.proto.admin.v1.GetDataplaneRequest;
import io.agentrouter.proto.admin.v1.ListDataplanesRequest;
import io.agentrouter.proto.admin.v1.ListDataplanesResponse;
import io.agentrouter.proto.admin.v1.RegisterDataplaneRequest;
import io.agentrouter.proto.admin.v1.RegisterDataplaneResponse;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Base64;
import java.util.HexFormat;
import java.util.UUID;

/** The data-plane registry. Operators only. */
public final class DataplaneGrpcService extends DataplaneServiceGrpc.DataplaneServiceImplBase {
  /** Prefix of one-time registration tokens, so they are recognisable in a secret scanner. */
  public static final String TOKEN_PREFIX = "ar-dpreg-";

  static final int MAX_INSTANCES = 1000;

  private final Authenticator auth;
  private final DataplaneStore store;
  private final Clock clock;
  private final SecureRandom random;

  public DataplaneGrpcService(
      Authenticator auth, DataplaneStore store, Clock clock, SecureRandom random) {
    this.auth = requireNonNull(auth, "auth");
    this.store = requireNonNull(store, "store");
    this.clock = requireNonNull(clock, "clock");
    this.random = requireNonNull(random, "random");
  }

  @Override
  public void registerDataplane(
      RegisterDataplaneRequest req, StreamObserver<RegisterDataplaneResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          String name = Fields.name("name", req.getName(), Fields.MAX_NAME);
          String region = Fields.region("region", req.getRegion());
          String url = publicUrl(req.getPublicUrl());
          int instances = req.getMaxInstances() == 0 ? 1 : req.getMaxInstances();
          if (instances < 1 || instances > MAX_INSTANCES) {
            throw ApiException.invalid(
                "max_instances",
                req.getMaxInstances() + " (expected 1-" + MAX_INSTANCES + ", or 0 for 1)");
          }
          requireOperator("register data planes");
          byte[] secret = new byte[32];
          random.nextBytes(secret);
          String token =
              TOKEN_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
          DataplaneRow row =
              store.insert(
                  UUID.randomUUID(),
                  name,
                  region,
                  url,
                  sha256(token),
                  instances,
                  Fields.micros(clock.instant()));
          return RegisterDataplaneResponse.newBuilder()
              .setDataplane(toProto(row))
              .setRegistrationToken(token)
              .build();
        });
  }

  @Override
  public void listDataplanes(
      ListDataplanesRequest req, StreamObserver<ListDataplanesResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          requireOperator("list data planes");
          ListDataplanesResponse.Builder b = ListDataplanesResponse.newBuilder();
          store.list().forEach(r -> b.addDataplanes(toProto(r)));
          return b.build();
        });
  }

  @Override
  public void getDataplane(
      GetDataplaneRequest req, StreamObserver<io.agentrouter.proto.admin.v1.Dataplane> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID id = Fields.uuid("dataplane_id", req.getDataplaneId());
          requireOperator("read data planes");
          DataplaneRow row = store.find(id);
          if (row == null) {
            throw ApiException.notFound("data plane", id);
          }
          return toProto(row);
        });
  }

  @Override
  public void drainDataplane(
      DrainDataplaneRequest req, StreamObserver<io.agentrouter.proto.admin.v1.Dataplane> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID id = Fields.uuid("dataplane_id", req.getDataplaneId());
          requireOperator("drain data planes");
          DataplaneRow row = store.drain(id, Fields.micros(clock.instant()));
          if (row == null) {
            throw ApiException.notFound("data plane", id);
          }
          return toProto(row);
        });
  }

  @Override
  public void deleteDataplane(DeleteDataplaneRequest req, StreamObserver<Empty> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID id = Fields.uuid("dataplane_id", req.getDataplaneId());
          requireOperator("delete data planes");
          if (!store.delete(id)) {
            throw ApiException.notFound("data plane", id);
          }
          return Empty.getDefaultInstance();
        });
  }

  private void requireOperator(String action) {
    Caller caller = auth.current();
    if (!caller.operator() || caller.bound()) {
      throw ApiException.forbidden(
          "only operators may "
              + action
              + " (expected a credential of a principal with platform role operator, not bound to a project)");
    }
  }

  static String publicUrl(String value) {
    String v = value == null ? "" : value.strip();
    if (v.isEmpty()) {
      throw ApiException.invalid(
          "public_url", "is required (expected http(s)://host[:port][/path])");
    }
    Fields.checkLength("public_url", v, 2048);
    try {
      URI uri = new URI(v);
      if (uri.getScheme() == null
          || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))
          || uri.getHost() == null
          || uri.getRawQuery() != null
          || uri.getRawFragment() != null
          || uri.getRawUserInfo() != null) {
        throw new URISyntaxException(
            v, "not an absolute http(s) URL without user info, query or fragment");
      }
    } catch (URISyntaxException e) {
      throw ApiException.invalid(
          "public_url",
          "'" + v + "' is not a usable base URL (expected http(s)://host[:port][/path])");
    }
    return v.endsWith("/") ? v.substring(0, v.length() - 1) : v;
  }

  static String sha256(String s) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static io.agentrouter.proto.admin.v1.Dataplane toProto(DataplaneRow r) {
    var b =
        io.agentrouter.proto.admin.v1.Dataplane.newBuilder()
            .setDataplaneId(r.id().toString())
            .setName(r.name())
            .setRegion(r.region())
            .setPublicUrl(r.publicUrl())
            .setStatus(
                r.drainedAt() != null
                    ? DataplaneStatus.DATAPLANE_STATUS_DRAINED
                    : r.pending()
                        ? DataplaneStatus.DATAPLANE_STATUS_PENDING
                        : DataplaneStatus.DATAPLANE_STATUS_ACTIVE)
            .setCreatedAt(Fields.timestamp(r.createdAt()));
    if (r.activatedAt() != null) {
      b.setActivatedAt(Fields.timestamp(r.activatedAt()));
    }
    if (r.drainedAt() != null) {
      b.setDrainedAt(Fields.timestamp(r.drainedAt()));
    }
    if (r.lastHeartbeatAt() != null) {
      b.setLastHeartbeatAt(Fields.timestamp(r.lastHeartbeatAt()));
    }
    if (r.lastNackVersion() != null) {
      b.setLastNackVersion(r.lastNackVersion());
      b.setLastNackError(r.lastNackError() == null ? "" : r.lastNackError());
    }
    if (r.lastNackAt() != null) {
      b.setLastNackAt(Fields.timestamp(r.lastNackAt()));
    }
    b.setHealthy(r.healthy(java.time.Instant.now()));
    if (r.poolId() != null) {
      b.setPoolId(r.poolId().toString());
    }
    b.setRegistrationsLeft(r.registrationsLeft());
    if (r.ackedConfigVersion() != null) {
      b.setAckedConfigVersion(r.ackedConfigVersion());
    }
    return b.build();
  }
}
