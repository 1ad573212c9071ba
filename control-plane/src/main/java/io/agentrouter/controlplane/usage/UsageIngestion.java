package io.agentrouter.controlplane.usage;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.agentrouter.controlplane.rpc.ApiException;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.controlplane.sync.ByokNames;
import io.agentrouter.proto.dataplane.v1.RejectedRecord;
import io.agentrouter.proto.dataplane.v1.UsageAck;
import io.agentrouter.proto.dataplane.v1.UsageBatch;
import io.agentrouter.proto.dataplane.v1.UsageRecord;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * The control-plane side of {@code StreamUsage}: validates each record of a batch on its own (a
 * malformed one is rejected with a reason, the others are stored), stores the rest idempotently and
 * acks every stored or already-stored request id.
 */
public final class UsageIngestion {
  static final int MAX_BATCH = 1000;

  /** Records may arrive late (a spool drained after an outage), but not from the far past. */
  static final Duration MAX_AGE = Duration.ofDays(400);

  /** Clock skew tolerated between a data plane and the control plane. */
  static final Duration MAX_SKEW = Duration.ofHours(1);

  private static final ObjectMapper JSON = new ObjectMapper();
  private final UsageStore store;
  private final Clock clock;

  UsageIngestion(UsageStore store, Clock clock) {
    this.store = requireNonNull(store, "store");
    this.clock = requireNonNull(clock, "clock");
  }

  /** Stores a batch sent by data plane {@code dataplaneId} and answers with its ack. */
  public UsageAck ingest(UUID dataplaneId, UsageBatch batch) {
    if (batch.getRecordsCount() > MAX_BATCH) {
      throw ApiException.invalid(
          "records",
          "batch '"
              + batch.getBatchId()
              + "' has "
              + batch.getRecordsCount()
              + " records (expected at most "
              + MAX_BATCH
              + ")");
    }
    Instant now = Fields.micros(clock.instant());
    UsageAck.Builder ack = UsageAck.newBuilder().setBatchId(batch.getBatchId());
    Map<String, UsageStore.LogEntry> valid = new LinkedHashMap<>();
    Set<String> duplicatesInBatch = new HashSet<>();
    List<UsageStore.LogEntry> candidates = new ArrayList<>();
    for (UsageRecord r : batch.getRecordsList()) {
      try {
        UsageStore.LogEntry e = validate(dataplaneId, r, now);
        if (valid.putIfAbsent(e.requestId(), e) != null) {
          duplicatesInBatch.add(e.requestId());
        } else {
          candidates.add(e);
        }
      } catch (Invalid e) {
        ack.addRejected(
            RejectedRecord.newBuilder()
                .setRequestId(r.getRequestId())
                .setReason(e.getMessage())
                .build());
      }
    }
    // A record must name a project that exists, under the customer it names.
    Map<UUID, UUID> owners =
        store.customersOf(candidates.stream().map(UsageStore.LogEntry::projectId).toList());
    List<UsageStore.LogEntry> accepted = new ArrayList<>();
    for (UsageStore.LogEntry e : candidates) {
      UUID owner = owners.get(e.projectId());
      if (owner == null || !owner.equals(e.customerId())) {
        ack.addRejected(
            RejectedRecord.newBuilder()
                .setRequestId(e.requestId())
                .setReason(
                    "project_id: project '"
                        + e.projectId()
                        + "' of customer '"
                        + e.customerId()
                        + "' is unknown (expected a project of that customer)")
                .build());
        valid.remove(e.requestId());
      } else {
        accepted.add(e);
      }
    }
    store.insert(accepted, now);
    // Stored now or earlier: either way the data plane may drop them.
    new TreeMap<>(valid).keySet().forEach(ack::addAckedRequestIds);
    return ack.build();
  }

  private static final class Invalid extends Exception {
    private static final long serialVersionUID = 1L;

    Invalid(String message) {
      super(message, null, false, false);
    }
  }

