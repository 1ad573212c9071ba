package io.agentrouter.controlplane.identity;

import static java.util.Objects.requireNonNull;

import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * The authenticated caller of one request: a principal, the credential it used, and the tenant that
 * credential is bound to. An API key acts as its creator but only inside its project.
 */
public record Caller(
    Principal principal,
    Credential credential,
    @Nullable UUID keyId,
    @Nullable UUID boundCustomerId,
    @Nullable UUID boundProjectId) {

  public Caller {
    requireNonNull(principal, "principal");
    requireNonNull(credential, "credential");
  }

  /** How the caller authenticated. */
  public enum Credential {
    API_KEY,
    OIDC_TOKEN
  }

  public boolean operator() {
    return principal.operator();
  }

  public boolean bound() {
    return boundProjectId != null;
  }

  public UUID principalId() {
    return principal.id();
  }
}
