package io.agentrouter.common.config;

import static java.util.Objects.requireNonNull;

import java.math.BigDecimal;
import org.jspecify.annotations.Nullable;

/**
 * A project as the data plane sees it.
 *
 * @param id project id
 * @param customerId the owning customer
 * @param defaultModel the model used when a request names none
 * @param limits project-wide rate limits (zero: none)
 * @param monthlyBudgetUsd project-wide monthly spending cap, null for none
 */
public record ProjectConfig(
    String id,
    String customerId,
    @Nullable String defaultModel,
    Limits limits,
    @Nullable BigDecimal monthlyBudgetUsd) {

  /** A project without project-wide limits or budget. */
  public ProjectConfig(String id, String customerId, @Nullable String defaultModel) {
    this(id, customerId, defaultModel, Limits.NONE, null);
  }

  public ProjectConfig {
    requireNonNull(id, "id");
    requireNonNull(customerId, "customerId");
    requireNonNull(limits, "limits");
    if (monthlyBudgetUsd != null && monthlyBudgetUsd.signum() < 0) {
      throw new IllegalArgumentException(
          "monthlyBudgetUsd of project '" + id + "': " + monthlyBudgetUsd + " (expected: >= 0)");
    }
  }
}
