package io.agentrouter.controlplane.sync;

import java.time.YearMonth;
import java.util.Collection;
import java.util.Map;
import java.util.UUID;

/**
 * Month-to-date spend that the snapshot carries so data planes can enforce budgets. The usage
 * pipeline provides the real one; until it is wired, {@link #none()} reports nothing spent.
 */
@FunctionalInterface
public interface BudgetPositionSource {
  /** Spend in micro-dollars by key id and by project id. */
  record Positions(Map<UUID, Long> byKey, Map<UUID, Long> byProject) {
    public Positions {
      byKey = Map.copyOf(byKey);
      byProject = Map.copyOf(byProject);
    }
  }

  /** Spend of {@code month} (UTC) for the given projects and their keys. */
  Positions monthToDate(Collection<UUID> projectIds, YearMonth month);

  static BudgetPositionSource none() {
    return (projects, month) -> new Positions(Map.of(), Map.of());
  }
}
