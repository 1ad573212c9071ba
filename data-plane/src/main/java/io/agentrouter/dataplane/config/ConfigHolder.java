package io.agentrouter.dataplane.config;

import static java.util.Objects.requireNonNull;

import io.agentrouter.common.config.ConfigSnapshot;
import io.agentrouter.dataplane.provider.ProviderTranslators;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place the active config lives: a validated {@link RuntimeConfig} behind one {@link
 * AtomicReference}. A snapshot that fails validation is refused and the previous one stays active;
 * with none active, the data plane is not ready and refuses every API call.
 */
public final class ConfigHolder implements Consumer<ConfigSnapshot> {
  private static final Logger log = LoggerFactory.getLogger(ConfigHolder.class);

  private final ProviderTranslators translators;
  private final AtomicReference<@Nullable RuntimeConfig> current = new AtomicReference<>();
  private final AtomicReference<@Nullable String> lastError = new AtomicReference<>();
  private final List<Consumer<RuntimeConfig>> listeners = new CopyOnWriteArrayList<>();

  public ConfigHolder(ProviderTranslators translators) {
    this.translators = requireNonNull(translators, "translators");
  }

  /** Validates and activates {@code snapshot}; on failure keeps the active one and logs why. */
  @Override
  public void accept(ConfigSnapshot snapshot) {
    offer(snapshot);
  }

  /**
   * Validates and activates {@code snapshot}, like {@link #accept}, and says how it went: null when
   * it is active, else why it was refused (the previous config stays active). Sources that answer
   * for each snapshot (the control plane's ack or nack) use this.
   */
  public @Nullable String offer(ConfigSnapshot snapshot) {
    requireNonNull(snapshot, "snapshot");
    RuntimeConfig compiled;
    try {
      compiled = RuntimeConfig.compile(snapshot, translators);
    } catch (ConfigException e) {
      lastError.set(e.getMessage());
      RuntimeConfig active = current.get();
      log.error(
          "config version {} refused, keeping {}: {}",
          snapshot.version(),
          active == null ? "none (not ready)" : "version " + active.version(),
          e.getMessage());
      return e.getMessage();
    }
    current.set(compiled);
    lastError.set(null);
    log.info("config version {} active: {}", compiled.version(), snapshot);
    for (Consumer<RuntimeConfig> l : listeners) {
      l.accept(compiled);
    }
    return null;
  }

  /** Records a source-level failure (unreadable file) without touching the active config. */
  public void failed(String reason) {
    lastError.set(reason);
    log.error("config source failed, keeping the active config: {}", reason);
  }

  /** The active config, or null when no valid snapshot has arrived yet. */
  public @Nullable RuntimeConfig current() {
    return current.get();
  }

  /** Why the last snapshot was refused, or null. */
  public @Nullable String lastError() {
    return lastError.get();
  }

  /** Called after each swap, on the thread that delivered the snapshot. */
  public void onSwap(Consumer<RuntimeConfig> listener) {
    listeners.add(requireNonNull(listener, "listener"));
  }
}
