package io.agentrouter.controlplane.keys;

import io.agentrouter.controlplane.rpc.ApiException;
import java.math.BigDecimal;
import org.jspecify.annotations.Nullable;

/** US-dollar amounts: decimal strings on the API, micro-dollars (long) in storage. */
public final class Money {
  private static final BigDecimal MICROS = BigDecimal.valueOf(1_000_000);
  private static final BigDecimal MAX = BigDecimal.valueOf(1_000_000_000L);

  private Money() {}

  /** Parses "25" or "19.99"; empty means no amount. */
  public static @Nullable Long parseUsd(String field, String value) {
    if (value == null || value.isBlank()) {
      return null;
    }
    BigDecimal d;
    try {
      d = new BigDecimal(value.strip());
    } catch (NumberFormatException e) {
      throw ApiException.invalid(
          field,
          "'"
              + value
              + "' is not a dollar amount (expected a decimal string such as \"25\" or \"19.99\")");
    }
    if (d.signum() < 0 || d.compareTo(MAX) > 0) {
      throw ApiException.invalid(field, value + " is out of range (expected 0 to 1000000000)");
    }
    if (d.stripTrailingZeros().scale() > 6) {
      throw ApiException.invalid(
          field, value + " has more than 6 decimals (expected micro-dollar precision at most)");
    }
    return d.multiply(MICROS).longValueExact();
  }

  /**
   * Parses a monthly budget: a positive amount, or empty for no cap. Zero is refused because data
   * planes read a zero cap as none; a caller who wants no spend at all revokes the keys instead.
   */
  public static @Nullable Long parseBudgetUsd(String field, String value) {
    Long micros = parseUsd(field, value);
    if (micros != null && micros == 0) {
      throw ApiException.invalid(
          field, "0 is not a budget (expected a positive amount, or empty for no cap)");
    }
    return micros;
  }

  public static String formatUsd(@Nullable Long micros) {
    if (micros == null) {
      return "";
    }
    return BigDecimal.valueOf(micros).divide(MICROS).stripTrailingZeros().toPlainString();
  }
}
