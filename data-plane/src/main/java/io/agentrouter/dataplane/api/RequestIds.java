package io.agentrouter.dataplane.api;

import static java.util.Objects.requireNonNull;

import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.ServiceRequestContext;
import com.linecorp.armeria.server.SimpleDecoratingHttpService;
import io.agentrouter.dataplane.chain.Endpoint;
import io.agentrouter.dataplane.chain.Exchange;
import java.time.Clock;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * The outermost stage: gives the request its id (our own, never the client's, since usage records
 * are deduplicated by it), starts its {@link Exchange}, and adds {@code x-request-id} and {@code
 * x-agentrouter-dataplane} to every response, denials included.
 */
public final class RequestIds extends SimpleDecoratingHttpService {
  private static final char[] HEX = "0123456789abcdef".toCharArray();

  private final Endpoint endpoint;
  private final Supplier<String> dataplaneId;
  private final Clock clock;
  private final LongSupplier nanoTime;

  private RequestIds(
      HttpService delegate,
      Endpoint endpoint,
      Supplier<String> dataplaneId,
      Clock clock,
      LongSupplier nanoTime) {
    super(delegate);
    this.endpoint = endpoint;
    this.dataplaneId = dataplaneId;
    this.clock = clock;
    this.nanoTime = nanoTime;
  }

  /**
   * @param dataplaneId this data plane's id: the active snapshot's, else the configured default
   */
  public static Function<HttpService, RequestIds> newDecorator(
      Endpoint endpoint, Supplier<String> dataplaneId, Clock clock, LongSupplier nanoTime) {
    requireNonNull(endpoint, "endpoint");
    requireNonNull(dataplaneId, "dataplaneId");
    requireNonNull(clock, "clock");
    requireNonNull(nanoTime, "nanoTime");
    return delegate -> new RequestIds(delegate, endpoint, dataplaneId, clock, nanoTime);
  }

  @Override
  public HttpResponse serve(ServiceRequestContext ctx, HttpRequest req) throws Exception {
    long start = nanoTime.getAsLong();
    String id = newId();
    Exchange.start(ctx, id, endpoint, start, clock.instant());
    String dataplane = dataplaneId.get();
    ctx.mutateAdditionalResponseHeaders(
        h -> h.set("x-request-id", id).set("x-agentrouter-dataplane", dataplane));
    return unwrap().serve(ctx, req);
  }

  /** {@code req_} and 128 random bits in hex. */
  static String newId() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    char[] out = new char[36];
    out[0] = 'r';
    out[1] = 'e';
    out[2] = 'q';
    out[3] = '_';
    long a = r.nextLong();
    long b = r.nextLong();
    for (int i = 0; i < 16; i++) {
      out[4 + i] = HEX[(int) (a >>> (60 - 4 * i)) & 0xf];
      out[20 + i] = HEX[(int) (b >>> (60 - 4 * i)) & 0xf];
    }
    return new String(out);
  }
}
