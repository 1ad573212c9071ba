package io.agentrouter.cli;

import com.google.protobuf.Timestamp;
import io.agentrouter.proto.admin.v1.ApiKey;
import io.agentrouter.proto.admin.v1.CreateKeyRequest;
import io.agentrouter.proto.admin.v1.CreateKeyResponse;
import io.agentrouter.proto.admin.v1.KeyLimits;
import io.agentrouter.proto.admin.v1.ListKeysResponse;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code keys create|list|revoke}: a project's API keys. */
final class KeysCommands {
  private KeysCommands() {}

  static final String SHOWN_ONCE =
      "warning: this is the only time the secret is shown; store it now (it cannot be retrieved"
          + " again)";

  @Command(name = "keys", description = "Create, list and revoke API keys.")
  static final class Keys extends Group {}

  /** Options naming the project; default: the profile's, then the caller's default. */
  static final class Scope {
    @Option(names = "--customer", paramLabel = "ID", description = "Customer (default: yours).")
    @Nullable String customer;

    @Option(names = "--project", paramLabel = "ID", description = "Project (default: yours).")
    @Nullable String project;
  }

  @Command(name = "create", description = "Create an API key. The secret is shown once.")
  static final class Create implements Runnable {
    private final RootCommand root;

    @picocli.CommandLine.Mixin Scope scope = new Scope();

    @Option(names = "--name", required = true, description = "Key name.")
    String name = "";

    @Option(names = "--rpm", description = "Requests per minute (0: no limit).")
    int rpm;

    @Option(names = "--tpm", description = "Tokens per minute (0: no limit).")
    long tpm;

    @Option(names = "--max-concurrent", description = "Concurrent requests (0: no limit).")
    int maxConcurrent;

    @Option(names = "--monthly-budget-usd", paramLabel = "USD", description = "e.g. 25.00")
    String budget = "";

    @Option(
        names = "--allowed-model",
        paramLabel = "MODEL",
        description = "Allowed model (repeatable; none: all).")
    List<String> allowedModels = new ArrayList<>();

    @Option(
        names = "--expires-at",
        paramLabel = "INSTANT",
        description = "e.g. 2027-01-01T00:00:00Z")
    @Nullable String expiresAt;

    Create(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      var b =
          CreateKeyRequest.newBuilder()
              .setCustomerId(root.customer(scope.customer))
              .setProjectId(root.project(scope.project))
              .setName(name)
              .setMonthlyBudgetUsd(budget)
              .addAllAllowedModels(allowedModels);
      if (rpm != 0 || tpm != 0 || maxConcurrent != 0) {
        b.setLimits(
            KeyLimits.newBuilder()
                .setRequestsPerMinute(rpm)
                .setTokensPerMinute(tpm)
                .setMaxConcurrentRequests(maxConcurrent));
      }
      if (expiresAt != null) {
        b.setExpiresAt(timestamp("--expires-at", expiresAt));
      }
      CreateKeyResponse r = root.client().keys().create(b.build());
      Output out = root.out();
      out.print(
          r,
          () ->
              out.fields(
                  "key_id", r.getKey().getKeyId(),
                  "name", r.getKey().getName(),
                  "customer_id", r.getKey().getCustomerId(),
                  "project_id", r.getKey().getProjectId(),
                  "secret", r.getSecret()));
      root.ctx.err().println(SHOWN_ONCE);
      root.ctx.err().flush();
    }
  }

  @Command(name = "list", description = "List a project's API keys (never their secrets).")
  static final class ListKeys implements Runnable {
    private final RootCommand root;

    @picocli.CommandLine.Mixin Scope scope = new Scope();

    @Option(names = "--page-size", description = "Page size (server default when 0).")
    int pageSize;

    @Option(names = "--page-token", description = "Token from a previous page.")
    String pageToken = "";

    ListKeys(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      ListKeysResponse r =
          root.client()
              .keys()
              .list(
                  root.customer(scope.customer), root.project(scope.project), pageSize, pageToken);
      Output out = root.out();
      out.print(
          r,
          () -> {
            out.table(
                List.of("key_id", "name", "status", "last_four", "created", "expires"),
                r.getKeysList().stream().map(ListKeys::row).toList());
            if (!r.getNextPageToken().isEmpty()) {
              out.line("next page: --page-token " + r.getNextPageToken());
            }
          });
    }

    static List<String> row(ApiKey k) {
      return List.of(
          k.getKeyId(),
          k.getName(),
          Output.name(k.getStatus(), "KEY_STATUS_"),
          "..." + k.getLastFour(),
          Output.time(k.getCreatedAt()),
          Output.time(k.getExpiresAt()));
    }
  }

  @Command(name = "revoke", description = "Revoke an API key.")
  static final class Revoke implements Runnable {
    private final RootCommand root;

    @picocli.CommandLine.Mixin Scope scope = new Scope();

    @Parameters(paramLabel = "KEY_ID", description = "The key to revoke.")
    String keyId = "";

    Revoke(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      ApiKey k =
          root.client()
              .keys()
              .revoke(root.customer(scope.customer), root.project(scope.project), keyId);
      Output out = root.out();
      out.print(
          k,
          () ->
              out.line(
                  "revoked key "
                      + k.getKeyId()
                      + " ("
                      + k.getName()
                      + "); data planes stop accepting it within seconds"));
    }
  }

  static Timestamp timestamp(String option, String value) {
    try {
      Instant i = Instant.parse(value);
      return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
    } catch (DateTimeParseException e) {
      throw new CliException(
          ExitCodes.USAGE,
          option
              + ": '"
              + value
              + "' (expected: an ISO-8601 instant such as 2027-01-01T00:00:00Z)");
    }
  }
}
