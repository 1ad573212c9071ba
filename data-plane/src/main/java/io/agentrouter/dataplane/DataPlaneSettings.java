package io.agentrouter.dataplane;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Process settings from the environment.
 *
 * @param httpPort {@code AGENTROUTER_HTTP_PORT}, default 8090 (0 picks a free port)
 * @param maxRequestBytes {@code AGENTROUTER_MAX_REQUEST_BYTES}, default 8 MiB
 * @param configFile {@code AGENTROUTER_CONFIG_FILE}: standalone mode
 * @param dataplaneId {@code AGENTROUTER_DATAPLANE_ID}, default the host name; a snapshot's own id
 *     wins
 * @param configPollInterval {@code AGENTROUTER_CONFIG_POLL_MS}, default 2 s; 0 disables reloads
 * @param breakerThreshold {@code AGENTROUTER_BREAKER_FAILURES}: consecutive failures that open a
 *     target's breaker, default 5
 * @param breakerOpenFor {@code AGENTROUTER_BREAKER_OPEN_MS}: how long it stays open, default 30 s
 * @param upstreamConnectTimeout {@code AGENTROUTER_UPSTREAM_CONNECT_TIMEOUT_MS}, default 5 s
 * @param accessLog {@code AGENTROUTER_ACCESS_LOG}, default true
 * @param shutdownQuietPeriod {@code AGENTROUTER_SHUTDOWN_QUIET_MS}: on shutdown, how long to keep
 *     serving while no new request arrives (in-flight ones get 30 s more), default 2 s
 * @param idleTimeout {@code AGENTROUTER_IDLE_TIMEOUT_MS}: how long a client connection may stay
 *     open with no request in progress, default 15 s. It also bounds a request whose headers never
 *     finish arriving (slowloris): until they are complete there is no request in progress.
 */
public record DataPlaneSettings(
    int httpPort,
    long maxRequestBytes,
    @Nullable Path configFile,
    String dataplaneId,
    Duration configPollInterval,
    int breakerThreshold,
    Duration breakerOpenFor,
    Duration upstreamConnectTimeout,
    boolean accessLog,
    Duration shutdownQuietPeriod,
    Duration idleTimeout) {

  public static final int DEFAULT_PORT = 8090;
  public static final long DEFAULT_MAX_REQUEST_BYTES = 8L * 1024 * 1024;

  public DataPlaneSettings {
    if (httpPort < 0 || httpPort > 65535) {
      throw new IllegalArgumentException("httpPort: " + httpPort + " (expected: 0-65535)");
    }
    if (maxRequestBytes <= 0) {
      throw new IllegalArgumentException(
          "maxRequestBytes: " + maxRequestBytes + " (expected: > 0)");
    }
    requireNonNull(dataplaneId, "dataplaneId");
    requireNonNull(configPollInterval, "configPollInterval");
    requireNonNull(breakerOpenFor, "breakerOpenFor");
    requireNonNull(upstreamConnectTimeout, "upstreamConnectTimeout");
    requireNonNull(idleTimeout, "idleTimeout");
    // Zero would turn Armeria's idle timeout off and let half-sent requests hold connections
    // forever.
    if (idleTimeout.isNegative() || idleTimeout.isZero()) {
      throw new IllegalArgumentException(
          "idleTimeout: " + idleTimeout.toMillis() + " ms (expected: > 0)");
    }
  }

  /** Defaults, as with an empty environment. */
  public static DataPlaneSettings defaults() {
    return fromEnv(name -> null);
  }

  /** Reads the settings from {@code env}, e.g. {@code System::getenv}. */
  public static DataPlaneSettings fromEnv(Function<String, @Nullable String> env) {
    String file = env.apply("AGENTROUTER_CONFIG_FILE");
    String id = env.apply("AGENTROUTER_DATAPLANE_ID");
    return new DataPlaneSettings(
        (int) number(env, "AGENTROUTER_HTTP_PORT", DEFAULT_PORT),
        number(env, "AGENTROUTER_MAX_REQUEST_BYTES", DEFAULT_MAX_REQUEST_BYTES),
        file == null || file.isBlank() ? null : Path.of(file),
        id == null || id.isBlank() ? hostName() : id,
        Duration.ofMillis(number(env, "AGENTROUTER_CONFIG_POLL_MS", 2000)),
        (int) number(env, "AGENTROUTER_BREAKER_FAILURES", 5),
        Duration.ofMillis(number(env, "AGENTROUTER_BREAKER_OPEN_MS", 30_000)),
        Duration.ofMillis(number(env, "AGENTROUTER_UPSTREAM_CONNECT_TIMEOUT_MS", 5000)),
        !"false".equalsIgnoreCase(env.apply("AGENTROUTER_ACCESS_LOG")),
        Duration.ofMillis(number(env, "AGENTROUTER_SHUTDOWN_QUIET_MS", 2000)),
        Duration.ofMillis(number(env, "AGENTROUTER_IDLE_TIMEOUT_MS", 15_000)));
  }

  public DataPlaneSettings withHttpPort(int port) {
    return new DataPlaneSettings(
        port,
        maxRequestBytes,
        configFile,
        dataplaneId,
        configPollInterval,
        breakerThreshold,
        breakerOpenFor,
        upstreamConnectTimeout,
        accessLog,
        shutdownQuietPeriod,
        idleTimeout);
  }

  public DataPlaneSettings withMaxRequestBytes(long bytes) {
    return new DataPlaneSettings(
        httpPort,
        bytes,
        configFile,
        dataplaneId,
        configPollInterval,
        breakerThreshold,
        breakerOpenFor,
        upstreamConnectTimeout,
        accessLog,
        shutdownQuietPeriod,
        idleTimeout);
  }

  public DataPlaneSettings withBreaker(int threshold, Duration openFor) {
    return new DataPlaneSettings(
        httpPort,
        maxRequestBytes,
        configFile,
        dataplaneId,
        configPollInterval,
        threshold,
        openFor,
        upstreamConnectTimeout,
        accessLog,
        shutdownQuietPeriod,
        idleTimeout);
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

  private static String hostName() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      return "dataplane";
    }
  }
}
