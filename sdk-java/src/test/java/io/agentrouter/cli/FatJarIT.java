package io.agentrouter.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.agentrouter.controlplane.testing.ControlPlaneExtension;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The shaded jar and the launcher script, run as real processes, as a user would. */
class FatJarIT {
  @RegisterExtension static final ControlPlaneExtension cp = new ControlPlaneExtension();
  @TempDir Path config;

  record Proc(int code, String out, String err) {}

  static final Path JAR = Path.of("target/agentrouter-cli.jar");

  Proc run(List<String> command, String stdin, Map<String, String> env)
      throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().remove("AGENTROUTER_BASE_URL");
    pb.environment().remove("AGENTROUTER_API_KEY");
    pb.environment().put("XDG_CONFIG_HOME", config.toString());
    pb.environment().putAll(env);
    Path out = Files.createTempFile(config, "out", ".txt");
    Path err = Files.createTempFile(config, "err", ".txt");
    pb.redirectOutput(out.toFile()).redirectError(err.toFile());
    Process p = pb.start();
    try (var in = p.getOutputStream()) {
      in.write(stdin.getBytes(StandardCharsets.UTF_8));
    }
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("finished within 60 s").isTrue();
    return new Proc(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  static List<String> java(String... args) {
    List<String> c = new ArrayList<>();
    c.add(ProcessHandle.current().info().command().orElse("java"));
    if (Runtime.version().feature() >= 23) {
      c.add("--sun-misc-unsafe-memory-access=allow"); // as bin/agentrouter does
    }
    c.add("-jar");
    c.add(JAR.toAbsolutePath().toString());
    c.addAll(List.of(args));
    return c;
  }

  @Test
  void theFatJarLogsInAndAnswersWhoamiAsJson() throws Exception {
    assertThat(JAR).exists();
    Proc login = run(java("--base-url", cp.baseUrl(), "login"), cp.adminKey() + "\n", Map.of());
    assertThat(login.code()).as(login.err()).isZero();
    assertThat(login.out()).contains("Logged in to " + cp.baseUrl());
    assertThat(login.err()).as("no library noise on stderr").isEmpty();

    Proc me = run(java("whoami", "-o", "json"), "", Map.of());
    assertThat(me.code()).as(me.err()).isZero();
    JsonNode body = new ObjectMapper().readTree(me.out());
    assertThat(body.path("principal").path("platform_role").asText())
        .isEqualTo("PLATFORM_ROLE_OPERATOR");
    assertThat(me.err()).isEmpty();
  }

  @Test
  void theFatJarReportsBadFlagsInOneLine() throws Exception {
    Proc p = run(java("keys", "list", "--bogus"), "", Map.of());
    assertThat(p.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(p.err().strip()).startsWith("error: Unknown option: '--bogus'").doesNotContain("\n");
    assertThat(p.out()).isEmpty();
  }

  @Test
  void theLauncherFindsAJdkAndRunsTheJar() throws Exception {
    Path javaHome =
        Path.of(ProcessHandle.current().info().command().orElseThrow()).getParent().getParent();
    Proc p =
        run(
            List.of("bin/agentrouter", "whoami", "-o", "json"),
            "",
            Map.of(
                "JAVA_HOME", javaHome.toString(),
                "AGENTROUTER_BASE_URL", cp.baseUrl(),
                "AGENTROUTER_API_KEY", cp.adminKey()));
    assertThat(p.code()).as(p.err()).isZero();
    assertThat(new ObjectMapper().readTree(p.out()).path("principal").path("kind").asText())
        .isEqualTo("PRINCIPAL_KIND_BOOTSTRAP_OPERATOR");
    assertThat(p.err()).as("no JVM or library noise on stderr").isEmpty();
  }

  @Test
  void theQuickstartExampleRunsFromTheCliJar() throws Exception {
    var admin =
        io.agentrouter.sdk.AgentRouterClient.builder()
            .baseUrl(cp.baseUrl())
            .apiKey(cp.adminKey())
            .build();
    String key;
    try (admin) {
      var c = admin.customers().create("quickstart");
      var p = admin.projects().create(c.getCustomerId(), "demo", "eu-west-1", "");
      key = admin.keys().create(c.getCustomerId(), p.getProjectId(), "quickstart").getSecret();
    }
    List<String> command =
        List.of(
            ProcessHandle.current().info().command().orElse("java"),
            "-cp",
            JAR.toAbsolutePath().toString(),
            "examples/quickstart/Quickstart.java",
            "Say hello");
    Proc p =
        run(command, "", Map.of("AGENTROUTER_BASE_URL", cp.baseUrl(), "AGENTROUTER_API_KEY", key));
    assertThat(p.out()).as(p.err()).contains("signed in as ").contains("data plane: ");
    // With the Prompt service merged and a data plane running this prints the completion; on its
    // own the control plane names why it cannot answer yet.
    assertThat(p.out()).containsPattern("completion: |prompt failed: [A-Z_]+: .+");
  }
}
