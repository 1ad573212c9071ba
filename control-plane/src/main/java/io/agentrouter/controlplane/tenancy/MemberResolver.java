package io.agentrouter.controlplane.tenancy;

import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.identity.Principal;
import io.agentrouter.controlplane.identity.PrincipalStore;
import io.agentrouter.controlplane.rpc.ApiException;
import io.agentrouter.controlplane.rpc.Fields;
import java.net.URI;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;

/** Finds the principal an add-member request names: by id, or by OIDC (issuer, subject). */
public final class MemberResolver {
  private final PrincipalStore principals;
  private final Set<String> issuers;

  public MemberResolver(PrincipalStore principals, List<URI> issuers) {
    this.principals = requireNonNull(principals, "principals");
    this.issuers = issuers.stream().map(URI::toString).collect(Collectors.toUnmodifiableSet());
  }

  Principal resolve(String principalId, String oidcIssuer, String oidcSubject) {
    boolean byOidc = !oidcIssuer.isEmpty() || !oidcSubject.isEmpty();
    if (!principalId.isEmpty() && byOidc) {
      throw ApiException.invalid(
          "principal_id",
          "is given together with oidc_issuer/oidc_subject (expected one of the two)");
    }
    if (!byOidc) {
      UUID id = Fields.uuid("principal_id", principalId);
      Principal p = principals.find(id);
      if (p == null) {
        throw ApiException.notFound("principal", id);
      }
      return p;
    }
    String iss =
        oidcIssuer.endsWith("/") ? oidcIssuer.substring(0, oidcIssuer.length() - 1) : oidcIssuer;
    if (!issuers.contains(iss)) {
      throw ApiException.invalid(
          "oidc_issuer",
          "'" + oidcIssuer + "' is not a configured issuer (expected one of " + issuers + ")");
    }
    if (oidcSubject.isBlank()) {
      throw ApiException.invalid(
          "oidc_subject", "is required with oidc_issuer (expected the user's sub claim)");
    }
    Fields.checkLength("oidc_subject", oidcSubject, 255);
    return principals.provisionOidc(iss, oidcSubject, oidcSubject);
  }
}
