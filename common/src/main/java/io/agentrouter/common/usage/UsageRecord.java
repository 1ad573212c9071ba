package io.agentrouter.common.usage;

import static java.util.Objects.requireNonNull;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * One finished data-plane request. Idempotent by {@code requestId}: delivering the same record
 * twice must count it once.
 *
 * @param requestId unique id, also sent to the client as {@code x-request-id}
 * @param customerId the key's customer
 * @param projectId the key's project
 * @param keyId the API key id (or the MP JWT's {@code jti})
 * @param endpoint {@code chat.completions}, {@code embeddings}, {@code images.generations}
 * @param modelRequested the {@code model} the client sent (or the project default it resolved to)
 * @param modelServed the {@code provider/model} of the last attempt (the one that answered, on
 *     success); null when no provider was tried
 * @param provider the provider of the last attempt; null when no provider was tried
 * @param dataplaneId the data plane that served the request
 * @param status HTTP status the client received (200 for a stream that started, even if cut)
 * @param outcome how the request ended
 * @param errorClass the error class, when it failed
 * @param stream whether the client asked for a stream
 * @param attempts upstream attempts made (fallbacks included)
 * @param startedAt when the request arrived
 * @param totalMillis arrival to last byte
 * @param upstreamMillis time spent waiting on providers
 * @param timeToFirstTokenMillis arrival to the first content chunk, streams only
 * @param promptTokens prompt tokens, cached ones included
 * @param completionTokens completion tokens
 * @param cachedTokens prompt tokens read from the provider's cache
 * @param costUsd estimated cost from the catalog prices
 * @param idempotencyKey the client's {@code Idempotency-Key}, if any
 * @param metadata client-supplied metadata ({@code x-agentrouter-meta-*} headers, the body's {@code
 *     metadata})
 * @param cacheWriteTokens prompt tokens written to the provider's cache (priced above plain input)
 */
public record UsageRecord(
    String requestId,
    String customerId,
    String projectId,
    String keyId,
    String endpoint,
    @Nullable String modelRequested,
    @Nullable String modelServed,
    @Nullable String provider,
    @Nullable String dataplaneId,
    int status,
    UsageOutcome outcome,
    @Nullable String errorClass,
    boolean stream,
    int attempts,
    Instant startedAt,
    long totalMillis,
    long upstreamMillis,
    @Nullable Long timeToFirstTokenMillis,
    long promptTokens,
    long completionTokens,
    long cachedTokens,
    BigDecimal costUsd,
    @Nullable String idempotencyKey,
    Map<String, String> metadata,
    long cacheWriteTokens) {
  public UsageRecord {
    requireNonNull(requestId, "requestId");
    requireNonNull(customerId, "customerId");
    requireNonNull(projectId, "projectId");
    requireNonNull(keyId, "keyId");
    requireNonNull(endpoint, "endpoint");
    requireNonNull(outcome, "outcome");
    requireNonNull(startedAt, "startedAt");
    requireNonNull(costUsd, "costUsd");
    metadata = Map.copyOf(metadata);
  }

  /** A record without cache writes, for callers that predate them. */
  public UsageRecord(
      String requestId,
      String customerId,
      String projectId,
      String keyId,
      String endpoint,
      @Nullable String modelRequested,
      @Nullable String modelServed,
      @Nullable String provider,
      @Nullable String dataplaneId,
      int status,
      UsageOutcome outcome,
      @Nullable String errorClass,
      boolean stream,
      int attempts,
      Instant startedAt,
      long totalMillis,
      long upstreamMillis,
      @Nullable Long timeToFirstTokenMillis,
      long promptTokens,
      long completionTokens,
      long cachedTokens,
      BigDecimal costUsd,
      @Nullable String idempotencyKey,
      Map<String, String> metadata) {
    this(
        requestId,
        customerId,
        projectId,
        keyId,
        endpoint,
        modelRequested,
        modelServed,
        provider,
        dataplaneId,
        status,
        outcome,
        errorClass,
        stream,
        attempts,
        startedAt,
        totalMillis,
        upstreamMillis,
        timeToFirstTokenMillis,
        promptTokens,
        completionTokens,
        cachedTokens,
        costUsd,
        idempotencyKey,
        metadata,
        0);
  }

  public long totalTokens() {
    return promptTokens + completionTokens;
  }
}
