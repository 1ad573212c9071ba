package io.agentrouter.controlplane.inference;

import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.rpc.ApiException;
import java.util.List;
import java.util.Set;

/**
 * Resolves Prompt's model selector (seed 000): a route alias of the project, "provider/model" from
 * the catalog, a bare model name that is unique in the catalog, or empty for the project's default
 * model (itself resolved by the same rules).
 */
final class ModelSelector {
  private final List<String> models;
  private final Set<String> aliases;

  ModelSelector(List<String> models, Set<String> aliases) {
    this.models = requireNonNull(models, "models");
    this.aliases = requireNonNull(aliases, "aliases");
  }

  /** The model to ask the data plane for: an alias as is, else a "provider/model" id. */
  String resolve(String selector, String projectDefault) {
    if (selector.isEmpty()) {
      if (projectDefault.isBlank()) {
        throw ApiException.unprocessable(
            "the project has no default model (expected model, one of: " + known() + ")");
      }
      return resolve(projectDefault.strip(), "");
    }
    if (aliases.contains(selector)) {
      return selector;
    }
    if (selector.indexOf('/') > 0) {
      if (models.contains(selector)) {
        return selector;
      }
      throw ApiException.notFoundMessage(
          "model '" + selector + "' is not in the catalog (known: " + known() + ")");
    }
    List<String> matches =
        models.stream().filter(m -> m.substring(m.indexOf('/') + 1).equals(selector)).toList();
    if (matches.size() == 1) {
      return matches.get(0);
    }
    if (matches.isEmpty()) {
      throw ApiException.notFoundMessage(
          "model '" + selector + "' is not in the catalog (known: " + known() + ")");
    }
    throw ApiException.invalid(
        "model",
        "'"
            + selector
            + "' is offered by several providers (expected one of: "
            + String.join(", ", matches)
            + ")");
  }

  private String known() {
    StringBuilder b = new StringBuilder();
    aliases.stream().sorted().forEach(a -> b.append(b.isEmpty() ? "" : ", ").append(a));
    models.forEach(m -> b.append(b.isEmpty() ? "" : ", ").append(m));
    return b.toString();
  }
}
