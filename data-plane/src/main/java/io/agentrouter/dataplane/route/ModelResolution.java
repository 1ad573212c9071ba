package io.agentrouter.dataplane.route;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.ServiceRequestContext;
import com.linecorp.armeria.server.SimpleDecoratingHttpService;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.common.config.ModelKind;
import io.agentrouter.common.config.ProjectConfig;
import io.agentrouter.dataplane.chain.Exchange;
import io.agentrouter.dataplane.chain.OpenAiErrorResponses;
import io.agentrouter.dataplane.config.Route;
import io.agentrouter.dataplane.config.RuntimeConfig;
import io.agentrouter.dataplane.config.Target;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;

/**
 * Turns the request's {@code model} into a route: a project alias, a global alias, {@code
 * provider/model}, a bare catalog name that only one provider serves, or (with no model) the
 * project's default; then checks the key may use it. Unknown and forbidden models get the same 404
 * {@code model_not_found}, naming the models the key may use, so a key learns nothing about models
 * outside its reach.
 */
public final class ModelResolution extends SimpleDecoratingHttpService {
  private static final int MAX_LISTED = 50;
  private final LongSupplier nanoTime;

  private ModelResolution(HttpService delegate, LongSupplier nanoTime) {
    super(delegate);
    this.nanoTime = nanoTime;
  }

  public static Function<HttpService, ModelResolution> newDecorator(LongSupplier nanoTime) {
    requireNonNull(nanoTime, "nanoTime");
    return delegate -> new ModelResolution(delegate, nanoTime);
  }

  @Override
  public HttpResponse serve(ServiceRequestContext ctx, HttpRequest req) throws Exception {
    Exchange ex = Exchange.of(ctx);
    if (!ex.endpoint().proxied()) {
      return unwrap().serve(ctx, req);
    }
    long start = nanoTime.getAsLong();
    RuntimeConfig config = ex.config();
    KeyConfig key = ex.key();
    JsonNode modelNode = ex.body().get("model");
    String name;
    if (modelNode == null || modelNode.isNull() || modelNode.asText().isEmpty()) {
      ProjectConfig project = config.project(key.projectId());
      name = project == null ? null : project.defaultModel();
      if (name == null) {
        return OpenAiErrorResponses.of(
            HttpStatus.BAD_REQUEST,
            "You must provide a model parameter (this project has no default model).",
            OpenAiErrorResponses.INVALID_REQUEST,
            "model",
            null);
      }
    } else if (!modelNode.isTextual()) {
      return OpenAiErrorResponses.of(
          HttpStatus.BAD_REQUEST,
          "Invalid type for 'model': expected a string, but got " + modelNode.getNodeType() + ".",
          OpenAiErrorResponses.INVALID_REQUEST,
          "model",
          "invalid_type");
    } else {
      name = modelNode.asText();
    }
    ex.modelRequested(name);
    ModelKind kind = ex.endpoint().kind();
    Route route = config.lookup(key.projectId(), name);
    if (route == null) {
      List<Route> ambiguous = config.bareName(name);
      if (ambiguous.size() > 1 && ambiguous.stream().anyMatch(r -> allowed(key, r.name(), r))) {
        List<String> ids = new ArrayList<>();
        ambiguous.forEach(r -> ids.add(r.name()));
        return OpenAiErrorResponses.of(
            HttpStatus.BAD_REQUEST,
            "The model '"
                + name
                + "' is served by several providers; name one of: "
                + String.join(", ", ids)
                + ".",
            OpenAiErrorResponses.INVALID_REQUEST,
            "model",
            "model_ambiguous");
      }
      return notFound(config, key, name, kind);
    }
    if (!allowed(key, name, route)) {
      return notFound(config, key, name, kind);
    }
    if (route.kind() != kind) {
      return OpenAiErrorResponses.of(
          HttpStatus.BAD_REQUEST,
          "The model '"
              + name
              + "' is a "
              + route.kind().wireName()
              + " model and cannot serve "
              + ex.endpoint().wireName()
              + ".",
          OpenAiErrorResponses.INVALID_REQUEST,
          "model",
          "model_not_supported");
    }
    ex.resolved(name, route, nanoTime.getAsLong() - start);
    return unwrap().serve(ctx, req);
  }

  /** Whether {@code key} may use {@code route}, asked for as {@code name}. */
  public static boolean allowed(KeyConfig key, String name, Route route) {
    if (key.allowedModels().isEmpty()) {
      return true;
    }
    if (key.allowedModels().contains(name) || key.allowedModels().contains(route.name())) {
      return true;
    }
    if (!route.alias()) {
      Target t = route.targets().get(0);
      return key.allowedModels().contains(t.model().model());
    }
    return false;
  }

  /** The models {@code key} may use, in display form, optionally of one kind. */
  public static List<String> usableModels(
      RuntimeConfig config, KeyConfig key, @Nullable ModelKind kind) {
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, Route> e : config.visibleModels(key.projectId()).entrySet()) {
      if ((kind == null || e.getValue().kind() == kind) && allowed(key, e.getKey(), e.getValue())) {
        out.add(e.getKey());
      }
    }
    return out;
  }

  private static HttpResponse notFound(
      RuntimeConfig config, KeyConfig key, String name, @Nullable ModelKind kind) {
    List<String> usable = usableModels(config, key, kind);
    String list =
        usable.isEmpty()
            ? "none"
            : String.join(", ", usable.subList(0, Math.min(usable.size(), MAX_LISTED)))
                + (usable.size() > MAX_LISTED ? ", …" : "");
    return OpenAiErrorResponses.of(
        HttpStatus.NOT_FOUND,
        "The model '"
            + name
            + "' does not exist or this key may not use it. Models this key may use: "
            + list
            + ".",
        OpenAiErrorResponses.INVALID_REQUEST,
        "model",
        "model_not_found");
  }
}
