package io.agentrouter.dataplane.budget;

import static java.util.Objects.requireNonNull;

import io.agentrouter.common.config.BudgetPosition;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.common.config.ProjectConfig;
import io.agentrouter.dataplane.ratelimit.RedisBudgetCounters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Clock;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Budgets shared by every data plane of a region through Redis ({@link RedisBudgetCounters}), so a
 * key or project spending through several data planes at once still never passes its budget. Each
 * scope's counter starts from the control plane's recorded spend (the snapshot's positions) and
 * only grows from there.
 *
 * <p>When Redis is away (the limiter's breaker is open, or a call fails or times out), the policy
 * of {@code AGENTROUTER_REDIS_FAILURE_MODE} applies: {@code open} falls back to the local ledger,
 * which has seen every settlement made through Redis too, so it continues from the same spend;
 * {@code closed} refuses with 503 until Redis answers. Either way a metric counts it.
 */
public final class SharedBudgetLedger implements BudgetLedger {
  private static final Logger log = LoggerFactory.getLogger(SharedBudgetLedger.class);
  private static final BigDecimal MICROS = BigDecimal.valueOf(1_000_000);

  private final RedisBudgetCounters counters;
  private final LocalBudgetLedger local;
  private final BooleanSupplier degraded;
  private final boolean failOpen;
  private final Clock clock;
  private final Map<String, Long> floors = new ConcurrentHashMap<>();
  private final Counter fallbacks;
  private final Counter refusedUnavailable;
  private final Counter settleFailures;

  private record Scope(String kind, String name, long budgetMicros) {}

  private record Hold(String scope, String id) {}

  private record Shared(List<Hold> holds, KeyConfig key, @Nullable ProjectConfig project) {}

  private record Local(Reservation reservation, KeyConfig key, @Nullable ProjectConfig project) {}

  public SharedBudgetLedger(
      RedisBudgetCounters counters,
      LocalBudgetLedger local,
      BooleanSupplier degraded,
      boolean failOpen,
      Clock clock,
      MeterRegistry registry) {
    this.counters = requireNonNull(counters, "counters");
    this.local = requireNonNull(local, "local");
    this.degraded = requireNonNull(degraded, "degraded");
    this.failOpen = failOpen;
    this.clock = requireNonNull(clock, "clock");
    this.fallbacks =
        Counter.builder("agentrouter.budget.redis.fallbacks")
            .description("Budget checks decided by the local ledger because Redis was away")
            .register(registry);
    this.refusedUnavailable =
        Counter.builder("agentrouter.budget.redis.unavailable")
            .description("Budget checks refused because Redis was away (failure mode closed)")
            .register(registry);
    this.settleFailures =
        Counter.builder("agentrouter.budget.redis.settle.failures")
            .description("Settlements Redis did not take; the hold expires on its own")
            .register(registry);
  }

  @Override
  public CompletionStage<Reservation> reserve(
      KeyConfig key, @Nullable ProjectConfig project, BigDecimal estimateUsd) {
    YearMonth month = YearMonth.now(clock.withZone(ZoneOffset.UTC));
    List<Scope> scopes = new ArrayList<>(2);
    if (key.monthlyBudgetUsd() != null) {
      scopes.add(
          new Scope("key", "key:" + key.keyId() + ":" + month, micros(key.monthlyBudgetUsd())));
    }
    if (project != null && project.monthlyBudgetUsd() != null) {
      scopes.add(
          new Scope(
              "project",
              "project:" + project.id() + ":" + month,
              micros(project.monthlyBudgetUsd())));
    }
    if (degraded.getAsBoolean()) {
      return unavailable(key, project, estimateUsd, null);
    }
    long amount = micros(estimateUsd);
    List<Hold> holds = new ArrayList<>(scopes.size());
    return reserveFrom(scopes, 0, amount, holds)
        .thenApply(
            denied ->
                denied != null
                    ? denied
                    : new Reservation(
                        true,
                        null,
                        BigDecimal.ZERO,
                        BigDecimal.ZERO,
                        BigDecimal.ZERO,
                        new Shared(List.copyOf(holds), key, project)))
        .exceptionallyCompose(
            cause -> {
              release(holds);
              return unavailable(key, project, estimateUsd, cause);
            });
  }

  /** Holds {@code amount} on scopes[i..]; a refusal releases the holds taken before it. */
  private CompletionStage<@Nullable Reservation> reserveFrom(
      List<Scope> scopes, int i, long amount, List<Hold> holds) {
    if (i == scopes.size()) {
      return CompletableFuture.completedFuture(null);
    }
    Scope s = scopes.get(i);
    return counters
        .reserve(s.name(), s.budgetMicros(), amount, floors.getOrDefault(s.name(), 0L))
        .thenCompose(
            r -> {
              if (!r.held()) {
                release(holds);
                long heldByOthers = r.heldMicros();
                return CompletableFuture.completedFuture(
                    new Reservation(
                        false,
                        s.kind(),
                        usd(s.budgetMicros()),
                        usd(r.spentMicros()),
                        usd(heldByOthers),
                        null));
              }
              synchronized (holds) {
                holds.add(new Hold(s.name(), r.id()));
              }
              return reserveFrom(scopes, i + 1, amount, holds);
            });
  }

  private CompletionStage<Reservation> unavailable(
      KeyConfig key, @Nullable ProjectConfig project, BigDecimal estimateUsd, Throwable cause) {
    if (!failOpen) {
      refusedUnavailable.increment();
      return CompletableFuture.failedFuture(
          cause != null ? cause : new IllegalStateException("Redis is unavailable"));
    }
    fallbacks.increment();
    return local
        .reserve(key, project, estimateUsd)
        .thenApply(
            r ->
                r.granted()
                    ? new Reservation(
                        true,
                        null,
                        r.budgetUsd(),
                        r.spentUsd(),
                        r.reservedUsd(),
                        new Local(r, key, project))
                    : r);
  }

  @Override
  public void settle(Reservation reservation, BigDecimal actualUsd) {
    if (reservation.handle() instanceof Local l) {
      local.settle(l.reservation(), actualUsd);
      return;
    }
    if (!(reservation.handle() instanceof Shared s)) {
      return;
    }
    local.recordSpend(s.key(), s.project(), actualUsd);
    long actual = micros(actualUsd);
    for (Hold h : s.holds()) {
      counters
          .settle(h.scope(), h.id(), actual)
          .exceptionally(
              e -> {
                settleFailures.increment();
                log.warn(
                    "budget: Redis did not take a settlement for {} ({}); its hold expires",
                    h.scope(),
                    e.toString());
                return null;
              });
    }
  }

  private void release(List<Hold> holds) {
    List<Hold> copy;
    synchronized (holds) {
      copy = List.copyOf(holds);
      holds.clear();
    }
    for (Hold h : copy) {
      counters.settle(h.scope(), h.id(), 0).exceptionally(e -> null);
    }
  }

  @Override
  public void positions(List<BudgetPosition> positions) {
    local.positions(positions);
    YearMonth month = YearMonth.now(clock.withZone(ZoneOffset.UTC));
    for (BudgetPosition p : positions) {
      if (!p.month().equals(month)) {
        continue;
      }
      String scope =
          p.keyId() == null
              ? "project:" + p.projectId() + ":" + month
              : "key:" + p.keyId() + ":" + month;
      floors.merge(scope, micros(p.spentUsd()), Math::max);
    }
  }

  /** Micro-dollars, rounded up: a budget check never under-counts. */
  private static long micros(BigDecimal usd) {
    return usd.multiply(MICROS).setScale(0, RoundingMode.CEILING).longValueExact();
  }

  private static BigDecimal usd(long micros) {
    return BigDecimal.valueOf(micros).divide(MICROS).stripTrailingZeros();
  }
}
