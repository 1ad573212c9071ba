package io.agentrouter.common.config;

import static java.util.Objects.requireNonNull;

import java.math.BigDecimal;
import java.time.YearMonth;
import org.jspecify.annotations.Nullable;

/**
 * What a key or a project has spent in one month, as the control plane has recorded it. A data
 * plane adds its own spend not yet reported on top of this to enforce monthly budgets.
 *
 * @param projectId the project
 * @param keyId the key, or null for the project-wide position
 * @param month the calendar month (UTC)
 * @param spentUsd recorded spend, in USD
 */
public record BudgetPosition(
    String projectId, @Nullable String keyId, YearMonth month, BigDecimal spentUsd) {
  public BudgetPosition {
    requireNonNull(projectId, "projectId");
    requireNonNull(month, "month");
    requireNonNull(spentUsd, "spentUsd");
    if (spentUsd.signum() < 0) {
      throw new IllegalArgumentException(
          "spentUsd of project '" + projectId + "': " + spentUsd + " (expected: >= 0)");
    }
  }
}
