package io.agentrouter.controlplane.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.agentrouter.controlplane.rpc.ApiException;
import org.junit.jupiter.api.Test;

class PricesTest {
  @Test
  void dollarStringsBecomeMicroDollarsAndBack() {
    assertThat(CatalogGrpcService.usd("f", "2.50")).isEqualTo(2_500_000L);
    assertThat(CatalogGrpcService.usd("f", "0.075")).isEqualTo(75_000L);
    assertThat(CatalogGrpcService.usd("f", "")).isNull();
    assertThat(CatalogGrpcService.usd(2_500_000L)).isEqualTo("2.5");
    assertThat(CatalogGrpcService.usd(10_000_000L)).isEqualTo("10");
    assertThat(CatalogGrpcService.usd((Long) null)).isEmpty();
  }

  @Test
  void badAmountsNameTheValue() {
    assertThatThrownBy(() -> CatalogGrpcService.usd("prices.input", "0.0000001"))
        .isInstanceOf(ApiException.class)
        .hasMessageContaining("0.0000001")
        .hasMessageContaining("6 decimals");
    assertThatThrownBy(() -> CatalogGrpcService.usd("prices.input", "-1"))
        .hasMessageContaining("out of range");
    assertThatThrownBy(() -> CatalogGrpcService.usd("prices.input", "abc"))
        .hasMessageContaining("abc");
  }
}
