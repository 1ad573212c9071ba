package io.agentrouter.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.agentrouter.cli.CliRunner.Run;
import io.agentrouter.controlplane.testing.ControlPlaneExtension;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Happy paths of the commands whose server side lands on other branches (provider keys, routes,
 * usage, request logs). On the sdk branch alone the control plane answers UNIMPLEMENTED and this
 * class fails; it is meant to pass once those services are merged.
 */
class ManagedCommandsIT {
  @RegisterExtension static final ControlPlaneExtension cp = new ControlPlaneExtension();
  @TempDir static Path home;

  static final ObjectMapper json = new ObjectMapper();
  static CliRunner cli;
  static String customer;
  static String project;

  @BeforeAll
  static void tenant() throws IOException {
    cli = new CliRunner(home);
    cli.env.put("AGENTROUTER_BASE_URL", cp.baseUrl());
    cli.env.put("AGENTROUTER_API_KEY", cp.adminKey());
    customer =
        ok(cli.run("customers", "create", "acme", "-o", "json")).path("customer_id").asText();
    project =
        ok(cli.run(
                "projects",
                "create",
                "web",
                "--customer",
                customer,
                "--region",
                "eu-west-1",
                "-o",
                "json"))
            .path("project_id")
            .asText();
  }

  static JsonNode ok(Run r) throws IOException {
    assertThat(r.code()).as("exit code; stderr: %s", r.err()).isZero();
    return json.readTree(r.out());
  }

  String[] scoped(String... args) {
    String[] all = new String[args.length + 4];
    System.arraycopy(args, 0, all, 0, args.length);
    all[args.length] = "--customer";
    all[args.length + 1] = customer;
    all[args.length + 2] = "--project";
    all[args.length + 3] = project;
    return all;
  }

  @Test
  void providerKeysTakeTheSecretFromStdinAndNeverShowIt() throws IOException {
    String secret = "sk-test-provider-secret-1234";
    Run created =
        cli.runWithStdin(
            secret + "\n",
            scoped(
                "provider-keys", "create", "--provider", "openai", "--name", "main", "-o", "json"));
    JsonNode k = ok(created);
    assertThat(k.path("last_four").asText()).isEqualTo("1234");
    assertThat(created.out() + created.err()).doesNotContain(secret);

    JsonNode list = ok(cli.run(scoped("provider-keys", "list", "-o", "json")));
    assertThat(list.path("provider_keys").get(0).path("provider").asText()).isEqualTo("openai");
    Run table = cli.run(scoped("provider-keys", "list"));
    assertThat(table.out())
        .containsPattern("openai\\s+main")
        .contains("...1234")
        .doesNotContain(secret);
  }

  @Test
  void routesAreCreatedAndListed() throws IOException {
    // Route targets must be catalog models served by one of the project's provider keys.
    ok(
        cli.runWithStdin(
            "sk-ant-test-secret-5678\n",
            scoped(
                "provider-keys",
                "create",
                "--provider",
                "anthropic",
                "--name",
                "claude",
                "-o",
                "json")));
    JsonNode r =
        ok(
            cli.run(
                scoped(
                    "routes",
                    "create",
                    "--alias",
                    "fast",
                    "--target",
                    "anthropic/claude-sonnet-4-5;weight=3",
                    "--fallback",
                    "anthropic/claude-haiku-4-5",
                    "--fallback-on",
                    "rate_limited,timeout",
                    "-o",
                    "json")));
    assertThat(r.path("alias").asText()).isEqualTo("fast");
    assertThat(r.path("targets").get(0).path("weight").asInt()).isEqualTo(3);

    JsonNode list = ok(cli.run(scoped("routes", "list", "-o", "json")));
    assertThat(list.path("routes").get(0).path("alias").asText()).isEqualTo("fast");
    assertThat(cli.run(scoped("routes", "list")).out())
        .containsPattern("fast\\s+anthropic/claude-sonnet-4-5;weight=3");
  }

  @Test
  void usageAndLogsAnswerForAFreshProject() throws IOException {
    JsonNode usage = ok(cli.run(scoped("usage", "--group-by", "model", "-o", "json")));
    assertThat(usage.path("rows").size()).isZero();
    Run table = cli.run(scoped("usage"));
    assertThat(table.code()).isZero();
    assertThat(table.out()).contains("total cost (USD)");

    JsonNode logs = ok(cli.run(scoped("logs", "--limit", "10", "-o", "json")));
    assertThat(logs.path("request_logs").size()).isZero();
  }
}
