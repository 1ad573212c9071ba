package io.agentrouter.cli;

import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Runs the CLI in-process through picocli's {@code execute}, with captured output. */
final class CliRunner {
  record Run(int code, String out, String err) {}

  final Path configHome;
  final Map<String, String> env = new HashMap<>();
  final List<Duration> slept = new ArrayList<>();

  CliRunner(Path configHome) {
    this.configHome = configHome;
    env.put("XDG_CONFIG_HOME", configHome.toString());
  }

  Run run(String... args) {
    return runWithStdin("", args);
  }

  Run runWithStdin(String stdin, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    var ctx =
        new CliContext(
            Map.copyOf(env),
            configHome.resolve("home"),
            new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
            new PrintWriter(out, true),
            new PrintWriter(err, true),
            null,
            slept::add);
    int code = Cli.create(ctx).execute(args);
    return new Run(code, out.toString(), err.toString());
  }
}
