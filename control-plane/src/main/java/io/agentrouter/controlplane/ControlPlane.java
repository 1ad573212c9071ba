package io.agentrouter.controlplane;

import static java.util.Objects.requireNonNull;

import com.github.benmanes.caffeine.cache.Ticker;
import com.linecorp.armeria.client.WebClient;
import com.linecorp.armeria.common.CommonPools;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpHeaderNames;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.ResponseHeaders;
import com.linecorp.armeria.common.grpc.GrpcJsonMarshaller;
import com.linecorp.armeria.common.metric.MeterIdPrefixFunction;
import com.linecorp.armeria.server.HttpService;
import com.linecorp.armeria.server.Server;
import com.linecorp.armeria.server.ServerBuilder;
import com.linecorp.armeria.server.docs.DocService;
import com.linecorp.armeria.server.grpc.GrpcService;
import com.linecorp.armeria.server.grpc.GrpcServiceBuilder;
import com.linecorp.armeria.server.grpc.HttpJsonTranscodingOptions;
import com.linecorp.armeria.server.grpc.HttpJsonTranscodingQueryParamMatchRule;
import com.linecorp.armeria.server.healthcheck.HealthCheckService;
import com.linecorp.armeria.server.healthcheck.HealthCheckStatus;
import com.linecorp.armeria.server.healthcheck.HealthChecker;
import com.linecorp.armeria.server.metric.MetricCollectingService;
import io.agentrouter.common.jwt.MpJwt;
import io.agentrouter.common.net.UpstreamAddressPolicy;
import io.agentrouter.controlplane.bootstrap.Bootstrap;
import io.agentrouter.controlplane.catalog.CatalogGrpcService;
import io.agentrouter.controlplane.catalog.CatalogStore;
import io.agentrouter.controlplane.config.ControlPlaneConfig;
import io.agentrouter.controlplane.crypto.MasterKey;
import io.agentrouter.controlplane.dataplanes.DataplaneGrpcService;
import io.agentrouter.controlplane.dataplanes.DataplaneStore;
import io.agentrouter.controlplane.dataplanes.DataplaneSyncGrpcService;
import io.agentrouter.controlplane.idempotency.IdempotencyStore;
import io.agentrouter.controlplane.identity.ApiKeyAuthenticator;
import io.agentrouter.controlplane.identity.Authenticator;
import io.agentrouter.controlplane.identity.IdentityGrpcService;
import io.agentrouter.controlplane.identity.OidcAuthenticator;
import io.agentrouter.controlplane.identity.PrincipalStore;
import io.agentrouter.controlplane.inference.InferenceGrpcService;
import io.agentrouter.controlplane.inference.ModelDirectory;
import io.agentrouter.controlplane.inference.Prompts;
import io.agentrouter.controlplane.keys.KeyGrpcService;
import io.agentrouter.controlplane.keys.KeyStore;
import io.agentrouter.controlplane.keys.Pepper;
import io.agentrouter.controlplane.persistence.Database;
import io.agentrouter.controlplane.providerkeys.ProviderKeyCrypto;
import io.agentrouter.controlplane.providerkeys.ProviderKeyGrpcService;
import io.agentrouter.controlplane.providerkeys.ProviderKeyStore;
import io.agentrouter.controlplane.routes.RouteGrpcService;
import io.agentrouter.controlplane.routes.RouteStore;
import io.agentrouter.controlplane.rpc.ErrorMapping;
import io.agentrouter.controlplane.rpc.HttpErrorHandler;
import io.agentrouter.controlplane.rpc.JsonErrorHandler;
import io.agentrouter.controlplane.sync.BudgetPositionSource;
import io.agentrouter.controlplane.sync.ConfigSync;
import io.agentrouter.controlplane.sync.SnapshotBuilder;
import io.agentrouter.controlplane.tenancy.Access;
import io.agentrouter.controlplane.tenancy.CustomerGrpcService;
import io.agentrouter.controlplane.tenancy.MemberResolver;
import io.agentrouter.controlplane.tenancy.ProjectGrpcService;
import io.agentrouter.controlplane.tenancy.TenancyStore;
import io.agentrouter.controlplane.tokens.MpJwtMinter;
import io.agentrouter.controlplane.tokens.SigningKeys;
import io.agentrouter.controlplane.tokens.TokenGrpcService;
import io.agentrouter.controlplane.usage.SpendReader;
import io.agentrouter.controlplane.usage.Usage;
import io.grpc.BindableService;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;
import org.jooq.DSLContext;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The composition root of a control-plane process: builds the object graph from a {@link
 * ControlPlaneConfig}, bootstraps an empty database, and serves everything on one port. {@code
 * Main} and the tests start the server through {@link #start}, so both run the same wiring.
 */
public final class ControlPlane implements AutoCloseable {
  private static final Logger logger = LoggerFactory.getLogger(ControlPlane.class);

  private final ControlPlaneConfig config;
  private final Database database;
  private final Server server;
  private final PrometheusMeterRegistry registry;
  private final @Nullable String bootstrapKey;
  private final ConfigSync configSync;
  private final DataplaneSyncGrpcService syncService;

  private ControlPlane(
      ControlPlaneConfig config,
      Database database,
      Server server,
      PrometheusMeterRegistry registry,
      @Nullable String bootstrapKey,
      ConfigSync configSync,
      DataplaneSyncGrpcService syncService) {
    this.config = config;
    this.database = database;
    this.server = server;
    this.registry = registry;
    this.bootstrapKey = bootstrapKey;
    this.configSync = configSync;
    this.syncService = syncService;
  }

  /** Prompt resolves against the live catalog and the project's route aliases. */
  private static ModelDirectory catalogDirectory(CatalogStore catalog, RouteStore routes) {
    return new ModelDirectory() {
      @Override
      public List<String> models() {
        return catalog.list(null).stream().filter(m -> m.chat()).map(m -> m.modelId()).toList();
      }

      @Override
      public Set<String> aliases(UUID projectId) {
        return routes.list(projectId).stream()
            .map(r -> r.alias())
            .collect(Collectors.toUnmodifiableSet());
      }
    };
  }

  public static ControlPlane start(ControlPlaneConfig config) throws Exception {
    return start(config, System.out);
  }

  /** Starts a control plane; the one-time bootstrap banner goes to {@code banner}. */
  public static ControlPlane start(ControlPlaneConfig config, PrintStream banner) throws Exception {
    return start(config, banner, null);
  }

  /**
   * Starts a control plane whose snapshots carry budget positions from {@code budgets}; null: the
   * month-to-date spend from the usage rollups.
   */
  public static ControlPlane start(
      ControlPlaneConfig config, PrintStream banner, @Nullable BudgetPositionSource budgets)
      throws Exception {
    requireNonNull(config, "config");
    Files.createDirectories(config.dataDir());
    Clock clock = Clock.systemUTC();
    SecureRandom random = new SecureRandom();
    MasterKey masterKey = MasterKey.load(config.masterKeyBase64(), config.dataDir(), random);
    Database database =
        Database.open(config.dbUrl(), config.dbUser(), config.dbPassword(), config.dataDir());
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    ConfigSync configSync = null;
    DataplaneSyncGrpcService syncService;
    try {
      DSLContext dsl = database.dsl();
      Pepper pepper = Pepper.loadOrCreate(dsl, masterKey, random);
      SigningKeys signingKeys = new SigningKeys(dsl, masterKey, clock);
      signingKeys.init();
      String bootstrapKey = Bootstrap.run(dsl, pepper, random, clock, config.dataDir(), banner);

      PrincipalStore principals = new PrincipalStore(dsl, clock);
      TenancyStore tenancy = new TenancyStore(dsl, clock);
      KeyStore keys = new KeyStore(dsl);
      DataplaneStore dataplanes = new DataplaneStore(dsl);
      Access access = new Access(tenancy);
      Authenticator auth =
          new Authenticator(
              new ApiKeyAuthenticator(keys, principals, pepper, clock, Ticker.systemTicker()),
              new OidcAuthenticator(config.oidcIssuers(), config.oidcAudience(), principals));
      MemberResolver members = new MemberResolver(principals, config.oidcIssuers());

      List<BindableService> services = new ArrayList<>();
      services.add(new IdentityGrpcService(auth, access));
      services.add(new CustomerGrpcService(auth, access, members));
      services.add(new ProjectGrpcService(auth, access, members));
      services.add(new KeyGrpcService(auth, access, keys, pepper, clock, random));
      services.add(
          new TokenGrpcService(
              auth, access, keys, dataplanes, signingKeys, config.jwtIssuer(), clock));
      services.add(new DataplaneGrpcService(auth, dataplanes, clock, random));

      // Usage: StreamUsage ingestion, request logs and rollups, month-to-date spend.
      Usage usage = new Usage(dsl, auth, access, clock);
      usage.createPartitionsAhead();
      services.add(usage.service());
      SpendReader spend = usage.spend();
      BudgetPositionSource positions =
          budgets != null
              ? budgets
              : (projects, month) -> {
                SpendReader.MonthSpend s = spend.monthSpend(projects, month);
                return new BudgetPositionSource.Positions(s.byKey(), s.byProject());
              };

      // BYOK, catalog, routes, and config sync to the data planes.
      ProviderKeyCrypto providerKeyCrypto = new ProviderKeyCrypto(masterKey, random);
      ProviderKeyStore providerKeys = new ProviderKeyStore(dsl);
      CatalogStore catalog = new CatalogStore(dsl);
      services.add(
          new ProviderKeyGrpcService(
              auth,
              access,
              providerKeys,
              providerKeyCrypto,
              UpstreamAddressPolicy.withSystemResolver(config.allowPrivateUpstreams()),
              clock));
      services.add(new CatalogGrpcService(auth, catalog, clock));
      RouteStore routes = new RouteStore(dsl);
      services.add(new RouteGrpcService(auth, access, routes, providerKeys, catalog, clock));
      configSync =
          new ConfigSync(
              new SnapshotBuilder(
                  dsl, providerKeyCrypto, pepper, positions, config.jwtIssuer(), clock),
              dataplanes,
              database.dataSource(),
              clock);

      Prompts prompts =
          new Prompts(
              dataplanes,
              keys,
              catalogDirectory(catalog, routes),
              spend,
              new IdempotencyStore(dsl, clock),
              new MpJwtMinter(signingKeys, config.jwtIssuer(), clock),
              WebClient.of(),
              Duration.ofSeconds(60),
              clock);
      services.add(new InferenceGrpcService(auth, access, dataplanes, prompts));
      // Register, Heartbeat, StreamConfig (config sync) and StreamUsage (usage ingestion).
      syncService =
          new DataplaneSyncGrpcService(dataplanes, clock, random, usage.ingestion(), configSync);
      services.add(syncService);

      Server server =
          buildServer(config.httpPort(), services, signingKeys, registry, database.dataSource());
      server.start().join();
      logger.info(
          "AgentRouter control plane listening on port {} ({})", server.activeLocalPort(), config);
      return new ControlPlane(
          config, database, server, registry, bootstrapKey, configSync, syncService);
    } catch (Throwable t) {
      if (configSync != null) {
        configSync.close();
      }
      registry.close();
      database.close();
      throw t;
    }
  }

  static Server buildServer(
      int port,
      List<BindableService> services,
      SigningKeys signingKeys,
      PrometheusMeterRegistry registry,
      javax.sql.DataSource dataSource) {
    GrpcServiceBuilder grpc =
        GrpcService.builder()
            .enableHttpJsonTranscoding(
                HttpJsonTranscodingOptions.builder()
                    .queryParamMatchRules(HttpJsonTranscodingQueryParamMatchRule.ORIGINAL_FIELD)
                    .errorHandler(new HttpErrorHandler())
                    .build())
            // snake_case (proto field names) in and out; unknown fields and enum values are 400s.
            .jsonMarshallerFactory(
                sd ->
                    GrpcJsonMarshaller.builder()
                        .jsonMarshallerCustomizer(
                            b ->
                                b.preservingProtoFieldNames(true)
                                    .includingDefaultValueFields(true)
                                    .ignoringUnknownFields(false))
                        .build(sd))
            .exceptionHandler(new ErrorMapping())
            // Every service method touches PostgreSQL: never on an event loop.
            .useBlockingTaskExecutor(true)
            .addService(ProtoReflectionServiceV1.newInstance());
    services.forEach(grpc::addService);

    HttpService metrics =
        (ctx, req) ->
            HttpResponse.of(
                ResponseHeaders.of(
                    HttpStatus.OK,
                    HttpHeaderNames.CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8"),
                HttpData.ofUtf8(registry.scrape()));
    HttpService jwks =
        (ctx, req) ->
            HttpResponse.of(
                CompletableFuture.supplyAsync(
                    () ->
                        HttpResponse.of(
                            ResponseHeaders.builder(HttpStatus.OK)
                                .contentType(MediaType.JSON_UTF_8)
                                .set(HttpHeaderNames.CACHE_CONTROL, "public, max-age=60")
                                .build(),
                            HttpData.ofUtf8(signingKeys.jwksJson())),
                    ctx.blockingTaskExecutor()));

    ServerBuilder sb = Server.builder();
    sb.http(port)
        .meterRegistry(registry)
        .requestTimeout(Duration.ofSeconds(30))
        .errorHandler(new JsonErrorHandler())
        // Failures are mapped and answered in one place (ErrorMapping); unexpected ones are logged
        // there.
        .unloggedExceptionsReportInterval(Duration.ZERO)
        .gracefulShutdownTimeout(Duration.ofSeconds(1), Duration.ofSeconds(10))
        .service(grpc.build())
        .service(MpJwt.JWKS_PATH, jwks)
        .service(
            "/internal/health",
            HealthCheckService.builder().checkers(databaseHealth(dataSource)).build())
        .service("/internal/metrics", metrics)
        .serviceUnder("/internal/docs", DocService.builder().build())
        .decorator(
            MetricCollectingService.newDecorator(
                MeterIdPrefixFunction.ofDefault("agentrouter.cp.requests")));
    return sb.build();
  }

  /** Healthy while PostgreSQL answers; checked every 5 seconds off the event loop. */
  static HealthChecker databaseHealth(javax.sql.DataSource dataSource) {
    return HealthChecker.of(
        () ->
            CompletableFuture.supplyAsync(
                () -> {
                  try (java.sql.Connection c = dataSource.getConnection()) {
                    return new HealthCheckStatus(c.isValid(2), 5_000);
                  } catch (java.sql.SQLException e) {
                    logger.warn("Health check: PostgreSQL is unreachable: {}", e.getMessage());
                    return new HealthCheckStatus(false, 5_000);
                  }
                },
                CommonPools.blockingTaskExecutor()),
        Duration.ofSeconds(5));
  }

  /** The port the server listens on. */
  public int port() {
    return server.activeLocalPort();
  }

  /** {@code http://127.0.0.1:<port>}. */
  public String baseUrl() {
    return "http://127.0.0.1:" + port();
  }

  public ControlPlaneConfig config() {
    return config;
  }

  public Path dataDir() {
    return config.dataDir();
  }

  /** The operator key created by this start, when it bootstrapped an empty database. */
  public @Nullable String bootstrapKey() {
    return bootstrapKey;
  }

  /** For tests and tools that inspect the stored data. */
  public javax.sql.DataSource dataSource() {
    return database.dataSource();
  }

  @Override
  public void close() {
    // End the long-lived streams first: otherwise the graceful shutdown waits its whole timeout.
    configSync.close();
    syncService.close();
    server.stop().join();
    registry.close();
    try {
      database.close();
    } catch (java.io.IOException e) {
      logger.warn("Closing the database failed: {}", e.toString());
    }
  }
}
