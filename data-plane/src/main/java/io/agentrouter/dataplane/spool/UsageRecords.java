package io.agentrouter.dataplane.spool;

import com.google.protobuf.Timestamp;
import io.agentrouter.common.usage.UsageOutcome;
import io.agentrouter.common.usage.UsageRecord;
import java.math.BigDecimal;
import java.math.RoundingMode;

/** The wire form of a usage record, as the spool stores it and StreamUsage carries it. */
final class UsageRecords {
  private static final BigDecimal MICROS = BigDecimal.valueOf(1_000_000);

  private UsageRecords() {}

  static io.agentrouter.proto.dataplane.v1.UsageRecord toProto(UsageRecord r) {
    var b =
        io.agentrouter.proto.dataplane.v1.UsageRecord.newBuilder()
            .setRequestId(r.requestId())
            .setCustomerId(r.customerId())
            .setProjectId(r.projectId())
            .setKeyId(r.keyId())
            .setStatusCode(r.status())
            .setPromptTokens(r.promptTokens())
            .setCompletionTokens(r.completionTokens())
            .setCachedTokens(r.cachedTokens())
            .setCostMicros(
                r.costUsd().multiply(MICROS).setScale(0, RoundingMode.HALF_UP).longValue())
            .setStartedAt(
                Timestamp.newBuilder()
                    .setSeconds(r.startedAt().getEpochSecond())
                    .setNanos(r.startedAt().getNano()))
            .setLatencyMs(r.totalMillis())
            .setUpstreamMs(r.upstreamMillis())
            .setOverheadMs(Math.max(0, r.totalMillis() - r.upstreamMillis()))
            .setStreamed(r.stream())
            .setClientAborted(r.outcome() == UsageOutcome.CLIENT_ABORT)
            .putAllMetadata(r.metadata());
    if (r.modelRequested() != null) {
      b.setModelRequested(r.modelRequested());
    }
    if (r.modelServed() != null) {
      b.setModelServed(r.modelServed());
    }
    if (r.provider() != null) {
      b.setProvider(r.provider());
    }
    if (r.errorClass() != null) {
      b.setErrorClass(r.errorClass());
    }
    if (r.idempotencyKey() != null) {
      b.setIdempotencyKey(r.idempotencyKey());
    }
    return b.build();
  }
}
