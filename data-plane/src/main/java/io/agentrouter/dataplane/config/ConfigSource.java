package io.agentrouter.dataplane.config;

import io.agentrouter.common.config.ConfigSnapshot;
import java.util.function.Consumer;

/**
 * Where snapshots come from: a file in standalone mode, the control plane's sync stream in managed
 * mode. A source delivers each new snapshot whole; the {@link ConfigHolder} validates it and swaps
 * it in, or keeps the previous one.
 */
public interface ConfigSource extends AutoCloseable {

  /** Starts delivering snapshots to {@code listener}, possibly the first one before returning. */
  void start(Consumer<ConfigSnapshot> listener);

  /**
   * Starts delivering snapshots to {@code holder}. Sources that must know whether a snapshot was
   * accepted (to ack or nack it) override this and use {@link ConfigHolder#offer}.
   */
  default void start(ConfigHolder holder) {
    start((Consumer<ConfigSnapshot>) holder);
  }

  /** Stops delivering. */
  @Override
  default void close() {}
}
