package io.agentrouter.dataplane.route;

import com.fasterxml.jackson.databind.JsonNode;
import io.agentrouter.common.config.CatalogModel;
import io.agentrouter.dataplane.provider.TokenUsage;
import java.math.BigDecimal;
import java.math.RoundingMode;

/** Reads usage from OpenAI-shaped answers and prices it with the catalog. */
final class Usages {
  private static final BigDecimal MILLION = BigDecimal.valueOf(1_000_000);
  private static final BigDecimal CACHE_WRITE = new BigDecimal("1.25");

  private Usages() {}

  static TokenUsage of(JsonNode response) {
    JsonNode u = response.get("usage");
    if (u == null || !u.isObject()) {
      return TokenUsage.ZERO;
    }
    long prompt = u.path("prompt_tokens").asLong(u.path("input_tokens").asLong(0));
    long completion = u.path("completion_tokens").asLong(u.path("output_tokens").asLong(0));
    long cached = u.path("prompt_tokens_details").path("cached_tokens").asLong(0);
    return new TokenUsage(prompt, completion, cached);
  }

  static BigDecimal cost(CatalogModel m, TokenUsage u, long images) {
    long cached = Math.min(u.cachedTokens(), u.promptTokens());
    long written = Math.min(u.cacheWriteTokens(), u.promptTokens() - cached);
    BigDecimal perMillion =
        m.inputUsdPerMTok()
            .multiply(BigDecimal.valueOf(u.promptTokens() - cached - written))
            .add(m.cachedInputUsdPerMTok().multiply(BigDecimal.valueOf(cached)))
            // The catalog has no cache-write price: Anthropic's 5-minute write rate, 1.25x input.
            .add(m.inputUsdPerMTok().multiply(CACHE_WRITE).multiply(BigDecimal.valueOf(written)))
            .add(m.outputUsdPerMTok().multiply(BigDecimal.valueOf(u.completionTokens())));
    BigDecimal cost = perMillion.divide(MILLION, 10, RoundingMode.HALF_UP);
    if (images > 0) {
      cost = cost.add(m.imageUsd().multiply(BigDecimal.valueOf(images)));
    }
    return cost.signum() == 0 ? BigDecimal.ZERO : cost.stripTrailingZeros();
  }
}
