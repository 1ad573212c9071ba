package io.agentrouter.controlplane.providerkeys;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Empty;
import io.agentrouter.common.net.UpstreamAddressPolicy;
import io.agentrouter.controlplane.identity.Authenticator;
import io.agentrouter.controlplane.providerkeys.ProviderKeyStore.ProviderKeyRow;
import io.agentrouter.controlplane.rpc.ApiException;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.controlplane.rpc.Rpc;
import io.agentrouter.controlplane.tenancy.Access;
import io.agentrouter.controlplane.tenancy.Role;
import io.agentrouter.controlplane.tenancy.TenancyStore.ProjectRow;
import io.agentrouter.proto.admin.v1.CreateProviderKeyRequest;
import io.agentrouter.proto.admin.v1.DeleteProviderKeyRequest;
import io.agentrouter.proto.admin.v1.GetProviderKeyRequest;
import io.agentrouter.proto.admin.v1.ListProviderKeysRequest;
import io.agentrouter.proto.admin.v1.ListProviderKeysResponse;
import io.agentrouter.proto.admin.v1.ProviderKey;
import io.agentrouter.proto.admin.v1.ProviderKeyServiceGrpc;
import io.agentrouter.proto.admin.v1.UpdateProviderKeyRequest;
import io.grpc.stub.StreamObserver;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.jooq.exception.IntegrityConstraintViolationException;

