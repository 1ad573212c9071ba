package io.agentrouter.dataplane.config;

import io.agentrouter.common.config.ProviderConfig;
import io.agentrouter.dataplane.provider.ProviderTarget;
import io.agentrouter.dataplane.provider.ProviderTranslator;

/** A provider ready for calls: its config, its target and the translator for its wire format. */
public record Upstream(
    ProviderConfig config, ProviderTarget target, ProviderTranslator translator) {
  public String name() {
    return config.name();
  }

  @Override
  public String toString() {
    return "Upstream[" + config.name() + "]";
  }
}
