package io.agentrouter.controlplane.usage;

import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.identity.Authenticator;
import io.agentrouter.controlplane.tenancy.Access;
import io.grpc.BindableService;
import java.time.Clock;
import java.time.YearMonth;
import java.time.ZoneOffset;
import org.jooq.DSLContext;

/**
 * The usage feature as the composition root sees it: ingestion for {@code StreamUsage}, the {@code
 * UsageService} API, and month-to-date spend for budgets.
 */
public final class Usage {
  private final UsageStore store;
  private final UsageIngestion ingestion;
  private final UsageGrpcService service;
  private final SpendReader spend;
  private final Clock clock;

  public Usage(DSLContext dsl, Authenticator auth, Access access, Clock clock) {
    requireNonNull(dsl, "dsl");
    this.clock = requireNonNull(clock, "clock");
    this.store = new UsageStore(dsl);
    this.ingestion = new UsageIngestion(store, clock);
    this.service = new UsageGrpcService(auth, access, new UsageQueries(dsl), clock);
    this.spend = new SpendReader(dsl, clock);
  }

  /** Creates this month's and next month's request-log partitions, so inserts rarely wait. */
  public void createPartitionsAhead() {
    YearMonth now = YearMonth.now(clock.withZone(ZoneOffset.UTC));
    store.ensurePartition(now);
    store.ensurePartition(now.plusMonths(1));
  }

  public UsageIngestion ingestion() {
    return ingestion;
  }

  public BindableService service() {
    return service;
  }

  public SpendReader spend() {
    return spend;
  }
}
