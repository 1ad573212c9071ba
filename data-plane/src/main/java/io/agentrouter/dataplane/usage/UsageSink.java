package io.agentrouter.dataplane.usage;

import io.agentrouter.common.usage.UsageRecord;

/**
 * Where usage records go: the durable spool that ships them to the control plane in managed mode,
 * {@link #NONE} in standalone mode, memory in tests. Called once per finished request on an event
 * loop: must not block.
 */
public interface UsageSink {
  /**
   * Keeps nothing: standalone mode, where no store is behind the gateway and the metrics at {@code
   * /internal/metrics} carry the totals. Holding records nobody reads would only cost memory and
   * garbage-collection time on every request.
   */
  UsageSink NONE = record -> {};

  void accept(UsageRecord record);
}
