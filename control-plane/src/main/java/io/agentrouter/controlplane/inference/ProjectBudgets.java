package io.agentrouter.controlplane.inference;

import java.util.UUID;
import org.jspecify.annotations.Nullable;

/** A project's monthly budget in micro-dollars, or null for none. Budgets own the real source. */
@FunctionalInterface
public interface ProjectBudgets {
  @Nullable Long monthlyBudgetMicros(UUID projectId);

  /** No project has a budget. */
  static ProjectBudgets none() {
    return p -> null;
  }
}
