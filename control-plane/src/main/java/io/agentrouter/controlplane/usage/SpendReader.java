package io.agentrouter.controlplane.usage;

import static io.agentrouter.controlplane.db.Tables.USAGE_DAILY;
import static java.util.Objects.requireNonNull;

import java.time.Clock;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.TableField;
import org.jooq.impl.DSL;

/**
 * Month-to-date spend (UTC calendar month) from the daily rollups, for budget positions and the
 * Prompt quota check. Every id asked for is in the answer; ids without spend (or that are not
 * UUIDs, so cannot have any) map to 0.
 */
public final class SpendReader {
  private final DSLContext dsl;
  private final Clock clock;

  public SpendReader(DSLContext dsl, Clock clock) {
    this.dsl = requireNonNull(dsl, "dsl");
    this.clock = requireNonNull(clock, "clock");
  }

  /** Micro-dollars spent this month per API key id. */
  public Map<String, Long> monthToDateMicrosByKey(Collection<String> keyIds) {
    return sum(USAGE_DAILY.KEY_ID, keyIds);
  }

  /** Micro-dollars spent this month per project id. */
  public Map<String, Long> monthToDateMicrosByProject(Collection<String> projectIds) {
    return sum(USAGE_DAILY.PROJECT_ID, projectIds);
  }

  /** Spend in micro-dollars of one month, by key id and by project id. */
  public record MonthSpend(Map<UUID, Long> byKey, Map<UUID, Long> byProject) {
    public MonthSpend {
      byKey = Map.copyOf(byKey);
      byProject = Map.copyOf(byProject);
    }
  }

  /**
   * Spend of {@code month} (UTC) for these projects and for each of their keys, in one query: what
   * config sync puts in a snapshot as budget positions. Ids without spend are absent.
   */
  public MonthSpend monthSpend(Collection<UUID> projectIds, YearMonth month) {
    requireNonNull(projectIds, "projectIds");
    requireNonNull(month, "month");
    Map<UUID, Long> byKey = new HashMap<>();
    Map<UUID, Long> byProject = new HashMap<>();
    if (projectIds.isEmpty()) {
      return new MonthSpend(byKey, byProject);
    }
    Field<java.math.BigDecimal> total = DSL.sum(USAGE_DAILY.COST_MICROS);
    dsl.select(USAGE_DAILY.PROJECT_ID, USAGE_DAILY.KEY_ID, total)
        .from(USAGE_DAILY)
        .where(USAGE_DAILY.PROJECT_ID.in(projectIds))
        .and(USAGE_DAILY.DAY.between(month.atDay(1), month.atEndOfMonth()))
        .groupBy(USAGE_DAILY.PROJECT_ID, USAGE_DAILY.KEY_ID)
        .forEach(
            r -> {
              long micros = r.value3().longValue();
              byKey.merge(r.value2(), micros, Long::sum);
              byProject.merge(r.value1(), micros, Long::sum);
            });
    return new MonthSpend(byKey, byProject);
  }

  private Map<String, Long> sum(TableField<?, UUID> column, Collection<String> ids) {
    requireNonNull(ids, "ids");
    Map<String, Long> out = new HashMap<>();
    Set<UUID> uuids = new LinkedHashSet<>();
    for (String id : ids) {
      out.put(id, 0L);
      try {
        uuids.add(UUID.fromString(id));
      } catch (IllegalArgumentException e) {
        // Not a UUID: nothing can have been spent under it.
      }
    }
    if (uuids.isEmpty()) {
      return out;
    }
    LocalDate monthStart = LocalDate.now(clock.withZone(ZoneOffset.UTC)).withDayOfMonth(1);
    Field<java.math.BigDecimal> total = DSL.sum(USAGE_DAILY.COST_MICROS);
    dsl.select(column, total)
        .from(USAGE_DAILY)
        .where(column.in(uuids))
        .and(USAGE_DAILY.DAY.ge(monthStart))
        .groupBy(column)
        .forEach(
            r -> {
              String key = r.value1().toString();
              // The caller's spelling of the id wins (upper- or lower-case).
              for (String id : ids) {
                if (id.equalsIgnoreCase(key)) {
                  out.put(id, r.value2().longValue());
                }
              }
            });
    return out;
  }
}
