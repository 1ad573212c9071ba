package io.agentrouter.dataplane.authz;

import static java.util.Objects.requireNonNull;

import com.linecorp.armeria.common.HttpHeaderNames;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.ServiceRequestContext;
import com.linecorp.armeria.server.SimpleDecoratingHttpService;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.dataplane.chain.Exchange;
import io.agentrouter.dataplane.chain.OpenAiErrorResponses;
import io.agentrouter.dataplane.config.ConfigHolder;
import io.agentrouter.dataplane.config.RuntimeConfig;
import java.time.Clock;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Authenticates every API call against the active snapshot, in memory: {@code sk-ar-} API keys by
 * key id and digest, MP JWTs by signature and claims. Fails closed: without a snapshot every call
 * is refused with 503, and a credential that does not verify never reaches a provider. Accepts
 * {@code Authorization: Bearer …} and, for Anthropic clients, {@code x-api-key}.
 */
public final class ExtAuthz extends SimpleDecoratingHttpService {
  private final ConfigHolder config;
  private final ApiKeyVerifier apiKeys;
  private final JwtVerifier jwts;
  private final LongSupplier nanoTime;

  private ExtAuthz(HttpService delegate, ConfigHolder config, Clock clock, LongSupplier nanoTime) {
    super(delegate);
    this.config = config;
    this.apiKeys = new ApiKeyVerifier(clock);
    this.jwts = new JwtVerifier(clock);
    this.nanoTime = nanoTime;
  }

  public static Function<HttpService, ExtAuthz> newDecorator(
      ConfigHolder config, Clock clock, LongSupplier nanoTime) {
    requireNonNull(config, "config");
    requireNonNull(clock, "clock");
    requireNonNull(nanoTime, "nanoTime");
    return delegate -> new ExtAuthz(delegate, config, clock, nanoTime);
  }

  @Override
  public HttpResponse serve(ServiceRequestContext ctx, HttpRequest req) throws Exception {
    long start = nanoTime.getAsLong();
    RuntimeConfig snapshot = config.current();
    if (snapshot == null) {
      return OpenAiErrorResponses.of(
          HttpStatus.SERVICE_UNAVAILABLE,
          "The gateway has no valid configuration yet; try again shortly.",
          OpenAiErrorResponses.SERVER,
          null,
          "not_ready");
    }
    String token = credential(req);
    if (token == null) {
      return unauthorized(
          "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
          "missing_api_key");
    }
    Verdict verdict =
        token.indexOf('.') != token.lastIndexOf('.')
            ? jwts.verify(snapshot, token)
            : apiKeys.verify(snapshot, token);
    if (verdict.key() == null) {
      return unauthorized(verdict.reason(), "invalid_api_key");
    }
    Exchange.of(ctx).authenticated(snapshot, verdict.key(), nanoTime.getAsLong() - start);
    return unwrap().serve(ctx, req);
  }

  private static @Nullable String credential(HttpRequest req) {
    String auth = req.headers().get(HttpHeaderNames.AUTHORIZATION);
    if (auth != null) {
      if (auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
        String t = auth.substring(7).strip();
        return t.isEmpty() ? null : t;
      }
      return null;
    }
    String apiKey = req.headers().get("x-api-key");
    return apiKey == null || apiKey.isBlank() ? null : apiKey.strip();
  }

  private static HttpResponse unauthorized(String message, String code) {
    return HttpResponse.of(
        OpenAiErrorResponses.headers(HttpStatus.UNAUTHORIZED)
            .add(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer")
            .build(),
        com.linecorp.armeria.common.HttpData.wrap(
            OpenAiErrorResponses.body(message, OpenAiErrorResponses.INVALID_REQUEST, null, code)));
  }

  /** The key a credential stands for, or why it was refused (a message safe to show). */
  record Verdict(@Nullable KeyConfig key, String reason) {
    static Verdict ok(KeyConfig key) {
      return new Verdict(key, "");
    }

    static Verdict refused(String reason) {
      return new Verdict(null, reason);
    }
  }
}
