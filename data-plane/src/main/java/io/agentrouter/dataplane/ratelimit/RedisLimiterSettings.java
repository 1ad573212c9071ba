package io.agentrouter.dataplane.ratelimit;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Locale;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * How the data plane shares its limits through Redis, from the environment.
 *
 * @param url {@code AGENTROUTER_REDIS_URL}, e.g. {@code redis://redis:6379}; null keeps limits in
 *     this process
 * @param region {@code AGENTROUTER_REGION}, default {@code default}: data planes of one region
 *     share counters, other regions do not
 * @param keyPrefix {@code AGENTROUTER_REDIS_KEY_PREFIX}, default {@code ar}
 * @param failureMode {@code AGENTROUTER_REDIS_FAILURE_MODE}: {@code open} (default) or {@code
 *     closed}
 * @param regionDataplanes {@code AGENTROUTER_REGION_DATAPLANES}, default 2: how many data planes
 *     share the region's limits; fail-open buckets get {@code limit / N}
 * @param timeout {@code AGENTROUTER_REDIS_TIMEOUT_MS}, default 20 ms: how long one check waits
 * @param retryAfter {@code AGENTROUTER_REDIS_RETRY_MS}, default 1 s: after failures, how long
 *     checks skip Redis before one probe tries it again
 * @param lease {@code AGENTROUTER_REDIS_LEASE_MS}, default 10 min: a concurrency slot of a data
 *     plane that died is reclaimed after this long
 * @param window the limiter's window; one minute in production, shorter only in tests
 */
public record RedisLimiterSettings(
    @Nullable String url,
    String region,
    String keyPrefix,
    FailureMode failureMode,
    int regionDataplanes,
    Duration timeout,
    Duration retryAfter,
    Duration lease,
    Duration window) {

  /** What a check does when Redis cannot answer in time. */
  public enum FailureMode {
    /** Admit by local buckets holding {@code limit / N}. */
    OPEN,
    /** Refuse with 503 until Redis answers again. */
    CLOSED
  }

  public RedisLimiterSettings {
    requireNonNull(region, "region");
    requireNonNull(keyPrefix, "keyPrefix");
    requireNonNull(failureMode, "failureMode");
    requireNonNull(timeout, "timeout");
    requireNonNull(retryAfter, "retryAfter");
    requireNonNull(lease, "lease");
    requireNonNull(window, "window");
    if (!region.matches("[A-Za-z0-9._-]{1,64}")) {
      throw new IllegalArgumentException(
          "region: '" + region + "' (expected: 1-64 of letters, digits, '.', '_', '-')");
    }
    if (!keyPrefix.matches("[A-Za-z0-9._:-]{1,64}")) {
      throw new IllegalArgumentException(
          "keyPrefix: '" + keyPrefix + "' (expected: 1-64 of letters, digits, '.', '_', ':', '-')");
    }
    if (regionDataplanes < 1) {
      throw new IllegalArgumentException(
          "regionDataplanes: " + regionDataplanes + " (expected: >= 1)");
    }
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
    }
    if (window.toMillis() < 1) {
      throw new IllegalArgumentException("window: " + window + " (expected: >= 1 ms)");
    }
  }

  /** Reads the settings from {@code env}, e.g. {@code System::getenv}. */
  public static RedisLimiterSettings fromEnv(Function<String, @Nullable String> env) {
    String url = env.apply("AGENTROUTER_REDIS_URL");
    String mode = env.apply("AGENTROUTER_REDIS_FAILURE_MODE");
    FailureMode failureMode;
    if (mode == null || mode.isBlank() || mode.strip().equalsIgnoreCase("open")) {
      failureMode = FailureMode.OPEN;
    } else if (mode.strip().equalsIgnoreCase("closed")) {
      failureMode = FailureMode.CLOSED;
    } else {
      throw new IllegalArgumentException(
          "AGENTROUTER_REDIS_FAILURE_MODE: '" + mode + "' (expected: open or closed)");
    }
    return new RedisLimiterSettings(
        url == null || url.isBlank() ? null : url.strip(),
        text(env, "AGENTROUTER_REGION", "default"),
        text(env, "AGENTROUTER_REDIS_KEY_PREFIX", "ar"),
        failureMode,
        (int) number(env, "AGENTROUTER_REGION_DATAPLANES", 2),
        Duration.ofMillis(number(env, "AGENTROUTER_REDIS_TIMEOUT_MS", 20)),
        Duration.ofMillis(number(env, "AGENTROUTER_REDIS_RETRY_MS", 1000)),
        Duration.ofMillis(number(env, "AGENTROUTER_REDIS_LEASE_MS", 600_000)),
        Duration.ofMinutes(1));
  }

  /** The same settings with another key prefix; tests use one per run. */
  public RedisLimiterSettings withKeyPrefix(String prefix) {
    return new RedisLimiterSettings(
        url, region, prefix, failureMode, regionDataplanes, timeout, retryAfter, lease, window);
  }

  /** The same settings with another Redis URL. */
  public RedisLimiterSettings withUrl(@Nullable String newUrl) {
    return new RedisLimiterSettings(
        newUrl,
        region,
        keyPrefix,
        failureMode,
        regionDataplanes,
        timeout,
        retryAfter,
        lease,
        window);
  }

  /** The same settings with another failure mode. */
  public RedisLimiterSettings withFailureMode(FailureMode mode) {
    return new RedisLimiterSettings(
        url, region, keyPrefix, mode, regionDataplanes, timeout, retryAfter, lease, window);
  }

  String modeLabel() {
    return failureMode.name().toLowerCase(Locale.ROOT);
  }

  private static String text(Function<String, @Nullable String> env, String name, String dflt) {
    String v = env.apply(name);
    return v == null || v.isBlank() ? dflt : v.strip();
  }

  private static long number(Function<String, @Nullable String> env, String name, long dflt) {
    String v = env.apply(name);
    if (v == null || v.isBlank()) {
      return dflt;
    }
    try {
      return Long.parseLong(v.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + ": '" + v + "' (expected: a whole number)");
    }
  }
}
