package io.agentrouter.controlplane.keys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class MoneyTest {
  @Test
  void decimalDollarsRoundTripThroughMicros() {
    assertThat(Money.parseUsd("b", "25")).isEqualTo(25_000_000L);
    assertThat(Money.parseUsd("b", "19.99")).isEqualTo(19_990_000L);
    assertThat(Money.parseUsd("b", "0.000001")).isEqualTo(1L);
    assertThat(Money.parseUsd("b", "")).isNull();
    assertThat(Money.formatUsd(19_990_000L)).isEqualTo("19.99");
    assertThat(Money.formatUsd(25_000_000L)).isEqualTo("25");
    assertThat(Money.formatUsd(null)).isEmpty();
  }

  @Test
  void rejectsWhatIsNotAnAmount() {
    assertThatThrownBy(() -> Money.parseUsd("monthly_budget_usd", "ten"))
        .hasMessageStartingWith("monthly_budget_usd: 'ten' is not a dollar amount");
    assertThatThrownBy(() -> Money.parseUsd("monthly_budget_usd", "-1"))
        .hasMessageContaining("out of range");
    assertThatThrownBy(() -> Money.parseUsd("monthly_budget_usd", "0.0000001"))
        .hasMessageContaining("more than 6 decimals");
  }

  @Test
  void aBudgetIsPositiveOrAbsentBecauseDataPlanesReadZeroAsNoCap() {
    assertThat(Money.parseBudgetUsd("monthly_budget_usd", "")).isNull();
    assertThat(Money.parseBudgetUsd("monthly_budget_usd", "0.5")).isEqualTo(500_000L);
    assertThatThrownBy(() -> Money.parseBudgetUsd("monthly_budget_usd", "0.00"))
        .hasMessageContaining("0 is not a budget");
  }
}
