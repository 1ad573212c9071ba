package io.agentrouter.controlplane.keys;

import static java.util.Objects.requireNonNull;

import io.agentrouter.common.keys.ApiKeys;
import io.agentrouter.controlplane.identity.ApiKeyAuthenticator;
import io.agentrouter.controlplane.identity.Authenticator;
import io.agentrouter.controlplane.identity.Caller;
import io.agentrouter.controlplane.keys.KeyStore.KeyRow;
import io.agentrouter.controlplane.rpc.ApiException;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.controlplane.rpc.Rpc;
import io.agentrouter.controlplane.tenancy.Access;
import io.agentrouter.controlplane.tenancy.Role;
import io.agentrouter.proto.admin.v1.ApiKey;
import io.agentrouter.proto.admin.v1.CreateKeyRequest;
import io.agentrouter.proto.admin.v1.CreateKeyResponse;
import io.agentrouter.proto.admin.v1.GetKeyRequest;
import io.agentrouter.proto.admin.v1.KeyLimits;
import io.agentrouter.proto.admin.v1.KeyServiceGrpc;
import io.agentrouter.proto.admin.v1.KeyStatus;
import io.agentrouter.proto.admin.v1.ListKeysRequest;
import io.agentrouter.proto.admin.v1.ListKeysResponse;
import io.agentrouter.proto.admin.v1.RevokeKeyRequest;
import io.grpc.stub.StreamObserver;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/** API keys of a project. The secret leaves the server once, in the create response. */
public final class KeyGrpcService extends KeyServiceGrpc.KeyServiceImplBase {
  static final int MAX_ALLOWED_MODELS = 100;

  private final Authenticator auth;
  private final Access access;
  private final KeyStore keys;
  private final Pepper pepper;
  private final ApiKeyAuthenticator cache;
  private final Clock clock;
  private final SecureRandom random;

  public KeyGrpcService(
      Authenticator auth,
      Access access,
      KeyStore keys,
      Pepper pepper,
      Clock clock,
      SecureRandom random) {
    this.auth = requireNonNull(auth, "auth");
    this.access = requireNonNull(access, "access");
    this.keys = requireNonNull(keys, "keys");
    this.pepper = requireNonNull(pepper, "pepper");
    this.cache = auth.apiKeys();
    this.clock = requireNonNull(clock, "clock");
    this.random = requireNonNull(random, "random");
  }

  /** Generates a key for a principal; returns the row to store and the one-time token. */
  public static Generated generate(
      Pepper pepper,
      SecureRandom random,
      UUID principalId,
      @Nullable UUID customerId,
      @Nullable UUID projectId,
      String name,
      KeyLimits limits,
      @Nullable Long budgetMicros,
      List<String> allowedModels,
      @Nullable Instant expiresAt,
      Instant now) {
    ApiKeys.Generated g = ApiKeys.generate(UUID.randomUUID(), random);
    KeyRow row =
        new KeyRow(
            g.keyId(),
            principalId,
            customerId,
            projectId,
            name,
            pepper.digest(g.secret()),
            g.token().substring(g.token().length() - 4),
            limits.getRequestsPerMinute(),
            limits.getTokensPerMinute(),
            limits.getMaxConcurrentRequests(),
            budgetMicros,
            allowedModels,
            expiresAt,
            now,
            null);
    return new Generated(row, g.token());
  }

  /** A new key: the row to store and the full token to show once. */
  public record Generated(KeyRow row, String token) {
    @Override
    public String toString() {
      return "Generated[" + row + "]";
    }
  }

