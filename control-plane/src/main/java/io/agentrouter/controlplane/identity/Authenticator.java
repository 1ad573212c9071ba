package io.agentrouter.controlplane.identity;

import static java.util.Objects.requireNonNull;

import com.linecorp.armeria.common.HttpHeaderNames;
import com.linecorp.armeria.common.RequestHeaders;
import com.linecorp.armeria.server.ServiceRequestContext;
import io.agentrouter.common.keys.ApiKeys;
import io.agentrouter.controlplane.rpc.ApiException;
import io.netty.util.AttributeKey;

/**
 * Turns the {@code Authorization: Bearer …} header of the current request into a {@link Caller}: an
 * {@code sk-ar-} API key, or a token of a configured OIDC issuer. Runs on the blocking executor (it
 * may query PostgreSQL), once per request.
 */
public final class Authenticator {
  private static final AttributeKey<Caller> CALLER =
      AttributeKey.valueOf(Authenticator.class, "CALLER");

  private final ApiKeyAuthenticator apiKeys;
  private final OidcAuthenticator oidc;

  public Authenticator(ApiKeyAuthenticator apiKeys, OidcAuthenticator oidc) {
    this.apiKeys = requireNonNull(apiKeys, "apiKeys");
    this.oidc = requireNonNull(oidc, "oidc");
  }

  /** The caller of the request being served. */
  public Caller current() {
    ServiceRequestContext ctx = ServiceRequestContext.current();
    Caller cached = ctx.attr(CALLER);
    if (cached != null) {
      return cached;
    }
    Caller caller = authenticate(ctx.request().headers());
    ctx.setAttr(CALLER, caller);
    return caller;
  }

  Caller authenticate(RequestHeaders headers) {
    String auth = headers.get(HttpHeaderNames.AUTHORIZATION);
    if (auth == null || auth.isBlank()) {
      throw ApiException.unauthenticated(
          "missing credential (expected 'Authorization: Bearer <API key or OIDC token>')");
    }
    int space = auth.indexOf(' ');
    if (space < 0 || !auth.substring(0, space).equalsIgnoreCase("Bearer")) {
      throw ApiException.unauthenticated(
          "unsupported authorization scheme (expected 'Authorization: Bearer <API key or OIDC"
              + " token>')");
    }
    String token = auth.substring(space + 1).strip();
    if (ApiKeys.hasPrefix(token)) {
      return apiKeys.authenticate(token);
    }
    if (!oidc.enabled()) {
      throw ApiException.unauthenticated(
          "bearer token is not an AgentRouter API key (expected sk-ar-...; no OIDC issuer is"
              + " configured)");
    }
    return oidc.authenticate(token);
  }

  public ApiKeyAuthenticator apiKeys() {
    return apiKeys;
  }
}
