package io.agentrouter.controlplane.usage;

import static io.agentrouter.controlplane.db.Tables.PROJECTS;
import static io.agentrouter.controlplane.db.Tables.REQUEST_IDS;
import static io.agentrouter.controlplane.db.Tables.REQUEST_LOG;
import static io.agentrouter.controlplane.db.Tables.USAGE_DAILY;
import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.db.tables.records.RequestLogRecord;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.jspecify.annotations.Nullable;

/**
 * Request logs and daily rollups in PostgreSQL. Ingestion is idempotent by request id: the id is
 * claimed in {@code request_ids} with {@code ON CONFLICT DO NOTHING} and only the records whose id
 * was new are written to the partitioned {@code request_log} and added to {@code usage_daily}, all
 * in one transaction.
 */
final class UsageStore {
  /** Stands for "no key" in the rollups, whose primary key cannot hold a null. */
  static final UUID NO_KEY = new UUID(0, 0);

  private final DSLContext dsl;
  private final Set<YearMonth> partitions = ConcurrentHashMap.newKeySet();

  UsageStore(DSLContext dsl) {
    this.dsl = requireNonNull(dsl, "dsl");
  }

  /** A validated record ready to store. */
  record LogEntry(
      String requestId,
      Instant startedAt,
      UUID dataplaneId,
      UUID customerId,
      UUID projectId,
      @Nullable UUID keyId,
      String kind,
      String modelRequested,
      String modelServed,
      String provider,
      int statusCode,
      String errorClass,
      long promptTokens,
      long completionTokens,
      long cachedTokens,
      long costMicros,
      long latencyMs,
      long upstreamMs,
      long overheadMs,
      String idempotencyKey,
      boolean streamed,
      boolean clientAborted,
      String metadataJson) {
    boolean error() {
      return statusCode >= 400 || !errorClass.isEmpty();
    }

    String rollupModel() {
      return modelServed.isEmpty() ? modelRequested : modelServed;
    }
  }

  /** Creates the monthly partition holding {@code month}, unless it exists. */
  void ensurePartition(YearMonth month) {
    if (partitions.contains(month)) {
      return;
    }
    dsl.execute("select ensure_request_log_partition(?::date)", month.atDay(1).toString());
    partitions.add(month);
  }

  /** The ids of projects among {@code projectIds} that exist, with their customer. */
  Map<UUID, UUID> customersOf(Collection<UUID> projectIds) {
    Map<UUID, UUID> out = new LinkedHashMap<>();
    if (projectIds.isEmpty()) {
      return out;
    }
    dsl.select(PROJECTS.ID, PROJECTS.CUSTOMER_ID)
        .from(PROJECTS)
        .where(PROJECTS.ID.in(projectIds))
        .forEach(r -> out.put(r.value1(), r.value2()));
    return out;
  }

