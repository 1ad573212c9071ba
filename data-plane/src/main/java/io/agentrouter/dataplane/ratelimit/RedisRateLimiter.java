package io.agentrouter.dataplane.ratelimit;

import static java.util.Objects.requireNonNull;

import io.agentrouter.common.config.Limits;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Limits shared by every data plane of a region through one Redis: each check is one atomic Lua
 * script ({@code acquire.lua}) on Redis server time, covering requests per window (an exact sliding
 * log), tokens per window (a bucket, estimated before and corrected in {@link #release}) and
 * requests in flight (leases that expire, so a data plane that dies gives its slots back).
 *
 * <p>A check waits at most {@link RedisLimiterSettings#timeout()} and never blocks the caller. When
 * Redis does not answer, the {@link RedisLimiterSettings#failureMode() failure mode} decides: open
 * admits by local buckets of {@code limit / N} seeded with what Redis last reported as remaining,
 * closed refuses with 503. Each such check counts in {@code
 * agentrouter_ratelimit_redis_fallbacks_total}. After a few failures in a row checks skip Redis for
 * {@link RedisLimiterSettings#retryAfter()}, then one probe tries it; when it answers, local
 * admissions made meanwhile are written to the shared log and Redis decides again.
 *
 * <p>Redis keys hold the region and the key's id, never its secret: {@code
 * <prefix>:rl:{<region>:<keyId>}:req|tok|lease} (one hash tag, so one cluster slot).
 */
public final class RedisRateLimiter implements RateLimiter, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RedisRateLimiter.class);
  private static final int BREAKER_THRESHOLD = 3;
  private static final Duration RELEASE_TIMEOUT = Duration.ofSeconds(1);
  private static final String LOCAL = "";

  private final RedisLimiterSettings settings;
  private final MeterRegistry registry;
  private final LongSupplier nanoTime;
  private final String instanceId;
  private final ClientResources resources;
  private final RedisClient client;
  private final RedisURI uri;
  private final RedisScript acquireScript = RedisScript.resource("acquire.lua");
  private final RedisScript releaseScript = RedisScript.resource("release.lua");
  private final RedisBreaker breaker;
  private final AtomicReference<CompletableFuture<StatefulRedisConnection<String, String>>> conn;
  private final AtomicLong seq = new AtomicLong();
  private final ConcurrentHashMap<UUID, KeyState> keys = new ConcurrentHashMap<>();

  /**
   * @param settings with a non-null {@link RedisLimiterSettings#url()}
   * @param registry where the fallback counter goes
   * @param nanoTime the monotonic clock of the local buckets and the breaker
   */
  public RedisRateLimiter(
      RedisLimiterSettings settings, MeterRegistry registry, LongSupplier nanoTime) {
    this.settings = requireNonNull(settings, "settings");
    this.registry = requireNonNull(registry, "registry");
    this.nanoTime = requireNonNull(nanoTime, "nanoTime");
    String url = settings.url();
    if (url == null) {
      throw new IllegalArgumentException("settings.url: null (expected: a redis:// URL)");
    }
    try {
      this.uri = RedisURI.create(url);
    } catch (RuntimeException e) {
      // The URL may hold a password: never echo it.
      throw new IllegalArgumentException(
          "AGENTROUTER_REDIS_URL is not a valid Redis URL (expected: redis://host:port)");
    }
    this.instanceId = UUID.randomUUID().toString().substring(0, 8);
    this.breaker = new RedisBreaker(nanoTime, BREAKER_THRESHOLD, settings.retryAfter().toNanos());
    // Reconnect quickly and keep trying about every second, so recovery follows Redis closely.
    this.resources =
        ClientResources.builder()
            .reconnectDelay(
                Delay.exponential(
                    Duration.ofMillis(10), Duration.ofSeconds(1), 2, TimeUnit.MILLISECONDS))
            .build();
    this.client = RedisClient.create(resources);
    client.setOptions(
        ClientOptions.builder()
            .autoReconnect(true)
            // While the link is down, fail at once instead of queueing behind the reconnect.
            .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
            .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofSeconds(1)).build())
            // Bounds commands Redis never answers; checks themselves give up much earlier.
            .timeoutOptions(TimeoutOptions.enabled(Duration.ofSeconds(2)))
            .build());
    this.conn = new AtomicReference<>(connect());
  }

  private CompletableFuture<StatefulRedisConnection<String, String>> connect() {
    return client.connectAsync(StringCodec.UTF8, uri).toCompletableFuture();
  }

  private CompletableFuture<RedisAsyncCommands<String, String>> commands() {
    CompletableFuture<StatefulRedisConnection<String, String>> c = conn.get();
    if (c.isCompletedExceptionally()) {
      CompletableFuture<StatefulRedisConnection<String, String>> next = connect();
      if (conn.compareAndSet(c, next)) {
        c = next;
      } else {
        next.thenAccept(StatefulRedisConnection::closeAsync);
        c = conn.get();
      }
    }
    return c.thenApply(StatefulRedisConnection::async);
  }

  String keyName(UUID keyId, String kind) {
    return settings.keyPrefix() + ":rl:{" + settings.region() + ":" + keyId + "}:" + kind;
  }

  @Override
  public CompletionStage<LimitDecision> acquire(UUID keyId, Limits limits, long estimatedTokens) {
    KeyState st = keys.computeIfAbsent(keyId, k -> new KeyState());
    long estimate = Math.max(0, estimatedTokens);
    if (!breaker.tryRedis()) {
      return fallback(st, limits, estimate, "circuit_open");
    }
    String id = instanceId + ":" + seq.incrementAndGet();
    int backfill = st.takeBackfill();
    long windowMs = settings.window().toMillis();
    CompletableFuture<List<Object>> call =
        commands()
            .thenCompose(
                r ->
                    acquireScript.<List<Object>>run(
                        r,
                        ScriptOutputType.MULTI,
                        new String[] {
                          keyName(keyId, "req"), keyName(keyId, "tok"), keyName(keyId, "lease")
                        },
                        Long.toString(limits.requestsPerMinute()),
                        Long.toString(limits.tokensPerMinute()),
                        Integer.toString(limits.concurrentRequests()),
                        Long.toString(estimate),
                        id,
                        Long.toString(settings.lease().toMillis()),
                        Long.toString(windowMs),
                        Integer.toString(backfill)))
            .orTimeout(settings.timeout().toNanos(), TimeUnit.NANOSECONDS);
    return call.handle(
            (res, err) -> {
              LimitDecision d = null;
              Throwable failure = err;
              if (failure == null) {
                try {
                  d = decision(res, limits);
                } catch (RuntimeException e) {
                  failure = e;
                }
              }
              if (failure != null || d == null) {
                st.returnBackfill(backfill);
                breaker.failed();
                if (breaker.open() && st.noteOutage()) {
                  log.warn(
                      "Redis limiter: no answer ({}); limits are {} until it answers again",
                      reason(failure),
                      settings.failureMode() == RedisLimiterSettings.FailureMode.OPEN
                          ? "local at limit/" + settings.regionDataplanes()
                          : "refusing requests");
                }
                return fallback(st, limits, estimate, reason(failure));
              }
              if (breaker.succeeded()) {
                log.info("Redis limiter: Redis answers again; limits are shared again");
                keys.values().forEach(KeyState::recovered);
              }
              st.admittedByRedis(d, id);
              return CompletableFuture.completedFuture(d);
            })
        .thenCompose(f -> f);
  }

  private static String reason(@Nullable Throwable t) {
    Throwable c = t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    return c instanceof TimeoutException ? "timeout" : "error";
  }

  private CompletableFuture<LimitDecision> fallback(
      KeyState st, Limits limits, long estimate, String reason) {
    Counter.builder("agentrouter.ratelimit.redis.fallbacks")
        .description("Limit checks Redis did not decide, by failure mode and reason")
        .tag("mode", settings.modeLabel())
        .tag("reason", reason)
        .register(registry)
        .increment();
    if (settings.failureMode() == RedisLimiterSettings.FailureMode.CLOSED) {
      return CompletableFuture.failedFuture(
          new IllegalStateException(
              "shared limits are unavailable: Redis did not answer ("
                  + reason
                  + ") and AGENTROUTER_REDIS_FAILURE_MODE is closed"));
    }
    return CompletableFuture.completedFuture(
        st.localAcquire(limits, estimate, nanoTime.getAsLong(), settings));
  }

  private static LimitDecision decision(@Nullable List<Object> r, Limits limits) {
    if (r == null || r.size() != 6) {
      throw new IllegalStateException(
          "acquire.lua answered "
              + (r == null ? "nothing" : r.size() + " values")
              + " (expected: 6)");
    }
    String denied = String.valueOf(r.get(0));
    return new LimitDecision(
        denied.isEmpty() ? null : denied,
        ms(r.get(1)),
        limits.requestsPerMinute(),
        limits.requestsPerMinute() == 0 ? 0 : ((Number) r.get(2)).longValue(),
        limits.requestsPerMinute() == 0 ? 0 : ms(r.get(3)),
        limits.tokensPerMinute(),
        limits.tokensPerMinute() == 0 ? 0 : Math.max(0, ((Number) r.get(4)).longValue()),
        limits.tokensPerMinute() == 0 ? 0 : ms(r.get(5)));
  }

  private static long ms(Object v) {
    return Math.max(0, ((Number) v).longValue()) * 1_000_000L;
  }

  @Override
  public void release(UUID keyId, Limits limits, long estimatedTokens, long actualTokens) {
    KeyState st = keys.get(keyId);
    if (st == null) {
      return;
    }
    long estimate = Math.max(0, estimatedTokens);
    long actual = Math.max(0, actualTokens);
    String lease = st.pollLease();
    if (lease == null) {
      return;
    }
    if (lease.equals(LOCAL)) {
      st.localRelease(limits, estimate, actual, nanoTime.getAsLong(), settings);
      return;
    }
    long tpm = limits.tokensPerMinute();
    long delta = tpm == 0 ? 0 : actual - Math.min(estimate, tpm);
    if (limits.concurrentRequests() == 0 && delta == 0) {
      return;
    }
    if (breaker.open()) {
      // The lease expires on its own; a correction is lost, which only errs by one request.
      return;
    }
    commands()
        .thenCompose(
            r ->
                releaseScript.<Long>run(
                    r,
                    ScriptOutputType.INTEGER,
                    new String[] {keyName(keyId, "tok"), keyName(keyId, "lease")},
                    Long.toString(tpm),
                    Long.toString(settings.window().toMillis()),
                    limits.concurrentRequests() == 0 ? "" : lease,
                    Long.toString(delta)))
        .orTimeout(RELEASE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
        .whenComplete(
            (r, e) -> {
              if (e != null) {
                log.debug("Redis limiter: release not recorded ({})", reason(e));
              }
            });
  }

  @Override
  public void retainOnly(Set<UUID> keyIds) {
    keys.keySet().retainAll(keyIds);
  }

  /**
   * Budget counters on the same Redis connection, for a budget enforcer to use behind its own
   * interface.
   */
  public RedisBudgetCounters budgetCounters() {
    return new RedisBudgetCounters(
        this::commands,
        settings.keyPrefix(),
        settings.region(),
        settings.timeout(),
        settings.lease());
  }

  /** Whether checks currently skip Redis (its breaker is open). */
  public boolean degraded() {
    return breaker.open();
  }

  @Override
  public void close() {
    CompletableFuture<StatefulRedisConnection<String, String>> c = conn.get();
    c.thenAccept(StatefulRedisConnection::closeAsync);
    client
        .shutdownAsync(0, 2, TimeUnit.SECONDS)
        .thenRun(() -> resources.shutdown(0, 2, TimeUnit.SECONDS));
  }

  /**
   * What this data plane knows of one key: its admissions in flight (the Redis lease id, or {@link
   * #LOCAL}), what Redis last reported, and the local buckets used while Redis is away.
   */
  private static final class KeyState {
    private final ArrayDeque<String> leases = new ArrayDeque<>();
    private long lastRemainingRequests = -1;
    private long lastRemainingTokens = -1;
    private int localInFlight;
    private int backfill;
    private boolean outageLogged;
    private double requests = Double.NaN;
    private double tokens = Double.NaN;
    private long updatedNanos;

    synchronized int takeBackfill() {
      int b = backfill;
      backfill = 0;
      return b;
    }

    synchronized void returnBackfill(int b) {
      backfill += b;
    }

    synchronized boolean noteOutage() {
      boolean first = !outageLogged;
      outageLogged = true;
      return first;
    }

    synchronized void recovered() {
      outageLogged = false;
      requests = Double.NaN;
      tokens = Double.NaN;
    }

    synchronized void admittedByRedis(LimitDecision d, String id) {
      lastRemainingRequests = d.remainingRequests();
      lastRemainingTokens = d.remainingTokens();
      // The next outage starts from these figures, not from full local buckets.
      requests = Double.NaN;
      tokens = Double.NaN;
      if (d.allowed()) {
        leases.add(id);
      }
    }

    synchronized @Nullable String pollLease() {
      return leases.poll();
    }

    synchronized LimitDecision localAcquire(
        Limits limits, long estimate, long now, RedisLimiterSettings s) {
      int n = s.regionDataplanes();
      long windowNanos = s.window().toNanos();
      long rpm = share(limits.requestsPerMinute(), n);
      long tpm = share(limits.tokensPerMinute(), n);
      long conc = share(limits.concurrentRequests(), n);
      if (Double.isNaN(requests)) {
        requests = lastRemainingRequests < 0 ? rpm : Math.min(rpm, lastRemainingRequests / n);
        tokens = lastRemainingTokens < 0 ? tpm : Math.min(tpm, lastRemainingTokens / n);
        updatedNanos = now;
      }
      refill(rpm, tpm, now, windowNanos);
      long cost = tpm == 0 ? 0 : Math.min(estimate, tpm);
      String denied = null;
      long retry = 0;
      if (rpm > 0 && requests < 1) {
        denied = "requests";
        retry = nanosUntil(1 - requests, rpm, windowNanos);
      } else if (tpm > 0 && tokens < Math.max(cost, 1)) {
        denied = "tokens";
        retry = nanosUntil(Math.max(cost, 1) - tokens, tpm, windowNanos);
      } else if (conc > 0 && localInFlight >= conc) {
        denied = "concurrency";
        retry = 1_000_000_000L;
      }
      if (denied == null) {
        if (rpm > 0) {
          requests -= 1;
          backfill++;
        }
        if (tpm > 0) {
          tokens -= cost;
        }
        localInFlight++;
        leases.add(LOCAL);
      }
      return new LimitDecision(
          denied,
          retry,
          limits.requestsPerMinute(),
          rpm == 0 ? 0 : (long) Math.max(0, Math.floor(requests)),
          rpm == 0 ? 0 : nanosUntil(rpm - requests, rpm, windowNanos),
          limits.tokensPerMinute(),
          tpm == 0 ? 0 : (long) Math.max(0, Math.floor(tokens)),
          tpm == 0 ? 0 : nanosUntil(tpm - tokens, tpm, windowNanos));
    }

    synchronized void localRelease(
        Limits limits, long estimate, long actual, long now, RedisLimiterSettings s) {
      localInFlight = Math.max(0, localInFlight - 1);
      long tpm = share(limits.tokensPerMinute(), s.regionDataplanes());
      if (tpm > 0 && !Double.isNaN(tokens)) {
        refill(
            share(limits.requestsPerMinute(), s.regionDataplanes()),
            tpm,
            now,
            s.window().toNanos());
        tokens = Math.min(tpm, tokens - (actual - Math.min(estimate, tpm)));
      }
    }

    private void refill(long rpm, long tpm, long now, long windowNanos) {
      long elapsed = now - updatedNanos;
      if (elapsed > 0) {
        if (rpm > 0) {
          requests = Math.min(rpm, requests + (double) elapsed * rpm / windowNanos);
        }
        if (tpm > 0) {
          tokens = Math.min(tpm, tokens + (double) elapsed * tpm / windowNanos);
        }
        updatedNanos = now;
      }
    }

    /** A node's share of a limit; never 0 where a limit is set, so a node can always serve. */
    private static long share(long limit, int n) {
      return limit == 0 ? 0 : Math.max(1, limit / n);
    }

    private static long nanosUntil(double missing, long perWindow, long windowNanos) {
      if (missing <= 0) {
        return 0;
      }
      return (long) Math.ceil(missing * windowNanos / perWindow);
    }
  }
}
