package io.agentrouter.dataplane.config;

import io.agentrouter.common.config.CatalogModel;

/** One model at one provider: what an upstream attempt calls. {@code id} is provider/model. */
public record Target(Upstream upstream, CatalogModel model, String id) {
  Target(Upstream upstream, CatalogModel model) {
    this(upstream, model, model.id());
  }
}
