package io.agentrouter.dataplane.ratelimit;

import static java.util.Objects.requireNonNull;

import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Budget counters shared by a region's data planes, in micro-dollars: {@link #reserve} holds an
 * estimate before a request goes upstream, {@link #settle} replaces the hold by the real cost.
 * Spend plus holds never passes the limit, so as long as a request costs no more than it reserved,
 * recorded spend never passes it either. A hold that is never settled (its data plane died) is
 * freed after {@code holdFor}. A budget enforcer can call this from behind its own interface; the
 * failure policy when Redis is away is that caller's to choose.
 *
 * <p>Keys: {@code <prefix>:budget:{<region>:<scope>}} and {@code ...:holds}; {@code scope} names
 * the budget and its period, e.g. {@code project:<uuid>:2026-11}, and must not hold a secret.
 */
public final class RedisBudgetCounters {
  private static final Duration KEY_TTL = Duration.ofDays(62);

  private final Supplier<CompletableFuture<RedisAsyncCommands<String, String>>> redis;
  private final String prefix;
  private final String region;
  private final Duration timeout;
  private final Duration holdFor;
  private final RedisScript reserveScript = RedisScript.resource("reserve.lua");
  private final RedisScript settleScript = RedisScript.resource("settle.lua");

  /**
   * The answer to a reservation; {@code id} settles it. {@code spentMicros} and {@code heldMicros}
   * are the budget's spend and holds in progress (this one included when held).
   */
  public record Reservation(
      boolean held, String id, long freeMicros, long spentMicros, long heldMicros) {}

  RedisBudgetCounters(
      Supplier<CompletableFuture<RedisAsyncCommands<String, String>>> redis,
      String prefix,
      String region,
      Duration timeout,
      Duration holdFor) {
    this.redis = requireNonNull(redis, "redis");
    this.prefix = requireNonNull(prefix, "prefix");
    this.region = requireNonNull(region, "region");
    this.timeout = requireNonNull(timeout, "timeout");
    this.holdFor = requireNonNull(holdFor, "holdFor");
  }

  /** Holds {@code amountMicros} of the budget {@code scope} limited to {@code limitMicros}. */
  public CompletionStage<Reservation> reserve(String scope, long limitMicros, long amountMicros) {
    return reserve(scope, limitMicros, amountMicros, 0);
  }

  /**
   * Like {@link #reserve(String, long, long)}, first raising the scope's spend to at least {@code
   * floorMicros}: what the control plane has recorded for it this month.
   */
  public CompletionStage<Reservation> reserve(
      String scope, long limitMicros, long amountMicros, long floorMicros) {
    String[] keys = keys(scope);
    if (amountMicros < 0 || limitMicros < 0 || floorMicros < 0) {
      throw new IllegalArgumentException(
          "amountMicros: "
              + amountMicros
              + ", limitMicros: "
              + limitMicros
              + ", floorMicros: "
              + floorMicros
              + " (expected: >= 0)");
    }
    String id = UUID.randomUUID().toString();
    return redis
        .get()
        .thenCompose(
            r ->
                reserveScript.<List<Object>>run(
                    r,
                    ScriptOutputType.MULTI,
                    keys,
                    Long.toString(limitMicros),
                    Long.toString(amountMicros),
                    id,
                    Long.toString(holdFor.toMillis()),
                    Long.toString(KEY_TTL.toMillis()),
                    Long.toString(floorMicros)))
        .orTimeout(timeout.toNanos(), TimeUnit.NANOSECONDS)
        .thenApply(
            l ->
                new Reservation(
                    ((Number) l.get(0)).longValue() == 1,
                    id,
                    ((Number) l.get(1)).longValue(),
                    ((Number) l.get(2)).longValue(),
                    ((Number) l.get(3)).longValue()));
  }

  /** Ends reservation {@code id} with its real cost; answers the spend so far. */
  public CompletionStage<Long> settle(String scope, String id, long actualMicros) {
    String[] keys = keys(scope);
    if (actualMicros < 0) {
      throw new IllegalArgumentException("actualMicros: " + actualMicros + " (expected: >= 0)");
    }
    return redis
        .get()
        .thenCompose(
            r ->
                settleScript.<Long>run(
                    r,
                    ScriptOutputType.INTEGER,
                    keys,
                    id,
                    Long.toString(actualMicros),
                    Long.toString(KEY_TTL.toMillis())))
        .orTimeout(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  private String[] keys(String scope) {
    if (!scope.matches("[A-Za-z0-9._:-]{1,128}")) {
      throw new IllegalArgumentException(
          "scope: '" + scope + "' (expected: 1-128 of letters, digits, '.', '_', ':', '-')");
    }
    String base = prefix + ":budget:{" + region + ":" + scope + "}";
    return new String[] {base, base + ":holds"};
  }
}
