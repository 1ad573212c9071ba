package io.agentrouter.dataplane.usage;

import io.agentrouter.common.usage.UsageRecord;

/**
 * Where usage records go: the durable spool that ships them to the control plane, or memory in
 * standalone mode. Called once per finished request on an event loop: must not block.
 */
public interface UsageSink {
  void accept(UsageRecord record);
}
