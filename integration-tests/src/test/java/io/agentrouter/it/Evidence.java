package io.agentrouter.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Locale;

/**
 * The figures of the reliability and security suite ({@code *EvidenceIT}): each check prints one
 * line per figure and appends it to {@code target/evidence/figures.tsv}, the source of the table in
 * {@code docs/reliability.md}.
 *
 * <p>Two sizes: the CI size (the default) and the long size, chosen with {@code -Devidence=long},
 * which runs the volumes and durations the issue names.
 */
public final class Evidence {
  private static final Path FILE = Path.of("target", "evidence", "figures.tsv");

  private Evidence() {}

  /** True for the long run ({@code -Devidence=long}). */
  public static boolean longRun() {
    return "long".equalsIgnoreCase(System.getProperty("evidence", "ci"));
  }

  /** {@code ci} in CI-sized runs, {@code longRun} in long runs. */
  public static int size(int ci, int longRun) {
    return longRun() ? longRun : ci;
  }

  /**
   * Prints and records one figure.
   *
   * @param check the check's name as in {@code docs/reliability.md}, e.g. "Cut streams"
   * @param measured what was measured, with its unit and volume, e.g. "1000/1000 records exact"
   * @param target the figure the check must reach, e.g. "1000/1000"
   * @param met whether the measured figure reaches the target
   */
  public static void figure(String check, String measured, String target, boolean met) {
    String run = longRun() ? "long" : "ci";
    String line =
        String.join("\t", run, check, measured, target, met ? "met" : "NOT MET").replace('\n', ' ');
    System.out.println("EVIDENCE | " + line.replace("\t", " | "));
    try {
      Files.createDirectories(FILE.getParent());
      Files.writeString(
          FILE,
          line + "\n",
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A percentage with two decimals, e.g. {@code 99.95%}. */
  public static String percent(long part, long whole) {
    return String.format(Locale.ROOT, "%.2f%%", whole == 0 ? 0.0 : 100.0 * part / whole);
  }
}
