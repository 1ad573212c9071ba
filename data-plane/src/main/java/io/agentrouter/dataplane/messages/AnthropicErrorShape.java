package io.agentrouter.dataplane.messages;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpHeaderNames;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.ResponseHeaders;
import com.linecorp.armeria.common.SplitHttpResponse;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.ServiceRequestContext;
import com.linecorp.armeria.server.SimpleDecoratingHttpService;
import java.io.IOException;
import java.util.function.Function;

/**
 * Errors on the Anthropic surface in Anthropic's shape, {@code
 * {"type":"error","error":{"type","message"}}}: every stage of the chain renders OpenAI's shape,
 * and this stage, outermost on the Messages routes, rewrites any JSON error on its way out. The
 * status, the message and every header (retry-after, x-ratelimit-*, request id) stay as they were.
 */
public final class AnthropicErrorShape extends SimpleDecoratingHttpService {
  private final ObjectMapper mapper;

  private AnthropicErrorShape(HttpService delegate, ObjectMapper mapper) {
    super(delegate);
    this.mapper = mapper;
  }

  /**
   * Anthropic's error body for {@code status}, for errors rendered outside this decorator (the
   * server's error handler, e.g. a body over the size cap): the same shape as everything else on
   * the Messages routes.
   */
  public static byte[] body(int status, String message) {
    return AnthropicWire.error(AnthropicWire.errorType(status), message)
        .toString()
        .getBytes(java.nio.charset.StandardCharsets.UTF_8);
  }

  public static Function<HttpService, AnthropicErrorShape> newDecorator(ObjectMapper mapper) {
    return delegate -> new AnthropicErrorShape(delegate, mapper);
  }

  @Override
  public HttpResponse serve(ServiceRequestContext ctx, HttpRequest req) throws Exception {
    SplitHttpResponse split = unwrap().serve(ctx, req).split();
    return HttpResponse.of(
        split
            .headers()
            .thenApply(
                h -> {
                  MediaType type = h.contentType();
                  if (h.status().code() < 400 || type == null || !type.isJson()) {
                    return HttpResponse.of(h, split.body());
                  }
                  return HttpResponse.of(
                      split
                          .body()
                          .collect()
                          .thenApply(
                              parts -> {
                                StringBuilder sb = new StringBuilder();
                                parts.forEach(p -> sb.append(p.toStringUtf8()));
                                return rewrite(h, sb.toString());
                              }));
                }));
  }

  private HttpResponse rewrite(ResponseHeaders h, String body) {
    String message = body;
    try {
      JsonNode n = mapper.readTree(body);
      if (n != null && "error".equals(n.path("type").asText())) {
        return HttpResponse.of(h, HttpData.ofUtf8(body)); // already Anthropic's shape
      }
      if (n != null && n.path("error").hasNonNull("message")) {
        message = n.path("error").path("message").asText();
      }
    } catch (IOException e) {
      // not JSON after all: the raw text is the message
    }
    byte[] out;
    try {
      out =
          mapper.writeValueAsBytes(
              AnthropicWire.error(AnthropicWire.errorType(h.status().code()), message));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    ResponseHeaders headers = h.toBuilder().removeAndThen(HttpHeaderNames.CONTENT_LENGTH).build();
    return HttpResponse.of(headers, HttpData.wrap(out));
  }
}
