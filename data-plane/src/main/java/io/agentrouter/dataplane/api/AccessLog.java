package io.agentrouter.dataplane.api;

import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.logging.RequestLog;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.ServiceRequestContext;
import com.linecorp.armeria.server.SimpleDecoratingHttpService;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.dataplane.chain.Exchange;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per finished request on the {@code io.agentrouter.dataplane.access} logger: request id,
 * method, path, status, duration, key id, model and provider. Never headers or bodies, so never a
 * credential.
 */
public final class AccessLog extends SimpleDecoratingHttpService {
  private static final Logger log = LoggerFactory.getLogger("io.agentrouter.dataplane.access");

  private AccessLog(HttpService delegate) {
    super(delegate);
  }

  public static Function<HttpService, AccessLog> newDecorator() {
    return AccessLog::new;
  }

  @Override
  public HttpResponse serve(ServiceRequestContext ctx, HttpRequest req) throws Exception {
    if (log.isInfoEnabled()) {
      Exchange ex = Exchange.of(ctx);
      ctx.log().whenComplete().thenAccept(l -> write(ex, l));
    }
    return unwrap().serve(ctx, req);
  }

  private static void write(Exchange ex, RequestLog l) {
    KeyConfig key = ex.keyOrNull();
    log.info(
        "{} {} {} {} {}ms key={} model={} provider={} attempts={} outcome={}",
        ex.requestId(),
        l.requestHeaders().method(),
        l.requestHeaders().path(),
        l.responseHeaders().status().code(),
        (l.responseEndTimeNanos() - l.requestStartTimeNanos()) / 1_000_000,
        key == null ? "-" : key.keyId(),
        ex.modelRequested() == null ? "-" : ex.modelRequested(),
        ex.provider() == null ? "-" : ex.provider(),
        ex.attempts(),
        ex.outcome() == null ? "-" : ex.outcome().wireName());
  }
}
