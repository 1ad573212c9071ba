package io.agentrouter.cli;

import java.io.BufferedReader;
import java.io.Console;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * What the CLI may touch of its process: environment, home directory, streams, terminal, clock.
 * Main passes the real ones; tests pass a map, a temp directory and captured writers.
 */
record CliContext(
    Map<String, String> env,
    Path home,
    InputStream stdin,
    PrintWriter out,
    PrintWriter err,
    @Nullable Console console,
    Sleeper sleeper) {

  /** How the device-code flow waits between polls. */
  interface Sleeper {
    void sleep(Duration d) throws InterruptedException;
  }

  @Nullable String env(String name) {
    String v = env.get(name);
    return v == null || v.isBlank() ? null : v.strip();
  }

  /** {@code $XDG_CONFIG_HOME/agentrouter}, else {@code ~/.config/agentrouter}. */
  Path configDir() {
    String xdg = env("XDG_CONFIG_HOME");
    Path base = xdg != null ? Path.of(xdg) : home.resolve(".config");
    return base.resolve("agentrouter");
  }

  BufferedReader stdinReader() {
    return new BufferedReader(new InputStreamReader(stdin, StandardCharsets.UTF_8));
  }
}
