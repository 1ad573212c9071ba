package io.agentrouter.dataplane.sync;

import io.agentrouter.common.usage.UsageOutcome;
import io.agentrouter.common.usage.UsageRecord;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.Map;

/** Usage records for spool tests. */
final class SpoolRecords {
  private SpoolRecords() {}

  static UsageRecord record(String requestId) {
    return new UsageRecord(
        requestId,
        "c",
        "p",
        "k",
        "chat.completions",
        "m",
        "openai/m",
        "openai",
        "dp",
        200,
        UsageOutcome.SUCCESS,
        null,
        false,
        1,
        Instant.parse("2026-01-01T00:00:00Z"),
        10,
        8,
        null,
        10,
        4,
        0,
        new BigDecimal("0.000018"),
        null,
        Map.of());
  }
}