  @Override
  public void createKey(CreateKeyRequest req, StreamObserver<CreateKeyResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID customerId = Fields.uuid("customer_id", req.getCustomerId());
          UUID projectId = Fields.uuid("project_id", req.getProjectId());
          String name = Fields.name("name", req.getName(), Fields.MAX_NAME);
          KeyLimits limits = validLimits(req.getLimits());
          Long budget = Money.parseBudgetUsd("monthly_budget_usd", req.getMonthlyBudgetUsd());
          List<String> models = validModels(req.getAllowedModelsList());
          Instant now = Fields.micros(clock.instant());
          Instant expires = null;
          if (req.hasExpiresAt()) {
            expires = Fields.micros(Fields.instant(req.getExpiresAt()));
            if (!expires.isAfter(now)) {
              throw ApiException.invalid(
                  "expires_at",
                  expires + " is not in the future (expected a later time, or unset for never)");
            }
          }
          Caller caller = auth.current();
          access.project(caller, customerId, projectId, Role.MEMBER, "create API keys");
          Generated g =
              generate(
                  pepper,
                  random,
                  caller.principalId(),
                  customerId,
                  projectId,
                  name,
                  limits,
                  budget,
                  models,
                  expires,
                  now);
          keys.insert(g.row());
          return CreateKeyResponse.newBuilder()
              .setKey(toProto(g.row(), now))
              .setSecret(g.token())
              .build();
        });
  }

  @Override
  public void listKeys(ListKeysRequest req, StreamObserver<ListKeysResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID customerId = Fields.uuid("customer_id", req.getCustomerId());
          UUID projectId = Fields.uuid("project_id", req.getProjectId());
          int size = Fields.pageSize("page_size", req.getPageSize(), 100, 500);
          int offset = Fields.pageOffset("page_token", req.getPageToken());
          access.project(auth.current(), customerId, projectId, Role.VIEWER, "list API keys");
          List<KeyRow> rows = keys.list(projectId, offset, size);
          Instant now = clock.instant();
          ListKeysResponse.Builder b = ListKeysResponse.newBuilder();
          rows.forEach(r -> b.addKeys(toProto(r, now)));
          return b.setNextPageToken(Fields.nextPageToken(offset, size, rows.size())).build();
        });
  }

  @Override
  public void getKey(GetKeyRequest req, StreamObserver<ApiKey> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID customerId = Fields.uuid("customer_id", req.getCustomerId());
          UUID projectId = Fields.uuid("project_id", req.getProjectId());
          UUID keyId = Fields.uuid("key_id", req.getKeyId());
          access.project(auth.current(), customerId, projectId, Role.VIEWER, "read API keys");
          return toProto(find(projectId, keyId), clock.instant());
        });
  }

  @Override
  public void revokeKey(RevokeKeyRequest req, StreamObserver<ApiKey> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID customerId = Fields.uuid("customer_id", req.getCustomerId());
          UUID projectId = Fields.uuid("project_id", req.getProjectId());
          UUID keyId = Fields.uuid("key_id", req.getKeyId());
          Caller caller = auth.current();
          Access.ProjectAccess pa = access.project(caller, customerId, projectId);
          KeyRow row = find(projectId, keyId);
          if (!row.principalId().equals(caller.principalId())) {
            Access.require(
                pa.role(),
                Role.ADMIN,
                "project '" + projectId + "'",
                "revoke other principals' keys");
          } else {
            Access.require(pa.role(), Role.VIEWER, "project '" + projectId + "'", "revoke keys");
          }
          Instant now = Fields.micros(clock.instant());
          KeyRow revoked = requireNonNull(keys.revoke(keyId, now), "revoked key");
          cache.invalidate(keyId);
          return toProto(revoked, now);
        });
  }

  private KeyRow find(UUID projectId, UUID keyId) {
    KeyRow row = keys.find(keyId);
    if (row == null || !projectId.equals(row.projectId())) {
      throw ApiException.notFound("key", keyId);
    }
    return row;
  }

  static KeyLimits validLimits(KeyLimits l) {
    range("limits.requests_per_minute", l.getRequestsPerMinute(), 1_000_000);
    range("limits.tokens_per_minute", l.getTokensPerMinute(), 1_000_000_000L);
    range("limits.max_concurrent_requests", l.getMaxConcurrentRequests(), 10_000);
    return l;
  }

  private static void range(String field, long v, long max) {
    if (v < 0 || v > max) {
      throw ApiException.invalid(
          field, v + " is out of range (expected 0-" + max + ", 0 for no limit)");
    }
  }

  static List<String> validModels(List<String> models) {
    if (models.size() > MAX_ALLOWED_MODELS) {
      throw ApiException.invalid(
          "allowed_models",
          "has " + models.size() + " entries (expected at most " + MAX_ALLOWED_MODELS + ")");
    }
    List<String> out = new ArrayList<>();
    for (int i = 0; i < models.size(); i++) {
      String m = Fields.model("allowed_models[" + i + "]", models.get(i));
      if (m.isEmpty()) {
        throw ApiException.invalid(
            "allowed_models[" + i + "]",
            "is empty (expected a model name such as 'openai/gpt-4o')");
      }
      if (!out.contains(m)) {
        out.add(m);
      }
    }
    return out;
  }

  static ApiKey toProto(KeyRow r, Instant now) {
    ApiKey.Builder b =
        ApiKey.newBuilder()
            .setKeyId(r.id().toString())
            .setPrincipalId(r.principalId().toString())
            .setName(r.name())
            .setLimits(
                KeyLimits.newBuilder()
                    .setRequestsPerMinute(r.requestsPerMinute())
                    .setTokensPerMinute(r.tokensPerMinute())
                    .setMaxConcurrentRequests(r.maxConcurrentRequests()))
            .setMonthlyBudgetUsd(Money.formatUsd(r.monthlyBudgetMicros()))
            .addAllAllowedModels(r.allowedModels())
            .setStatus(
                r.revokedAt() != null
                    ? KeyStatus.KEY_STATUS_REVOKED
                    : r.expired(now) ? KeyStatus.KEY_STATUS_EXPIRED : KeyStatus.KEY_STATUS_ACTIVE)
            .setCreatedAt(Fields.timestamp(r.createdAt()))
            .setLastFour(r.lastFour());
    if (r.customerId() != null) {
      b.setCustomerId(r.customerId().toString());
    }
    if (r.projectId() != null) {
      b.setProjectId(r.projectId().toString());
    }
    if (r.expiresAt() != null) {
      b.setExpiresAt(Fields.timestamp(r.expiresAt()));
    }
    if (r.revokedAt() != null) {
      b.setRevokedAt(Fields.timestamp(r.revokedAt()));
    }
    return b.build();
  }
}
