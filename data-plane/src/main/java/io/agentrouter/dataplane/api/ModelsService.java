package io.agentrouter.dataplane.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.ResponseHeaders;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.ServiceRequestContext;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.dataplane.chain.Exchange;
import io.agentrouter.dataplane.config.Route;
import io.agentrouter.dataplane.config.RuntimeConfig;
import io.agentrouter.dataplane.route.ModelResolution;
import java.util.Map;

/**
 * {@code GET /v1/models}: the models this credential may use, in OpenAI's list shape. Aliases are
 * owned by {@code agentrouter}; catalog models by their provider.
 */
final class ModelsService implements HttpService {
  private final ObjectMapper mapper;

  ModelsService(ObjectMapper mapper) {
    this.mapper = mapper;
  }

  @Override
  public HttpResponse serve(ServiceRequestContext ctx, HttpRequest req) throws Exception {
    Exchange ex = Exchange.of(ctx);
    RuntimeConfig config = ex.config();
    KeyConfig key = ex.key();
    ObjectNode root = mapper.createObjectNode();
    root.put("object", "list");
    ArrayNode data = root.putArray("data");
    for (Map.Entry<String, Route> e : config.visibleModels(key.projectId()).entrySet()) {
      if (!ModelResolution.allowed(key, e.getKey(), e.getValue())) {
        continue;
      }
      Route r = e.getValue();
      ObjectNode m = data.addObject();
      m.put("id", e.getKey());
      m.put("object", "model");
      m.put("created", 0);
      m.put("owned_by", r.alias() ? "agentrouter" : r.targets().get(0).model().provider());
    }
    return HttpResponse.of(
        ResponseHeaders.of(HttpStatus.OK, "content-type", MediaType.JSON_UTF_8.toString()),
        HttpData.wrap(mapper.writeValueAsBytes(root)));
  }
}