  /**
   * Stores the entries whose request id was never seen, and adds them to the rollups, in one
   * transaction. Returns the ids stored now; the others were stored earlier.
   */
  Set<String> insert(List<LogEntry> entries, Instant now) {
    if (entries.isEmpty()) {
      return Set.of();
    }
    for (LogEntry e : entries) {
      ensurePartition(YearMonth.from(e.startedAt().atOffset(ZoneOffset.UTC)));
    }
    return dsl.transactionResult(
        cfg -> {
          DSLContext tx = DSL.using(cfg);
          var claim =
              tx.insertInto(
                  REQUEST_IDS,
                  REQUEST_IDS.REQUEST_ID,
                  REQUEST_IDS.STARTED_AT,
                  REQUEST_IDS.RECEIVED_AT);
          for (LogEntry e : entries) {
            claim = claim.values(e.requestId(), odt(e.startedAt()), odt(now));
          }
          Set<String> fresh =
              new HashSet<>(
                  claim
                      .onConflictDoNothing()
                      .returning(REQUEST_IDS.REQUEST_ID)
                      .fetch()
                      .getValues(REQUEST_IDS.REQUEST_ID));
          List<LogEntry> stored =
              entries.stream().filter(e -> fresh.contains(e.requestId())).toList();
          if (stored.isEmpty()) {
            return fresh;
          }
          List<RequestLogRecord> rows = new ArrayList<>(stored.size());
          for (LogEntry e : stored) {
            rows.add(toRecord(e));
          }
          tx.insertInto(REQUEST_LOG).set(rows.get(0)).execute();
          for (int i = 1; i < rows.size(); i++) {
            tx.insertInto(REQUEST_LOG).set(rows.get(i)).execute();
          }
          // Sorted, so concurrent batches lock rollup rows in the same order (no deadlocks).
          Map<String, Rollup> rollups = new TreeMap<>();
          for (LogEntry e : stored) {
            LocalDate day = e.startedAt().atOffset(ZoneOffset.UTC).toLocalDate();
            UUID key = e.keyId() == null ? NO_KEY : e.keyId();
            String id = e.projectId() + "|" + day + "|" + key + "|" + e.rollupModel();
            rollups
                .computeIfAbsent(
                    id, k -> new Rollup(day, e.customerId(), e.projectId(), key, e.rollupModel()))
                .add(e);
          }
          for (Rollup r : rollups.values()) {
            tx.insertInto(USAGE_DAILY)
                .set(USAGE_DAILY.DAY, r.day)
                .set(USAGE_DAILY.CUSTOMER_ID, r.customerId)
                .set(USAGE_DAILY.PROJECT_ID, r.projectId)
                .set(USAGE_DAILY.KEY_ID, r.keyId)
                .set(USAGE_DAILY.MODEL, r.model)
                .set(USAGE_DAILY.REQUESTS, r.requests)
                .set(USAGE_DAILY.ERRORS, r.errors)
                .set(USAGE_DAILY.PROMPT_TOKENS, r.promptTokens)
                .set(USAGE_DAILY.COMPLETION_TOKENS, r.completionTokens)
                .set(USAGE_DAILY.CACHED_TOKENS, r.cachedTokens)
                .set(USAGE_DAILY.COST_MICROS, r.costMicros)
                .onConflict(
                    USAGE_DAILY.PROJECT_ID, USAGE_DAILY.DAY, USAGE_DAILY.KEY_ID, USAGE_DAILY.MODEL)
                .doUpdate()
                .set(USAGE_DAILY.REQUESTS, USAGE_DAILY.REQUESTS.plus(r.requests))
                .set(USAGE_DAILY.ERRORS, USAGE_DAILY.ERRORS.plus(r.errors))
                .set(USAGE_DAILY.PROMPT_TOKENS, USAGE_DAILY.PROMPT_TOKENS.plus(r.promptTokens))
                .set(
                    USAGE_DAILY.COMPLETION_TOKENS,
                    USAGE_DAILY.COMPLETION_TOKENS.plus(r.completionTokens))
                .set(USAGE_DAILY.CACHED_TOKENS, USAGE_DAILY.CACHED_TOKENS.plus(r.cachedTokens))
                .set(USAGE_DAILY.COST_MICROS, USAGE_DAILY.COST_MICROS.plus(r.costMicros))
                .execute();
          }
          return fresh;
        });
  }

  private static final class Rollup {
    final LocalDate day;
    final UUID customerId;
    final UUID projectId;
    final UUID keyId;
    final String model;
    long requests;
    long errors;
    long promptTokens;
    long completionTokens;
    long cachedTokens;
    long costMicros;

    Rollup(LocalDate day, UUID customerId, UUID projectId, UUID keyId, String model) {
      this.day = day;
      this.customerId = customerId;
      this.projectId = projectId;
      this.keyId = keyId;
      this.model = model;
    }

    void add(LogEntry e) {
      requests++;
      errors += e.error() ? 1 : 0;
      promptTokens += e.promptTokens();
      completionTokens += e.completionTokens();
      cachedTokens += e.cachedTokens();
      costMicros += e.costMicros();
    }
  }

  private static RequestLogRecord toRecord(LogEntry e) {
    RequestLogRecord r = new RequestLogRecord();
    r.setRequestId(e.requestId());
    r.setStartedAt(odt(e.startedAt()));
    r.setDataplaneId(e.dataplaneId());
    r.setCustomerId(e.customerId());
    r.setProjectId(e.projectId());
    r.setKeyId(e.keyId());
    r.setKind(e.kind());
    r.setModelRequested(e.modelRequested());
    r.setModelServed(e.modelServed());
    r.setProvider(e.provider());
    r.setStatusCode(e.statusCode());
    r.setErrorClass(e.errorClass());
    r.setIsError(e.error());
    r.setPromptTokens(e.promptTokens());
    r.setCompletionTokens(e.completionTokens());
    r.setCachedTokens(e.cachedTokens());
    r.setCostMicros(e.costMicros());
    r.setLatencyMs(e.latencyMs());
    r.setUpstreamMs(e.upstreamMs());
    r.setOverheadMs(e.overheadMs());
    r.setIdempotencyKey(e.idempotencyKey());
    r.setStreamed(e.streamed());
    r.setClientAborted(e.clientAborted());
    r.setMetadata(e.metadataJson());
    return r;
  }

  static OffsetDateTime odt(Instant i) {
    return i.atOffset(ZoneOffset.UTC);
  }
}
