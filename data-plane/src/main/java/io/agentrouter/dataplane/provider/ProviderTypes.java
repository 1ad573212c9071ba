package io.agentrouter.dataplane.provider;

import java.util.Locale;
import org.jspecify.annotations.Nullable;

/** Config names of {@link ProviderType}: {@code openai}, {@code azure_openai}, ... */
public final class ProviderTypes {
  private ProviderTypes() {}

  public static String wireName(ProviderType type) {
    return type.name().toLowerCase(Locale.ROOT);
  }

  /** Parses a config value, or returns null when it names no known wire format. */
  public static @Nullable ProviderType fromWireName(String name) {
    for (ProviderType t : ProviderType.values()) {
      if (wireName(t).equals(name)) {
        return t;
      }
    }
    return null;
  }
}
