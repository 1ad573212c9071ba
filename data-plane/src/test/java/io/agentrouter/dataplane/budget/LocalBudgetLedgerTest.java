package io.agentrouter.dataplane.budget;

import static org.assertj.core.api.Assertions.assertThat;

import io.agentrouter.common.config.BudgetPosition;
import io.agentrouter.common.config.KeyConfig;
import io.agentrouter.common.config.KeyStatus;
import io.agentrouter.common.config.Limits;
import io.agentrouter.common.config.ProjectConfig;
import io.agentrouter.dataplane.budget.BudgetLedger.Reservation;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class LocalBudgetLedgerTest {
  private static final UUID KEY = UUID.randomUUID();
  private final Clock clock = Clock.fixed(Instant.parse("2026-11-15T12:00:00Z"), ZoneOffset.UTC);
  private final LocalBudgetLedger ledger = new LocalBudgetLedger(clock);

  private static KeyConfig key(String budget) {
    return new KeyConfig(
        KEY,
        "0".repeat(64),
        "c",
        "p",
        "k",
        KeyStatus.ACTIVE,
        null,
        Limits.NONE,
        budget == null ? null : new BigDecimal(budget),
        Set.of());
  }

  private Reservation reserve(KeyConfig k, ProjectConfig p, String usd) {
    return ledger.reserve(k, p, new BigDecimal(usd)).toCompletableFuture().join();
  }

  @Test
  void positionsFromTheControlPlaneCountWithoutDoubleCountingLocalSpend() {
    KeyConfig k = key("10");
    ledger.positions(
        List.of(
            new BudgetPosition("p", KEY.toString(), YearMonth.of(2026, 11), new BigDecimal("6"))));
    Reservation r = reserve(k, null, "3");
    assertThat(r.granted()).isTrue();
    ledger.settle(r, new BigDecimal("2")); // refund of 1
    assertThat(ledger.spent("p", KEY.toString())).isEqualByComparingTo("8");
    // The control plane's next position already includes those $2: not counted twice.
    ledger.positions(
        List.of(
            new BudgetPosition("p", KEY.toString(), YearMonth.of(2026, 11), new BigDecimal("8"))));
    assertThat(ledger.spent("p", KEY.toString())).isEqualByComparingTo("8");
    assertThat(reserve(k, null, "2").granted()).isTrue();
    Reservation denied = reserve(k, null, "0.01");
    assertThat(denied.granted()).isFalse();
    assertThat(denied.deniedScope()).isEqualTo("key");
    // Last month's position does not count.
    ledger.positions(
        List.of(new BudgetPosition("p", null, YearMonth.of(2026, 10), new BigDecimal("1000"))));
    ProjectConfig project = new ProjectConfig("p", "c", null, Limits.NONE, new BigDecimal("5"));
    assertThat(reserve(key(null), project, "5").granted()).isTrue();
    Reservation projectDenied = reserve(key(null), project, "0.5");
    assertThat(projectDenied.granted()).isFalse();
    assertThat(projectDenied.deniedScope()).isEqualTo("project");
  }
}
