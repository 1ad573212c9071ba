package io.agentrouter.controlplane.identity;

import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.proto.admin.v1.PlatformRole;
import io.agentrouter.proto.admin.v1.PrincipalKind;
import java.time.Instant;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/** An identity that holds memberships: the bootstrap operator or an OIDC user. */
public record Principal(
    UUID id,
    Kind kind,
    String displayName,
    @Nullable String oidcIssuer,
    @Nullable String oidcSubject,
    boolean operator,
    Instant createdAt) {

  public Principal {
    requireNonNull(id, "id");
    requireNonNull(kind, "kind");
    requireNonNull(displayName, "displayName");
    requireNonNull(createdAt, "createdAt");
  }

  /** Kind of identity, as stored. */
  public enum Kind {
    BOOTSTRAP_OPERATOR("bootstrap_operator"),
    USER("user");

    final String db;

    Kind(String db) {
      this.db = db;
    }

    static Kind fromDb(String s) {
      for (Kind k : values()) {
        if (k.db.equals(s)) {
          return k;
        }
      }
      throw new IllegalStateException("unknown principal kind in the database: " + s);
    }
  }

  public io.agentrouter.proto.admin.v1.Principal toProto() {
    var b =
        io.agentrouter.proto.admin.v1.Principal.newBuilder()
            .setPrincipalId(id.toString())
            .setKind(
                kind == Kind.USER
                    ? PrincipalKind.PRINCIPAL_KIND_USER
                    : PrincipalKind.PRINCIPAL_KIND_BOOTSTRAP_OPERATOR)
            .setDisplayName(displayName)
            .setPlatformRole(
                operator ? PlatformRole.PLATFORM_ROLE_OPERATOR : PlatformRole.PLATFORM_ROLE_NONE)
            .setCreatedAt(Fields.timestamp(createdAt));
    if (oidcIssuer != null) {
      b.setOidcIssuer(oidcIssuer);
    }
    if (oidcSubject != null) {
      b.setOidcSubject(oidcSubject);
    }
    return b.build();
  }
}
