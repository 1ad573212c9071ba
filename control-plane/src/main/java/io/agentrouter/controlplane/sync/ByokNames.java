package io.agentrouter.controlplane.sync;

import java.util.regex.Pattern;

/**
 * A data plane names the provider behind a project's own credential {@code <type>-<provider key
 * id>} (each credential is its own upstream there), so what it reports as provider and served model
 * carries that id. Callers, request logs and usage speak the catalog's {@code <type>} and {@code
 * <type>/<model>}; these turn the one into the other.
 */
public final class ByokNames {
  private static final Pattern CREDENTIAL_SUFFIX =
      Pattern.compile("-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");

  private ByokNames() {}

  /** {@code openai-<uuid>} becomes {@code openai}; anything else is returned as is. */
  public static String provider(String name) {
    return CREDENTIAL_SUFFIX.matcher(name).replaceFirst("");
  }

  /** {@code openai-<uuid>/gpt-4o} becomes {@code openai/gpt-4o}; anything else as is. */
  public static String model(String id) {
    int slash = id.indexOf('/');
    return slash <= 0 ? id : provider(id.substring(0, slash)) + id.substring(slash);
  }
}
