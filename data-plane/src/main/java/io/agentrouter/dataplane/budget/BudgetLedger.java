package io.agentrouter.dataplane.budget;

import io.agentrouter.common.config.BudgetPosition;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.common.config.ProjectConfig;
import java.math.BigDecimal;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * Monthly spend per key and per project. Before an upstream call the chain reserves an estimate of
 * its cost; when the request ends it settles with the real cost, which refunds the difference. A
 * request is admitted only if the estimate fits in {@code budget − spent − reserved} for the key
 * and for its project. Local by default; a shared (Redis) ledger can take its place because the
 * request path only sees this interface and never blocks on it.
 */
public interface BudgetLedger {

  /**
   * Reserves {@code estimateUsd} against the budgets of {@code key} and {@code project} (either may
   * have none). An admitted reservation must be {@linkplain #settle settled} exactly once.
   */
  CompletionStage<Reservation> reserve(
      KeyConfig key, @Nullable ProjectConfig project, BigDecimal estimateUsd);

  /** Ends an admitted reservation: its estimate is released and {@code actualUsd} is spent. */
  void settle(Reservation reservation, BigDecimal actualUsd);

  /** The control plane's recorded spend, from a new snapshot. */
  void positions(List<BudgetPosition> positions);

  /**
   * The outcome of a reservation.
   *
   * @param granted whether the request may proceed
   * @param deniedScope {@code key} or {@code project} when refused
   * @param budgetUsd the refusing scope's budget
   * @param spentUsd what the refusing scope has spent, as far as this ledger knows
   * @param reservedUsd what requests in progress have reserved in the refusing scope
   * @param handle the ledger's own state for {@link #settle}
   */
  record Reservation(
      boolean granted,
      @Nullable String deniedScope,
      BigDecimal budgetUsd,
      BigDecimal spentUsd,
      BigDecimal reservedUsd,
      @Nullable Object handle) {}
}
