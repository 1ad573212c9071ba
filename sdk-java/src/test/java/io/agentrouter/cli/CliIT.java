package io.agentrouter.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.agentrouter.cli.CliRunner.Run;
import io.agentrouter.controlplane.testing.ControlPlaneExtension;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI in-process against a real control plane (fresh PostgreSQL database): the operator logs in
 * with the bootstrap key, builds a tenant, mints and revokes a key, manages data planes; every
 * error class ends as one stderr line and its exit code. Ordered: later steps use what earlier ones
 * made.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CliIT {
  @RegisterExtension static final ControlPlaneExtension cp = new ControlPlaneExtension();
  @TempDir static Path home;

  static final ObjectMapper json = new ObjectMapper();
  static CliRunner cli;
  static String customer;
  static String project;
  static String keyId;
  static String secret;
  static String dataplaneId;

  @BeforeAll
  static void setUp() {
    cli = new CliRunner(home);
  }

  static JsonNode ok(Run r) throws IOException {
    assertThat(r.code()).as("exit code; stderr: %s", r.err()).isZero();
    return json.readTree(r.out());
  }

  /** One line on stderr, the exit code, and no stack trace. */
  static void fails(Run r, int code, String message) {
    assertThat(r.code()).as("exit code; stderr: %s", r.err()).isEqualTo(code);
    assertThat(r.err().strip()).startsWith("error: ").contains(message).doesNotContain("\n");
    assertThat(r.err()).doesNotContain("\tat ");
    assertThat(r.out()).isEmpty();
  }

  static Run withKey(String key, String... args) {
    CliRunner other = new CliRunner(home.resolve("other-" + UUID.randomUUID()));
    other.env.put("AGENTROUTER_BASE_URL", cp.baseUrl());
    other.env.put("AGENTROUTER_API_KEY", key);
    return other.run(args);
  }

  @Test
  @Order(1)
  void loginReadsTheKeyFromStdinChecksItAndSavesA0600Profile() throws IOException {
    String admin = cp.adminKey();
    Run r = cli.runWithStdin(admin + "\n", "--base-url", cp.baseUrl(), "login");

    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("Logged in to " + cp.baseUrl()).contains("profile 'default'");
    assertThat(r.out() + r.err()).doesNotContain(admin);
    Path file = home.resolve("agentrouter/config.json");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
        .isEqualTo("rw-------");
    JsonNode profile = json.readTree(file.toFile()).path("profiles").path("default");
    assertThat(profile.path("base_url").asText()).isEqualTo(cp.baseUrl());
    assertThat(profile.path("api_key").asText()).isEqualTo(admin);
  }

  @Test
  @Order(2)
  void whoamiShowsTheOperatorAsTableAndJson() throws IOException {
    Run table = cli.run("whoami");
    assertThat(table.code()).as(table.err()).isZero();
    assertThat(table.out())
        .containsPattern("kind\\s+bootstrap_operator")
        .containsPattern("platform role\\s+operator")
        .containsPattern("control plane\\s+" + cp.baseUrl());

    JsonNode me = ok(cli.run("whoami", "-o", "json"));
    assertThat(me.path("principal").path("kind").asText())
        .isEqualTo("PRINCIPAL_KIND_BOOTSTRAP_OPERATOR");
    assertThat(me.path("principal").path("platform_role").asText())
        .isEqualTo("PLATFORM_ROLE_OPERATOR");
  }

  @Test
  @Order(3)
  void theOperatorCreatesACustomerProjectAndKey() throws IOException {
    customer =
        ok(cli.run("customers", "create", "acme", "--output", "json")).path("customer_id").asText();
    assertThat(customer).isNotBlank();
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
    assertThat(project).isNotBlank();
    assertThat(cli.run("projects", "list", "--customer", customer).out())
        .containsPattern("web\\s+eu-west-1");
    assertThat(
            cli.run(
                    "projects",
                    "update",
                    project,
                    "--customer",
                    customer,
                    "--monthly-budget-usd",
                    "250.5",
                    "--allowed-regions",
                    "eu-central-1, us-east-1")
                .out())
        .containsPattern("monthly_budget_usd\\s+250.5")
        .containsPattern("allowed_regions\\s+eu-central-1,us-east-1");
    Run zero =
        cli.run("projects", "update", project, "--customer", customer, "--monthly-budget-usd", "0");
    assertThat(zero.code()).isEqualTo(ExitCodes.USAGE);
    assertThat(zero.err()).contains("monthly_budget_usd").contains("0 is not a budget");
    assertThat(
            cli.run(
                    "projects",
                    "update",
                    project,
                    "--customer",
                    customer,
                    "--monthly-budget-usd",
                    "")
                .out())
        .containsPattern("monthly_budget_usd\\s+-");

    Run created =
        cli.run(
            "keys",
            "create",
            "--name",
            "ci",
            "--customer",
            customer,
            "--project",
            project,
            "-o",
            "json");
    JsonNode body = ok(created);
    secret = body.path("secret").asText();
    keyId = body.path("key").path("key_id").asText();
    assertThat(secret).startsWith("sk-ar-");
    assertThat(created.err()).contains("only time the secret is shown");

    Run list = cli.run("keys", "list", "--customer", customer, "--project", project);
    assertThat(list.code()).isZero();
    assertThat(list.out()).containsPattern(keyId + "\\s+ci\\s+active").doesNotContain(secret);
    JsonNode listed =
        ok(cli.run("keys", "list", "--customer", customer, "--project", project, "-o", "json"));
    assertThat(listed.path("keys").get(0).path("key_id").asText()).isEqualTo(keyId);
    assertThat(listed.toString()).doesNotContain(secret);
  }

  @Test
  @Order(4)
  void theEnvironmentKeyOverridesTheProfile() throws IOException {
    cli.env.put("AGENTROUTER_API_KEY", secret);
    try {
      JsonNode me = ok(cli.run("whoami", "-o", "json"));
      assertThat(me.path("credential").path("key_id").asText()).isEqualTo(keyId);
      assertThat(me.path("credential").path("project_id").asText()).isEqualTo(project);
    } finally {
      cli.env.remove("AGENTROUTER_API_KEY");
    }
  }

  @Test
  @Order(5)
  void dataplanesRegisterListUrlsAndDrain() throws IOException {
    Run reg =
        cli.run(
            "dataplanes",
            "register",
            "--name",
            "dp-eu",
            "--region",
            "eu-west-1",
            "--public-url",
            "https://dp-eu.example.com",
            "-o",
            "json");
    JsonNode r = ok(reg);
    dataplaneId = r.path("dataplane").path("dataplane_id").asText();
    assertThat(r.path("registration_token").asText()).startsWith("ar-dpreg-");
    assertThat(reg.err()).contains("shown once");

    Run list = cli.run("dataplanes", "list");
    assertThat(list.out())
        .containsPattern(
            dataplaneId + "\\s+dp-eu\\s+eu-west-1\\s+https://dp-eu.example.com\\s+pending");
    assertThat(list.out()).doesNotContain(r.path("registration_token").asText());

    // Only data planes with a recent heartbeat are handed out.
    cp.activateAndHeartbeat(r.path("registration_token").asText());
    Run url = withKey(secret, "dataplane-url");
    assertThat(url.code()).as(url.err()).isZero();
    assertThat(url.out().strip()).isEqualTo("https://dp-eu.example.com");
    JsonNode urls = ok(withKey(secret, "dataplane-urls", "-o", "json"));
    assertThat(urls.path("dataplanes")).hasSize(1);
    assertThat(urls.path("dataplanes").get(0).path("project_id").asText()).isEqualTo(project);

    fails(
        cli.run(
            "dataplanes",
            "register",
            "--name",
            "dp-eu",
            "--region",
            "eu-west-1",
            "--public-url",
            "https://x.example.com"),
        ExitCodes.SERVER_ERROR,
        "ALREADY_EXISTS");

    Run drained = cli.run("dataplanes", "drain", dataplaneId);
    assertThat(drained.out()).contains("is drained");
    fails(withKey(secret, "dataplane-url"), ExitCodes.UNAVAILABLE, "no data plane");
  }

  @Test
  @Order(6)
  void aRevokedKeyIsRefused() {
    Run revoked = cli.run("keys", "revoke", keyId, "--customer", customer, "--project", project);
    assertThat(revoked.code()).as(revoked.err()).isZero();
    assertThat(revoked.out()).contains("revoked key " + keyId);
    fails(withKey(secret, "whoami"), ExitCodes.AUTH, "UNAUTHENTICATED");
  }

  @Test
  @Order(7)
  void serverErrorsAreOneLineWithTheirExitCode() throws IOException {
    String projectKey =
        ok(cli.run(
                "keys",
                "create",
                "--name",
                "app",
                "--customer",
                customer,
                "--project",
                project,
                "-o",
                "json"))
            .path("secret")
            .asText();
    fails(withKey(projectKey, "dataplanes", "list"), ExitCodes.AUTH, "PERMISSION_DENIED");
    fails(
        cli.run(
            "keys",
            "revoke",
            UUID.randomUUID().toString(),
            "--customer",
            customer,
            "--project",
            project),
        ExitCodes.NOT_FOUND,
        "NOT_FOUND");
    fails(withKey("sk-ar-not-a-key", "whoami"), ExitCodes.AUTH, "UNAUTHENTICATED");
    fails(
        cli.run("projects", "create", "x", "--customer", customer, "--region", ""),
        ExitCodes.USAGE,
        "INVALID_ARGUMENT");
    fails(
        cli.run("--base-url", "http://127.0.0.1:1", "whoami"),
        ExitCodes.UNAVAILABLE,
        "cannot reach the control plane at http://127.0.0.1:1");
  }

  @Test
  @Order(8)
  void managedServicesAnswerOrExplainInOneLine() throws IOException {
    // A live data plane for the project's region, so Prompt gets past data plane selection.
    JsonNode reg =
        ok(
            cli.run(
                "dataplanes",
                "register",
                "--name",
                "dp-eu-2",
                "--region",
                "eu-west-1",
                "--public-url",
                "https://dp-eu-2.example.com",
                "-o",
                "json"));
    cp.activateAndHeartbeat(reg.path("registration_token").asText());
    // The project has no default model and the prompt names none: the server's reason, one line.
    fails(
        cli.run("api", "prompt", "hello", "--customer", customer, "--project", project),
        ExitCodes.SERVER_ERROR,
        "no default model");
    for (String[] listing :
        List.of(
            new String[] {"provider-keys", "list"},
            new String[] {"routes", "list"},
            new String[] {"usage"},
            new String[] {"logs"})) {
      List<String> args = new ArrayList<>(List.of(listing));
      args.addAll(List.of("--customer", customer, "--project", project, "-o", "json"));
      Run r = cli.run(args.toArray(String[]::new));
      assertThat(r.code()).as(String.join(" ", listing) + ": " + r.err()).isZero();
      assertThat(r.err()).as(String.join(" ", listing)).isEmpty();
    }
  }

  @Test
  @Order(9)
  void badInputIsAUsageErrorWithoutAStackTrace() {
    fails(cli.run("keys", "list", "--bogus"), ExitCodes.USAGE, "Unknown option: '--bogus'");
    fails(cli.run("keys", "revoke"), ExitCodes.USAGE, "Missing required parameter");
    fails(cli.run("--output", "yaml", "whoami"), ExitCodes.USAGE, "yaml");
    fails(cli.run("keys"), ExitCodes.USAGE, "Missing required subcommand");
    fails(cli.run("frobnicate"), ExitCodes.USAGE, "frobnicate");
    fails(
        cli.run(
            "keys",
            "create",
            "--customer",
            customer,
            "--project",
            project,
            "--name",
            "x",
            "--expires-at",
            "tomorrow"),
        ExitCodes.USAGE,
        "--expires-at: 'tomorrow'");
    fails(
        new CliRunner(home.resolve("empty")).run("whoami"),
        ExitCodes.USAGE,
        "no control plane URL");
    CliRunner loggedOut = new CliRunner(home.resolve("logged-out"));
    loggedOut.env.put("AGENTROUTER_BASE_URL", cp.baseUrl());
    fails(loggedOut.run("whoami"), ExitCodes.AUTH, "not logged in");
  }

  @Test
  @Order(10)
  void verbosePrintsTheStackTrace() {
    Run r = cli.run("--verbose", "--base-url", "http://127.0.0.1:1", "whoami");
    assertThat(r.code()).isEqualTo(ExitCodes.UNAVAILABLE);
    assertThat(r.err()).startsWith("error: cannot reach the control plane").contains("\tat ");
  }

  @Test
  @Order(11)
  void completionAndHelp() {
    Run completion = cli.run("completion", "bash");
    assertThat(completion.code()).isZero();
    assertThat(completion.out()).contains("complete -F").contains("dataplanes").contains("keys");
    assertThat(cli.run("--version").out()).startsWith("agentrouter ");
    Run help = cli.run("--help");
    assertThat(help.code()).isZero();
    assertThat(help.out()).contains("Exit codes:").contains("dataplane-urls").contains("login");

    Run keysCreate = cli.run("keys", "create", "--help");
    assertThat(keysCreate.code()).isZero();
    assertThat(keysCreate.out())
        .contains("Usage: agentrouter keys create")
        .contains("The secret is shown once")
        .contains("--output");
    Run keys = cli.run("keys", "-h");
    assertThat(keys.code()).isZero();
    assertThat(keys.out()).contains("Usage: agentrouter keys").contains("revoke");
  }

  @Test
  @Order(12)
  void theSecretIsInTheProfileFileAndNowhereElse() throws IOException {
    try (var files = Files.walk(home)) {
      var holding =
          files
              .filter(Files::isRegularFile)
              .filter(
                  f -> {
                    try {
                      return Files.readString(f).contains(cp.adminKey());
                    } catch (IOException e) {
                      return false;
                    }
                  })
              .toList();
      assertThat(holding).containsExactly(home.resolve("agentrouter/config.json"));
    }
  }
}
