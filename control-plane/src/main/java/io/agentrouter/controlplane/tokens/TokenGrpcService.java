package io.agentrouter.controlplane.tokens;

import static java.util.Objects.requireNonNull;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.agentrouter.common.jwt.MpJwt;
import io.agentrouter.controlplane.dataplanes.DataplaneStore;
import io.agentrouter.controlplane.identity.Authenticator;
import io.agentrouter.controlplane.identity.Caller;
import io.agentrouter.controlplane.keys.KeyStore;
import io.agentrouter.controlplane.keys.KeyStore.KeyRow;
import io.agentrouter.controlplane.rpc.ApiException;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.controlplane.rpc.Rpc;
import io.agentrouter.controlplane.tenancy.Access;
import io.agentrouter.controlplane.tenancy.Role;
import io.agentrouter.controlplane.tenancy.TenancyStore.ProjectRow;
import io.agentrouter.proto.admin.v1.ListSigningKeysRequest;
import io.agentrouter.proto.admin.v1.ListSigningKeysResponse;
import io.agentrouter.proto.admin.v1.MintTokenRequest;
import io.agentrouter.proto.admin.v1.MintTokenResponse;
import io.agentrouter.proto.admin.v1.RotateSigningKeyRequest;
import io.agentrouter.proto.admin.v1.SigningKey;
import io.agentrouter.proto.admin.v1.TokenServiceGrpc;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.UUID;

/** Mints MP JWTs and manages the signing key set. */
public final class TokenGrpcService extends TokenServiceGrpc.TokenServiceImplBase {
  private final Authenticator auth;
  private final Access access;
  private final KeyStore keys;
  private final DataplaneStore dataplanes;
  private final SigningKeys signingKeys;
  private final String issuer;
  private final Clock clock;

  public TokenGrpcService(
      Authenticator auth,
      Access access,
      KeyStore keys,
      DataplaneStore dataplanes,
      SigningKeys signingKeys,
      String issuer,
      Clock clock) {
    this.auth = requireNonNull(auth, "auth");
    this.access = requireNonNull(access, "access");
    this.keys = requireNonNull(keys, "keys");
    this.dataplanes = requireNonNull(dataplanes, "dataplanes");
    this.signingKeys = requireNonNull(signingKeys, "signingKeys");
    this.issuer = requireNonNull(issuer, "issuer");
    this.clock = requireNonNull(clock, "clock");
  }

