package io.agentrouter.dataplane.budget;

import static java.util.Objects.requireNonNull;

import io.agentrouter.common.config.BudgetPosition;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.common.config.ProjectConfig;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.jspecify.annotations.Nullable;

/**
 * Budgets kept in this process. Spend per scope (a key, a project) is the larger of the control
 * plane's position and what this data plane knows it has spent since, so local spend not yet
 * reported is never forgotten and reported spend is never counted twice. Reservations and
 * settlements of all scopes are serialized under one lock; each is a few additions, so concurrent
 * requests can never jointly overspend.
 */
public final class LocalBudgetLedger implements BudgetLedger {
  private final Clock clock;
  private final Map<Scope, State> states = new HashMap<>();

  private record Scope(String projectId, @Nullable String keyId) {}

  private static final class State {
    YearMonth month;
    BigDecimal spent = BigDecimal.ZERO;
    BigDecimal reserved = BigDecimal.ZERO;

    State(YearMonth month) {
      this.month = month;
    }
  }

  private record Held(List<State> states, BigDecimal estimate) {}

  public LocalBudgetLedger(Clock clock) {
    this.clock = requireNonNull(clock, "clock");
  }

  @Override
  public synchronized CompletionStage<Reservation> reserve(
      KeyConfig key, @Nullable ProjectConfig project, BigDecimal estimateUsd) {
    YearMonth month = YearMonth.now(clock.withZone(ZoneOffset.UTC));
    List<State> held = new ArrayList<>(2);
    if (key.monthlyBudgetUsd() != null) {
      State s = state(new Scope(key.projectId(), key.keyId().toString()), month);
      Reservation denied = check("key", key.monthlyBudgetUsd(), s, estimateUsd);
      if (denied != null) {
        return CompletableFuture.completedFuture(denied);
      }
      held.add(s);
    }
    if (project != null && project.monthlyBudgetUsd() != null) {
      State s = state(new Scope(project.id(), null), month);
      Reservation denied = check("project", project.monthlyBudgetUsd(), s, estimateUsd);
      if (denied != null) {
        return CompletableFuture.completedFuture(denied);
      }
      held.add(s);
    }
    for (State s : held) {
      s.reserved = s.reserved.add(estimateUsd);
    }
    return CompletableFuture.completedFuture(
        new Reservation(
            true,
            null,
            BigDecimal.ZERO,
            BigDecimal.ZERO,
            BigDecimal.ZERO,
            new Held(held, estimateUsd)));
  }

  private static @Nullable Reservation check(
      String scope, BigDecimal budget, State s, BigDecimal estimate) {
    BigDecimal available = budget.subtract(s.spent).subtract(s.reserved);
    if (available.signum() <= 0 || estimate.compareTo(available) > 0) {
      return new Reservation(false, scope, budget, s.spent, s.reserved, null);
    }
    return null;
  }

  @Override
  public synchronized void settle(Reservation reservation, BigDecimal actualUsd) {
    if (!(reservation.handle() instanceof Held h)) {
      return;
    }
    YearMonth month = YearMonth.now(clock.withZone(ZoneOffset.UTC));
    for (State s : h.states()) {
      s.reserved = s.reserved.subtract(h.estimate());
      rollOver(s, month);
      s.spent = s.spent.add(actualUsd);
    }
  }

  /**
   * Adds spend that another ledger admitted (the shared one), so this ledger can take over with an
   * up-to-date view when that one is away.
   */
  public synchronized void recordSpend(
      KeyConfig key, @Nullable ProjectConfig project, BigDecimal actualUsd) {
    YearMonth month = YearMonth.now(clock.withZone(ZoneOffset.UTC));
    if (key.monthlyBudgetUsd() != null) {
      State s = state(new Scope(key.projectId(), key.keyId().toString()), month);
      s.spent = s.spent.add(actualUsd);
    }
    if (project != null && project.monthlyBudgetUsd() != null) {
      State s = state(new Scope(project.id(), null), month);
      s.spent = s.spent.add(actualUsd);
    }
  }

  @Override
  public synchronized void positions(List<BudgetPosition> positions) {
    YearMonth month = YearMonth.now(clock.withZone(ZoneOffset.UTC));
    for (BudgetPosition p : positions) {
      if (!p.month().equals(month)) {
        continue;
      }
      State s = state(new Scope(p.projectId(), p.keyId()), month);
      if (p.spentUsd().compareTo(s.spent) > 0) {
        s.spent = p.spentUsd();
      }
    }
  }

  /** What a scope has spent this month as far as this ledger knows (for tests and health). */
  public synchronized BigDecimal spent(String projectId, @Nullable String keyId) {
    State s = states.get(new Scope(projectId, keyId));
    return s == null ? BigDecimal.ZERO : s.spent;
  }

  private State state(Scope scope, YearMonth month) {
    State s = states.computeIfAbsent(scope, k -> new State(month));
    rollOver(s, month);
    return s;
  }

  private static void rollOver(State s, YearMonth month) {
    if (!s.month.equals(month)) {
      s.month = month;
      s.spent = BigDecimal.ZERO;
    }
  }
}
