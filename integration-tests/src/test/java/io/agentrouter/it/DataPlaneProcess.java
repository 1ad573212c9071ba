package io.agentrouter.it;

import static java.util.Objects.requireNonNull;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;

/**
 * The real data-plane jar as a child process, on the test's own JDK, with its output in a file. The
 * child is killed on {@link #close()} and, should the test JVM die first, by a shutdown hook.
 */
final class DataPlaneProcess implements AutoCloseable {
  /** Where the reactor packages the runnable jar, relative to {@code integration-tests}. */
  static final Path JAR = Path.of("..", "data-plane", "target", "agentrouter-data-plane.jar");

  private static final Pattern LISTENING = Pattern.compile("listening on port (\\d+)");

  private final Process process;
  private final Path output;
  private final Thread killer;
  private final int port;

  private DataPlaneProcess(Process process, Path output, Thread killer, int port) {
    this.process = process;
    this.output = output;
    this.killer = killer;
    this.port = port;
  }

  /**
   * Starts the jar with {@code jvmArgs} and {@code env} (the parent's {@code AGENTROUTER_*}
   * variables are not inherited) and waits until it listens.
   */
  static DataPlaneProcess start(
      List<String> jvmArgs, Map<String, String> env, Path output, Duration startTimeout)
      throws IOException, InterruptedException {
    Path jar = JAR.toAbsolutePath().normalize();
    if (!Files.isRegularFile(jar)) {
      throw new IllegalStateException(
          jar + " does not exist (expected: packaged by the reactor before integration-tests)");
    }
    String java =
        ProcessHandle.current()
            .info()
            .command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    List<String> cmd = new ArrayList<>();
    cmd.add(java);
    cmd.addAll(jvmArgs);
    cmd.add("-jar");
    cmd.add(jar.toString());
    Files.createDirectories(output.getParent());
    ProcessBuilder pb =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile());
    pb.environment().keySet().removeIf(k -> k.startsWith("AGENTROUTER_"));
    pb.environment().putAll(env);
    Process p = pb.start();
    Thread killer = new Thread(p::destroyForcibly, "kill-data-plane-" + p.pid());
    Runtime.getRuntime().addShutdownHook(killer);
    try {
      // Until it says on which port it listens, or exits.
      await("the data plane listening")
          .atMost(startTimeout)
          .pollInterval(Duration.ofMillis(100))
          .until(() -> LISTENING.matcher(read(output)).find() || !p.isAlive());
      Matcher m = LISTENING.matcher(read(output));
      if (m.find()) {
        return new DataPlaneProcess(p, output, killer, Integer.parseInt(m.group(1)));
      }
    } catch (ConditionTimeoutException e) {
      // Reported below with the process's output.
    } catch (RuntimeException e) {
      kill(p, killer);
      throw e;
    }
    kill(p, killer);
    throw new IllegalStateException(
        "the data plane did not start within "
            + startTimeout.toSeconds()
            + " s (exit: "
            + (p.isAlive() ? "still running" : p.exitValue())
            + "); its output:\n"
            + read(output));
  }

  int port() {
    return port;
  }

  long pid() {
    return process.pid();
  }

  boolean alive() {
    return process.isAlive();
  }

  /** Everything the child printed so far. */
  String output() {
    return read(output);
  }

  /**
   * A line of {@code /proc/<pid>/status} in kB, e.g. {@code VmHWM} (peak resident set) or {@code
   * VmRSS}; -1 where /proc is not available.
   */
  long procStatusKb(String field) {
    requireNonNull(field, "field");
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status"))) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
    return -1;
  }

  @Override
  public void close() {
    kill(process, killer);
  }

  private static void kill(Process p, Thread killer) {
    p.destroy();
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    try {
      Runtime.getRuntime().removeShutdownHook(killer);
    } catch (IllegalStateException shuttingDown) {
      // The hook runs anyway.
    }
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? new String(Files.readAllBytes(file), StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