  private static UsageStore.LogEntry validate(UUID dataplaneId, UsageRecord r, Instant now)
      throws Invalid {
    String requestId = r.getRequestId();
    if (requestId.isEmpty() || requestId.length() > 64 || !printable(requestId)) {
      throw new Invalid(
          "request_id: '"
              + shorten(requestId)
              + "' is not a request id (expected 1-64 printable characters)");
    }
    UUID customerId = uuid("customer_id", r.getCustomerId(), true);
    UUID projectId = uuid("project_id", r.getProjectId(), true);
    UUID keyId = uuid("key_id", r.getKeyId(), false);
    if (!r.hasStartedAt() || r.getStartedAt().getSeconds() <= 0) {
      throw new Invalid("started_at: is missing (expected when the request started)");
    }
    Instant started = Fields.micros(Fields.instant(r.getStartedAt()));
    if (started.isAfter(now.plus(MAX_SKEW)) || started.isBefore(now.minus(MAX_AGE))) {
      throw new Invalid(
          "started_at: "
              + started
              + " is out of range (expected within "
              + MAX_AGE.toDays()
              + " days before and 1 hour after "
              + now
              + ")");
    }
    if (r.getStatusCode() < 100 || r.getStatusCode() > 599) {
      throw new Invalid(
          "status_code: " + r.getStatusCode() + " is not an HTTP status (expected 100-599)");
    }
    nonNegative("prompt_tokens", r.getPromptTokens());
    nonNegative("completion_tokens", r.getCompletionTokens());
    nonNegative("cached_tokens", r.getCachedTokens());
    nonNegative("cost_micros", r.getCostMicros());
    nonNegative("latency_ms", r.getLatencyMs());
    nonNegative("upstream_ms", r.getUpstreamMs());
    nonNegative("overhead_ms", r.getOverheadMs());
    String kind =
        switch (r.getEndpoint()) {
          case "", "chat.completions", "chat" -> "chat";
          case "embeddings" -> "embeddings";
          case "images.generations", "images" -> "images";
          default ->
              throw new Invalid(
                  "endpoint: '"
                      + shorten(r.getEndpoint())
                      + "' is unknown (expected chat.completions, embeddings or"
                      + " images.generations)");
        };
    text("model_requested", r.getModelRequested(), 255);
    text("model_served", r.getModelServed(), 255);
    text("provider", r.getProvider(), 64);
    text("error_class", r.getErrorClass(), 64);
    text("idempotency_key", r.getIdempotencyKey(), 255);
    if (r.getMetadataCount() > 16) {
      throw new Invalid("metadata: has " + r.getMetadataCount() + " entries (expected at most 16)");
    }
    String metadata;
    try {
      metadata = JSON.writeValueAsString(new TreeMap<>(r.getMetadataMap()));
    } catch (JsonProcessingException e) {
      throw new Invalid("metadata: cannot be stored (expected string keys and values)");
    }
    if (metadata.length() > 16_384) {
      throw new Invalid(
          "metadata: is " + metadata.length() + " characters (expected at most 16384)");
    }
    return new UsageStore.LogEntry(
        requestId,
        started,
        dataplaneId,
        customerId,
        projectId,
        keyId,
        kind,
        r.getModelRequested(),
        ByokNames.model(r.getModelServed()),
        ByokNames.provider(r.getProvider()),
        r.getStatusCode(),
        r.getErrorClass(),
        r.getPromptTokens(),
        r.getCompletionTokens(),
        r.getCachedTokens(),
        r.getCostMicros(),
        r.getLatencyMs(),
        r.getUpstreamMs(),
        r.getOverheadMs(),
        r.getIdempotencyKey(),
        r.getStreamed(),
        r.getClientAborted(),
        metadata);
  }

  private static @Nullable UUID uuid(String field, String value, boolean required) throws Invalid {
    if (value.isEmpty()) {
      if (required) {
        throw new Invalid(field + ": is missing (expected a UUID)");
      }
      return null;
    }
    try {
      UUID id = UUID.fromString(value);
      if (id.toString().equalsIgnoreCase(value)) {
        return id;
      }
    } catch (IllegalArgumentException e) {
      // reported below
    }
    throw new Invalid(field + ": '" + shorten(value) + "' is not a UUID (expected a UUID)");
  }

  private static void nonNegative(String field, long v) throws Invalid {
    if (v < 0) {
      throw new Invalid(field + ": " + v + " is negative (expected 0 or more)");
    }
  }

  private static void text(String field, String v, int max) throws Invalid {
    if (v.length() > max) {
      throw new Invalid(
          field + ": is " + v.length() + " characters long (expected at most " + max + ")");
    }
    if (!printable(v)) {
      throw new Invalid(field + ": contains a control character (expected printable text)");
    }
  }

  private static boolean printable(String v) {
    return v.chars().noneMatch(Character::isISOControl);
  }

  private static String shorten(String v) {
    return v.length() <= 64 ? v : v.substring(0, 64) + "…";
  }
}
