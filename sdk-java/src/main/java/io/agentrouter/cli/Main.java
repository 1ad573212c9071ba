package io.agentrouter.cli;

import java.io.Console;
import java.io.PrintWriter;
import java.lang.reflect.Method;
import java.nio.charset.Charset;
import java.nio.file.Path;

/** The {@code agentrouter} command-line tool's entry point. */
public final class Main {
  private Main() {}

  /** Runs the CLI with the process's environment and streams, and exits with its exit code. */
  public static void main(String[] args) {
    // Libraries log through SLF4J; the CLI has no binding and must not print SLF4J's notice.
    System.setProperty("slf4j.internal.verbosity", "ERROR");
    Charset cs = Charset.defaultCharset();
    var ctx =
        new CliContext(
            System.getenv(),
            Path.of(System.getProperty("user.home")),
            System.in,
            new PrintWriter(System.out, true, cs),
            new PrintWriter(System.err, true, cs),
            terminal(),
            Thread::sleep);
    System.exit(Cli.create(ctx).execute(args));
  }

  /** The console only when attached to a terminal (JDK 22+ returns one for pipes too). */
  private static Console terminal() {
    Console c = System.console();
    if (c == null) {
      return null;
    }
    try {
      Method isTerminal = Console.class.getMethod("isTerminal");
      return (Boolean) isTerminal.invoke(c) ? c : null;
    } catch (ReflectiveOperationException e) {
      return c;
    }
  }
}
