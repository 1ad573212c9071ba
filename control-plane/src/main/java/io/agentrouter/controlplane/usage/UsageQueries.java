package io.agentrouter.controlplane.usage;

import static io.agentrouter.controlplane.db.Tables.REQUEST_LOG;
import static io.agentrouter.controlplane.db.Tables.USAGE_DAILY;
import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.db.tables.records.RequestLogRecord;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.impl.DSL;
import org.jspecify.annotations.Nullable;

/** Reads of the request log (keyset-paged, newest first) and of the daily rollups. */
final class UsageQueries {
  private final DSLContext dsl;

  UsageQueries(DSLContext dsl) {
    this.dsl = requireNonNull(dsl, "dsl");
  }

  /** Filters of the request-log list; null means "any". */
  record LogFilter(
      UUID projectId,
      @Nullable Boolean error,
      @Nullable String model,
      @Nullable UUID keyId,
      @Nullable String kind,
      @Nullable Instant from,
      @Nullable Instant to) {}

  /** Where the previous page ended: rows strictly older than this come next. */
  record Cursor(Instant startedAt, String requestId) {}

  /** Up to {@code limit} rows after {@code after}, newest first. */
  List<RequestLogRecord> logs(LogFilter f, @Nullable Cursor after, int limit) {
    List<Condition> where = new ArrayList<>();
    where.add(REQUEST_LOG.PROJECT_ID.eq(f.projectId()));
    if (f.error() != null) {
      where.add(REQUEST_LOG.IS_ERROR.eq(f.error()));
    }
    if (f.model() != null) {
      where.add(
          REQUEST_LOG.MODEL_SERVED.eq(f.model()).or(REQUEST_LOG.MODEL_REQUESTED.eq(f.model())));
    }
    if (f.keyId() != null) {
      where.add(REQUEST_LOG.KEY_ID.eq(f.keyId()));
    }
    if (f.kind() != null) {
      where.add(REQUEST_LOG.KIND.eq(f.kind()));
    }
    if (f.from() != null) {
      where.add(REQUEST_LOG.STARTED_AT.ge(UsageStore.odt(f.from())));
    }
    if (f.to() != null) {
      where.add(REQUEST_LOG.STARTED_AT.lt(UsageStore.odt(f.to())));
    }
    if (after != null) {
      where.add(
          DSL.row(REQUEST_LOG.STARTED_AT, REQUEST_LOG.REQUEST_ID)
              .lt(UsageStore.odt(after.startedAt()), after.requestId()));
    }
    return dsl.selectFrom(REQUEST_LOG)
        .where(where)
        .orderBy(REQUEST_LOG.STARTED_AT.desc(), REQUEST_LOG.REQUEST_ID.desc())
        .limit(limit)
        .fetch();
  }

  /** How rollups are grouped. */
  enum Grouping {
    DAY,
    MODEL,
    KEY
  }

  /** Totals of one group. */
  record Totals(
      String group,
      long requests,
      long errors,
      long promptTokens,
      long completionTokens,
      long costMicros) {}

  /** Rollups of a project for days in [fromDay, toDayExclusive), ordered by group. */
  List<Totals> usage(
      UUID projectId, Grouping grouping, LocalDate fromDay, LocalDate toDayExclusive) {
    Field<String> group =
        switch (grouping) {
          case DAY -> DSL.cast(USAGE_DAILY.DAY, String.class);
          case MODEL -> USAGE_DAILY.MODEL;
          case KEY -> DSL.cast(USAGE_DAILY.KEY_ID, String.class);
        };
    Field<String> g = group.as("grp");
    return dsl.select(
            g,
            DSL.sum(USAGE_DAILY.REQUESTS),
            DSL.sum(USAGE_DAILY.ERRORS),
            DSL.sum(USAGE_DAILY.PROMPT_TOKENS),
            DSL.sum(USAGE_DAILY.COMPLETION_TOKENS),
            DSL.sum(USAGE_DAILY.COST_MICROS))
        .from(USAGE_DAILY)
        .where(USAGE_DAILY.PROJECT_ID.eq(projectId))
        .and(USAGE_DAILY.DAY.ge(fromDay))
        .and(USAGE_DAILY.DAY.lt(toDayExclusive))
        .groupBy(group)
        .orderBy(group)
        .fetch(
            r ->
                new Totals(
                    r.value1(),
                    r.value2().longValue(),
                    r.value3().longValue(),
                    r.value4().longValue(),
                    r.value5().longValue(),
                    r.value6().longValue()));
  }
}
