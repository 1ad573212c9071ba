package io.agentrouter.dataplane.messages;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.ServiceRequestContext;
import io.agentrouter.common.usage.UsageOutcome;
import io.agentrouter.dataplane.chain.Exchange;
import io.agentrouter.dataplane.config.Route;
import io.agentrouter.dataplane.provider.ProviderType;

/**
 * The end of the chain for count_tokens: a route whose first target is Anthropic goes through the
 * router (so to Anthropic's own counter, with fallback among the route's Anthropic targets); any
 * other route gets an estimate, since OpenAI and Gemini count with other tokenizers: a quarter of
 * the characters of every text (system, messages, tool results, tool inputs and definitions), plus
 * 3 per message and 1,600 per image (Anthropic's figure for a ~1.15 MP image).
 */
public final class CountTokensService implements HttpService {
  static final long PER_MESSAGE = 3;
  static final long PER_IMAGE = 1600;

  private final HttpService router;

  public CountTokensService(HttpService router) {
    this.router = requireNonNull(router, "router");
  }

  @Override
  public HttpResponse serve(ServiceRequestContext ctx, HttpRequest req) throws Exception {
    Exchange ex = Exchange.of(ctx);
    Route route = ex.route(Route.class);
    if (route.targets().get(0).upstream().target().type() == ProviderType.ANTHROPIC) {
      return router.serve(ctx, req);
    }
    long tokens = estimate(ex.body());
    ex.finished(UsageOutcome.SUCCESS, null);
    return HttpResponse.of(
        HttpStatus.OK, MediaType.JSON_UTF_8, "{\"input_tokens\":" + tokens + "}");
  }

  static long estimate(ObjectNode body) {
    long[] chars = {0};
    long[] images = {0};
    long messages = body.path("messages").size();
    walk(body.get("system"), chars, images);
    walk(body.get("messages"), chars, images);
    for (JsonNode t : body.path("tools")) {
      chars[0] += t.toString().length();
    }
    return (chars[0] + 3) / 4 + messages * PER_MESSAGE + images[0] * PER_IMAGE;
  }

  private static void walk(JsonNode n, long[] chars, long[] images) {
    if (n == null) {
      return;
    }
    if (n.isTextual()) {
      chars[0] += n.asText().length();
      return;
    }
    if (n.isObject()) {
      String type = n.path("type").asText();
      if (type.equals("image")) {
        images[0]++;
        return;
      }
      if (type.equals("tool_use")) {
        chars[0] += n.path("name").asText().length() + n.path("input").toString().length();
        return;
      }
      for (String f : new String[] {"text", "content", "thinking"}) {
        walk(n.get(f), chars, images);
      }
      return;
    }
    for (JsonNode c : n) {
      walk(c, chars, images);
    }
  }
}
