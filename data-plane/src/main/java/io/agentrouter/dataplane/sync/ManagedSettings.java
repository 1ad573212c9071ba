package io.agentrouter.dataplane.sync;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Managed-mode settings, from the environment.
 *
 * @param controlPlaneUrls {@code AGENTROUTER_CONTROL_PLANE_URL}: one or more control-plane
 *     replicas, comma-separated; the next is tried when one fails
 * @param registrationToken {@code AGENTROUTER_DATAPLANE_TOKEN}: the one-time token exchanged for a
 *     credential on first start; not needed once the credential is in the data dir
 * @param dataDir {@code AGENTROUTER_DATA_DIR}, default {@code ./.agentrouter-dp}: credential, key,
 *     last good snapshot, usage spool
 * @param snapshotKey {@code AGENTROUTER_DATAPLANE_KEY}: base64 of the 32-byte key the persisted
 *     snapshot is sealed with; absent, one is generated into the data dir
 * @param heartbeatInterval {@code AGENTROUTER_HEARTBEAT_MS}, default 10 s
 * @param spoolMaxBytes {@code AGENTROUTER_SPOOL_MAX_BYTES}, default 256 MiB: disk the usage spool
 *     may use (waiting records are held in memory too)
 */
public record ManagedSettings(
    List<String> controlPlaneUrls,
    @Nullable String registrationToken,
    Path dataDir,
    @Nullable String snapshotKey,
    Duration heartbeatInterval,
    long spoolMaxBytes) {

  public ManagedSettings {
    controlPlaneUrls = List.copyOf(controlPlaneUrls);
    requireNonNull(dataDir, "dataDir");
    requireNonNull(heartbeatInterval, "heartbeatInterval");
    if (controlPlaneUrls.isEmpty()) {
      throw new IllegalArgumentException("controlPlaneUrls: [] (expected: at least one URL)");
    }
    for (String u : controlPlaneUrls) {
      if (!u.startsWith("http://") && !u.startsWith("https://")) {
        throw new IllegalArgumentException(
            "AGENTROUTER_CONTROL_PLANE_URL entry '" + u + "' (expected: http:// or https://)");
      }
    }
    if (heartbeatInterval.isNegative() || heartbeatInterval.isZero()) {
      throw new IllegalArgumentException(
          "heartbeatInterval: " + heartbeatInterval + " (expected: > 0)");
    }
    if (spoolMaxBytes < 1024 * 1024) {
      throw new IllegalArgumentException(
          "spoolMaxBytes: " + spoolMaxBytes + " (expected: >= 1048576)");
    }
  }

  /** Managed settings when {@code AGENTROUTER_CONTROL_PLANE_URL} is set, else null (standalone). */
  public static @Nullable ManagedSettings fromEnv(Function<String, @Nullable String> env) {
    String urls = env.apply("AGENTROUTER_CONTROL_PLANE_URL");
    if (urls == null || urls.isBlank()) {
      return null;
    }
    List<String> list = new ArrayList<>();
    for (String u : urls.split(",")) {
      String s = u.strip();
      if (!s.isEmpty()) {
        list.add(s.endsWith("/") ? s.substring(0, s.length() - 1) : s);
      }
    }
    String token = env.apply("AGENTROUTER_DATAPLANE_TOKEN");
    String dir = env.apply("AGENTROUTER_DATA_DIR");
    String key = env.apply("AGENTROUTER_DATAPLANE_KEY");
    return new ManagedSettings(
        list,
        token == null || token.isBlank() ? null : token.strip(),
        Path.of(dir == null || dir.isBlank() ? "./.agentrouter-dp" : dir),
        key == null || key.isBlank() ? null : key,
        Duration.ofMillis(number(env, "AGENTROUTER_HEARTBEAT_MS", 10_000)),
        number(env, "AGENTROUTER_SPOOL_MAX_BYTES", 256L << 20));
  }

  public ManagedSettings withHeartbeatInterval(Duration interval) {
    return new ManagedSettings(
        controlPlaneUrls, registrationToken, dataDir, snapshotKey, interval, spoolMaxBytes);
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

  @Override
  public String toString() {
    return "ManagedSettings[controlPlaneUrls="
        + controlPlaneUrls
        + ", dataDir="
        + dataDir
        + ", registrationToken="
        + (registrationToken == null ? "none" : "set")
        + ", snapshotKey="
        + (snapshotKey == null ? "generated" : "set")
        + "]";
  }
}
