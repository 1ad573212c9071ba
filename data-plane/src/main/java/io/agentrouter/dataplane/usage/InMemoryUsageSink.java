package io.agentrouter.dataplane.usage;

import io.agentrouter.common.usage.UsageRecord;
import java.util.ArrayDeque;
import java.util.List;

/**
 * Keeps the last {@code capacity} records in memory: the standalone default (metrics carry the
 * totals), and what tests read. Bounded, so it never grows with traffic.
 */
public final class InMemoryUsageSink implements UsageSink {
  private final int capacity;
  private final ArrayDeque<UsageRecord> records;
  private long total;

  public InMemoryUsageSink(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity: " + capacity + " (expected: >= 1)");
    }
    this.capacity = capacity;
    this.records = new ArrayDeque<>(Math.min(capacity, 1024));
  }

  @Override
  public synchronized void accept(UsageRecord record) {
    if (records.size() == capacity) {
      records.removeFirst();
    }
    records.addLast(record);
    total++;
  }

  /** The retained records, oldest first. */
  public synchronized List<UsageRecord> records() {
    return List.copyOf(records);
  }

  /** Records accepted since start, including those no longer retained. */
  public synchronized long total() {
    return total;
  }
}
