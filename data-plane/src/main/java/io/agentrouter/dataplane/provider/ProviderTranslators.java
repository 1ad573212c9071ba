package io.agentrouter.dataplane.provider;

import static java.util.Objects.requireNonNull;

import java.util.EnumMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The translators this data plane can use, by wire format. Built once in the composition root; a
 * provider whose type has no translator here fails config validation, never a request.
 */
public final class ProviderTranslators {
  private final EnumMap<ProviderType, ProviderTranslator> byType;

  public ProviderTranslators(Map<ProviderType, ProviderTranslator> translators) {
    requireNonNull(translators, "translators");
    this.byType = new EnumMap<>(ProviderType.class);
    this.byType.putAll(translators);
  }

  /** The translator for {@code type}, or null when this build has none. */
  public @Nullable ProviderTranslator get(ProviderType type) {
    return byType.get(type);
  }

  /** The wire formats with a translator, for error messages. */
  public String supportedTypes() {
    StringBuilder sb = new StringBuilder();
    for (ProviderType t : byType.keySet()) {
      if (!sb.isEmpty()) {
        sb.append(", ");
      }
      sb.append(ProviderTypes.wireName(t));
    }
    return sb.toString();
  }
}
