package io.agentrouter.common.config;

import static java.util.Objects.requireNonNull;

import java.math.BigDecimal;

/**
 * A model a provider serves, with its prices.
 *
 * @param provider the {@link ProviderConfig#name()} serving it
 * @param model the model's public name, e.g. {@code gpt-4o-mini}
 * @param upstreamModel the name sent upstream (an Azure deployment, an Ollama tag); usually equal
 *     to {@code model}
 * @param kind which endpoint serves it
 * @param inputUsdPerMTok price of one million prompt tokens, in USD
 * @param cachedInputUsdPerMTok price of one million cached prompt tokens, in USD
 * @param outputUsdPerMTok price of one million completion tokens, in USD
 * @param imageUsd price of one generated image, in USD
 */
public record CatalogModel(
    String provider,
    String model,
    String upstreamModel,
    ModelKind kind,
    BigDecimal inputUsdPerMTok,
    BigDecimal cachedInputUsdPerMTok,
    BigDecimal outputUsdPerMTok,
    BigDecimal imageUsd) {
  public CatalogModel {
    requireNonNull(provider, "provider");
    requireNonNull(model, "model");
    requireNonNull(upstreamModel, "upstreamModel");
    requireNonNull(kind, "kind");
    requireNonNull(inputUsdPerMTok, "inputUsdPerMTok");
    requireNonNull(cachedInputUsdPerMTok, "cachedInputUsdPerMTok");
    requireNonNull(outputUsdPerMTok, "outputUsdPerMTok");
    requireNonNull(imageUsd, "imageUsd");
    if (model.isEmpty()) {
      throw new IllegalArgumentException(
          "model of provider '" + provider + "': '' (expected: a non-empty name)");
    }
  }

  /** The fully qualified selector, {@code provider/model}. */
  public String id() {
    return provider + "/" + model;
  }
}