  @Override
  public void mintToken(MintTokenRequest req, StreamObserver<MintTokenResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID customerId = Fields.optionalUuid("customer_id", req.getCustomerId());
          UUID projectId = Fields.optionalUuid("project_id", req.getProjectId());
          UUID keyId = Fields.optionalUuid("key_id", req.getKeyId());
          UUID dataplaneId = Fields.optionalUuid("dataplane_id", req.getDataplaneId());
          int ttl = req.getTtlSeconds();
          long maxTtl = MpJwt.MAX_TTL.toSeconds();
          if (ttl < 0 || ttl > maxTtl) {
            throw ApiException.invalid(
                "ttl_seconds",
                ttl + " is out of range (expected 1-" + maxTtl + ", or 0 for " + maxTtl + ")");
          }
          Duration lifetime = Duration.ofSeconds(ttl == 0 ? maxTtl : ttl);
          Caller caller = auth.current();
          ProjectRow project = resolveProject(caller, customerId, projectId);
          Access.ProjectAccess pa = access.project(caller, project.customerId(), project.id());
          Instant now = clock.instant().truncatedTo(ChronoUnit.SECONDS);
          if (keyId != null) {
            // A key the caller cannot see (another project's) is 404 whatever the caller's role.
            KeyRow named = keys.find(keyId);
            if (named == null || !project.id().equals(named.projectId())) {
              throw ApiException.notFound("key", keyId);
            }
          }
          Access.require(pa.role(), Role.MEMBER, "project '" + project.id() + "'", "mint tokens");
          KeyRow key = resolveKey(caller, project.id(), keyId, now);
          if (dataplaneId != null && dataplanes.find(dataplaneId) == null) {
            throw ApiException.notFound("data plane", dataplaneId);
          }
          Instant exp = now.plus(lifetime);
          JWTClaimsSet.Builder claims =
              new JWTClaimsSet.Builder()
                  .issuer(issuer)
                  .audience(MpJwt.AUDIENCE)
                  .subject(caller.principalId().toString())
                  .claim(MpJwt.CLAIM_CUSTOMER_ID, project.customerId().toString())
                  .claim(MpJwt.CLAIM_PROJECT_ID, project.id().toString())
                  .jwtID(key.id().toString())
                  .issueTime(Date.from(now))
                  .notBeforeTime(Date.from(now))
                  .expirationTime(Date.from(exp));
          if (dataplaneId != null) {
            claims.claim(MpJwt.CLAIM_DATAPLANE_ID, dataplaneId.toString());
          }
          ECKey signer = signingKeys.signer();
          SignedJWT jwt =
              new SignedJWT(
                  new JWSHeader.Builder(JWSAlgorithm.ES256)
                      .keyID(signer.getKeyID())
                      .type(JOSEObjectType.JWT)
                      .build(),
                  claims.build());
          try {
            jwt.sign(new ECDSASigner(signer));
          } catch (JOSEException e) {
            throw new IllegalStateException("ES256 signing failed", e);
          }
          return MintTokenResponse.newBuilder()
              .setToken(jwt.serialize())
              .setTokenType("Bearer")
              .setExpiresAt(Fields.timestamp(exp))
              .setSigningKeyId(signer.getKeyID())
              .setKeyId(key.id().toString())
              .setCustomerId(project.customerId().toString())
              .setProjectId(project.id().toString())
              .build();
        });
  }

  private ProjectRow resolveProject(Caller caller, UUID customerId, UUID projectId) {
    if (projectId != null) {
      if (customerId != null) {
        return access.project(caller, customerId, projectId).project();
      }
      return access.projectById(caller, projectId).project();
    }
    UUID project;
    if (customerId != null) {
      access.customer(caller, customerId);
      project = access.defaultProjectIn(caller, customerId);
    } else {
      project = access.defaults(caller).projectId();
    }
    if (project == null) {
      throw ApiException.unprocessable(
          "no project to mint a token for: the caller has no default project (expected project_id)");
    }
    return access.projectById(caller, project).project();
  }

  private KeyRow resolveKey(Caller caller, UUID projectId, UUID keyId, Instant now) {
    KeyRow key;
    if (keyId != null) {
      key = keys.find(keyId);
      if (key == null || !projectId.equals(key.projectId())) {
        throw ApiException.notFound("key", keyId);
      }
    } else if (caller.keyId() != null && projectId.equals(caller.boundProjectId())) {
      key = requireNonNull(keys.find(caller.keyId()), "caller's key");
    } else {
      key = keys.newestActive(projectId, now);
      if (key == null) {
        throw ApiException.unprocessable(
            "project '"
                + projectId
                + "' has no active API key to bind the token to (expected one: create a key first, or pass key_id)");
      }
    }
    if (key.revokedAt() != null || key.expired(now)) {
      throw ApiException.unprocessable(
          "key '" + key.id() + "' is revoked or expired (expected an active key of the project)");
    }
    return key;
  }

  @Override
  public void listSigningKeys(
      ListSigningKeysRequest req, StreamObserver<ListSigningKeysResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          requireOperator(auth.current(), "list signing keys");
          ListSigningKeysResponse.Builder b = ListSigningKeysResponse.newBuilder();
          signingKeys.published().forEach(p -> b.addKeys(toProto(p)));
          return b.build();
        });
  }

  @Override
  public void rotateSigningKey(RotateSigningKeyRequest req, StreamObserver<SigningKey> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          requireOperator(auth.current(), "rotate signing keys");
          return toProto(signingKeys.rotate());
        });
  }

  static void requireOperator(Caller caller, String action) {
    if (!caller.operator() || caller.bound()) {
      throw ApiException.forbidden(
          "only operators may "
              + action
              + " (expected a credential of a principal with platform role operator, not bound to a project)");
    }
  }

  private static SigningKey toProto(SigningKeys.Published p) {
    SigningKey.Builder b =
        SigningKey.newBuilder()
            .setKid(p.kid())
            .setAlgorithm(MpJwt.ALGORITHM)
            .setCreatedAt(Fields.timestamp(p.createdAt()))
            .setActive(p.active())
            .setPublicJwk(p.publicJwk().toJSONString());
    if (p.expiresAt() != null) {
      b.setExpiresAt(Fields.timestamp(p.expiresAt()));
    }
    return b.build();
  }
}