/** BYOK: write-only provider secrets, envelope-encrypted, base URLs checked against SSRF. */
public final class ProviderKeyGrpcService
    extends ProviderKeyServiceGrpc.ProviderKeyServiceImplBase {
  /** Provider types a key may have. */
  public static final List<String> PROVIDERS =
      List.of("openai", "anthropic", "gemini", "azure_openai", "openai_compatible");

  private static final int MAX_SECRET = 4096;

  private final Authenticator auth;
  private final Access access;
  private final ProviderKeyStore store;
  private final ProviderKeyCrypto crypto;
  private final UpstreamAddressPolicy policy;
  private final Clock clock;

  public ProviderKeyGrpcService(
      Authenticator auth,
      Access access,
      ProviderKeyStore store,
      ProviderKeyCrypto crypto,
      UpstreamAddressPolicy policy,
      Clock clock) {
    this.auth = requireNonNull(auth, "auth");
    this.access = requireNonNull(access, "access");
    this.store = requireNonNull(store, "store");
    this.crypto = requireNonNull(crypto, "crypto");
    this.policy = requireNonNull(policy, "policy");
    this.clock = requireNonNull(clock, "clock");
  }

  @Override
  public void createProviderKey(CreateProviderKeyRequest r, StreamObserver<ProviderKey> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          ProjectRow p =
              access.project(
                  auth.current(),
                  r.getCustomerId(),
                  r.getProjectId(),
                  Role.ADMIN,
                  "create provider keys");
          String provider = provider(r.getProvider());
          String name = Fields.name("name", r.getName(), Fields.MAX_NAME);
          String secret = secret(r.getSecret());
          String baseUrl = baseUrl(provider, r.getBaseUrl());
          UUID id = UUID.randomUUID();
          Instant now = Fields.micros(clock.instant());
          ProviderKeyRow row =
              new ProviderKeyRow(
                  id,
                  p.customerId(),
                  p.id(),
                  provider,
                  name,
                  baseUrl,
                  lastFour(secret),
                  crypto.seal(p.customerId(), p.id(), id, secret),
                  now,
                  now);
          store.insert(row);
          return toProto(row);
        });
  }

  @Override
  public void listProviderKeys(
      ListProviderKeysRequest r, StreamObserver<ListProviderKeysResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          ProjectRow p =
              access.project(
                  auth.current(), r.getCustomerId(), r.getProjectId(), Role.VIEWER, "read");
          ListProviderKeysResponse.Builder b = ListProviderKeysResponse.newBuilder();
          store.list(p.id()).forEach(k -> b.addProviderKeys(toProto(k)));
          return b.build();
        });
  }

  @Override
  public void getProviderKey(GetProviderKeyRequest r, StreamObserver<ProviderKey> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          ProjectRow p =
              access.project(
                  auth.current(), r.getCustomerId(), r.getProjectId(), Role.VIEWER, "read");
          return toProto(find(p, r.getProviderKeyId()));
        });
  }

  @Override
  public void updateProviderKey(UpdateProviderKeyRequest r, StreamObserver<ProviderKey> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          ProjectRow p =
              access.project(
                  auth.current(),
                  r.getCustomerId(),
                  r.getProjectId(),
                  Role.ADMIN,
                  "change provider keys");
          ProviderKeyRow old = find(p, r.getProviderKeyId());
          String name =
              r.hasName() ? Fields.name("name", r.getName(), Fields.MAX_NAME) : old.name();
          String baseUrl = r.hasBaseUrl() ? baseUrl(old.provider(), r.getBaseUrl()) : old.baseUrl();
          String lastFour = old.lastFour();
          ProviderKeyCrypto.Sealed sealed = old.sealed();
          if (r.hasSecret()) {
            String secret = secret(r.getSecret());
            lastFour = lastFour(secret);
            sealed = crypto.seal(p.customerId(), p.id(), old.id(), secret);
          }
          ProviderKeyRow row =
              new ProviderKeyRow(
                  old.id(),
                  old.customerId(),
                  old.projectId(),
                  old.provider(),
                  name,
                  baseUrl,
                  lastFour,
                  sealed,
                  old.createdAt(),
                  Fields.micros(clock.instant()));
          store.update(row);
          return toProto(row);
        });
  }

  @Override
  public void deleteProviderKey(DeleteProviderKeyRequest r, StreamObserver<Empty> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          ProjectRow p =
              access.project(
                  auth.current(),
                  r.getCustomerId(),
                  r.getProjectId(),
                  Role.ADMIN,
                  "delete provider keys");
          ProviderKeyRow k = find(p, r.getProviderKeyId());
          try {
            store.delete(p.id(), k.id());
          } catch (IntegrityConstraintViolationException e) {
            throw ApiException.unprocessable(
                "provider key '"
                    + k.id()
                    + "' is a target of a route (expected no route to use it; change the routes"
                    + " first)");
          }
          return Empty.getDefaultInstance();
        });
  }

  private ProviderKeyRow find(ProjectRow p, String id) {
    UUID keyId = Fields.uuid("provider_key_id", id);
    ProviderKeyRow k = store.find(p.id(), keyId);
    if (k == null) {
      throw ApiException.notFound("provider key", keyId);
    }
    return k;
  }

  static String provider(String value) {
    String v = value == null ? "" : value.strip();
    if (!PROVIDERS.contains(v)) {
      throw ApiException.invalid(
          "provider",
          "'"
              + v
              + "' is not a provider type (expected one of "
              + String.join(", ", PROVIDERS)
              + ")");
    }
    return v;
  }

  private static String secret(String value) {
    String v = value == null ? "" : value.strip();
    if (v.isEmpty()) {
      throw ApiException.invalid("secret", "is required (expected the provider's API key)");
    }
    if (v.length() > MAX_SECRET || v.chars().anyMatch(c -> c < 0x21 || c > 0x7e)) {
      // Never echo the value: it is a secret.
      throw ApiException.invalid(
          "secret",
          "is not a plausible API key (expected 1-" + MAX_SECRET + " printable ASCII characters)");
    }
    return v;
  }

  private static String lastFour(String secret) {
    return secret.length() <= 4 ? "" : secret.substring(secret.length() - 4);
  }

  private String baseUrl(String provider, String value) {
    String v = value == null ? "" : value.strip();
    if (v.isEmpty()) {
      if (provider.equals("azure_openai") || provider.equals("openai_compatible")) {
        throw ApiException.invalid(
            "base_url", "is required for provider '" + provider + "' (expected an https URL)");
      }
      return "";
    }
    Fields.checkLength("base_url", v, 2048);
    URI uri;
    try {
      uri = new URI(v);
    } catch (URISyntaxException e) {
      throw ApiException.invalid(
          "base_url", "is not a URL (expected http(s)://host[:port][/path])");
    }
    if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
      throw ApiException.invalid(
          "base_url", "has a query or fragment (expected http(s)://host[:port][/path])");
    }
    UpstreamAddressPolicy.Verdict verdict = policy.check(uri);
    if (!verdict.allowed()) {
      // The reason names the host and rule, never the user info a URL may smuggle.
      throw ApiException.invalid("base_url", "is refused: " + verdict.reason());
    }
    return v.endsWith("/") ? v.substring(0, v.length() - 1) : v;
  }

  static ProviderKey toProto(ProviderKeyRow k) {
    return ProviderKey.newBuilder()
        .setProviderKeyId(k.id().toString())
        .setCustomerId(k.customerId().toString())
        .setProjectId(k.projectId().toString())
        .setProvider(k.provider())
        .setName(k.name())
        .setBaseUrl(k.baseUrl())
        .setLastFour(k.lastFour())
        .setCreatedAt(Fields.timestamp(k.createdAt()))
        .setUpdatedAt(Fields.timestamp(k.updatedAt()))
        .build();
  }
}
