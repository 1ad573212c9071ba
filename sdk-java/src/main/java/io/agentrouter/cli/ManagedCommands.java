package io.agentrouter.cli;

import io.agentrouter.cli.KeysCommands.Scope;
import io.agentrouter.proto.admin.v1.CreateProviderKeyRequest;
import io.agentrouter.proto.admin.v1.GetUsageRequest;
import io.agentrouter.proto.admin.v1.GetUsageResponse;
import io.agentrouter.proto.admin.v1.ListProviderKeysResponse;
import io.agentrouter.proto.admin.v1.ListRequestLogsRequest;
import io.agentrouter.proto.admin.v1.ListRequestLogsResponse;
import io.agentrouter.proto.admin.v1.ListRoutesResponse;
import io.agentrouter.proto.admin.v1.ProviderKey;
import io.agentrouter.proto.admin.v1.Route;
import io.agentrouter.proto.admin.v1.RouteTarget;
import io.agentrouter.proto.admin.v1.UsageGroupBy;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code provider-keys}, {@code routes}, {@code usage} and {@code logs}: managed-mode config. */
final class ManagedCommands {
  private ManagedCommands() {}

  // ---- provider keys ----

  @Command(name = "provider-keys", description = "BYOK provider keys of a project.")
  static final class ProviderKeys extends Group {}

  private static List<String> row(ProviderKey k) {
    return List.of(
        k.getProviderKeyId(),
        k.getProvider(),
        k.getName(),
        Output.orDash(k.getBaseUrl()),
        "..." + k.getLastFour(),
        Output.time(k.getCreatedAt()));
  }

  private static final List<String> PROVIDER_KEY_HEADERS =
      List.of("provider_key_id", "provider", "name", "upstream_url", "last_four", "created");

  @Command(name = "list", description = "List provider keys (secrets never shown).")
  static final class ProviderKeysList implements Runnable {
    private final RootCommand root;
    @Mixin Scope scope = new Scope();

    ProviderKeysList(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      List<ProviderKey> all =
          root.client()
              .providerKeys()
              .list(root.customer(scope.customer), root.project(scope.project));
      Output out = root.out();
      out.print(
          ListProviderKeysResponse.newBuilder().addAllProviderKeys(all).build(),
          () -> out.table(PROVIDER_KEY_HEADERS, all.stream().map(ManagedCommands::row).toList()));
    }
  }

  @Command(
      name = "create",
      description = {
        "Store a provider key. The secret is read from the terminal (hidden) or from stdin,",
        "never from the command line: echo \"$OPENAI_API_KEY\" | agentrouter provider-keys create ..."
      })
  static final class ProviderKeysCreate implements Runnable {
    private final RootCommand root;
    @Mixin Scope scope = new Scope();

    @Option(names = "--provider", required = true, description = "openai, anthropic, gemini, ...")
    String provider = "";

    @Option(names = "--name", required = true, description = "Key name.")
    String name = "";

    @Option(
        names = "--upstream-url",
        paramLabel = "URL",
        description = "Provider base URL (OpenAI-compatible providers, Azure, Ollama).")
    String upstreamUrl = "";

    ProviderKeysCreate(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      String secret = Secrets.read(root.ctx, "Provider secret: ");
      var request =
          CreateProviderKeyRequest.newBuilder()
              .setCustomerId(root.customer(scope.customer))
              .setProjectId(root.project(scope.project))
              .setProvider(provider)
              .setName(name)
              .setSecret(secret)
              .setBaseUrl(upstreamUrl)
              .build();
      ProviderKey k = root.client().providerKeys().create(request);
      Output out = root.out();
      out.print(k, () -> out.table(PROVIDER_KEY_HEADERS, List.of(row(k))));
    }
  }

  @Command(name = "delete", description = "Delete a provider key.")
  static final class ProviderKeysDelete implements Runnable {
    private final RootCommand root;
    @Mixin Scope scope = new Scope();

    @Parameters(paramLabel = "PROVIDER_KEY_ID")
    String id = "";

    ProviderKeysDelete(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      root.client()
          .providerKeys()
          .delete(root.customer(scope.customer), root.project(scope.project), id);
      root.out()
          .print(
              com.google.protobuf.Empty.getDefaultInstance(),
              () -> root.out().line("deleted provider key " + id));
    }
  }

  // ---- routes ----

  @Command(name = "routes", description = "Model aliases with weighted targets and fallbacks.")
  static final class Routes extends Group {}

  private static String targets(List<RouteTarget> ts) {
    if (ts.isEmpty()) {
      return "-";
    }
    List<String> parts = new ArrayList<>();
    for (RouteTarget t : ts) {
      String s = t.getModel();
      if (t.getWeight() != 0) {
        s += ";weight=" + t.getWeight();
      }
      if (!t.getProviderKeyId().isEmpty()) {
        s += ";provider-key=" + t.getProviderKeyId();
      }
      parts.add(s);
    }
    return String.join(", ", parts);
  }

  private static List<String> row(Route r) {
    return List.of(
        r.getRouteId(),
        r.getAlias(),
        targets(r.getTargetsList()),
        targets(r.getFallbacksList()),
        r.getFallbackOnList().isEmpty() ? "-" : String.join(",", r.getFallbackOnList()));
  }

  private static final List<String> ROUTE_HEADERS =
      List.of("route_id", "alias", "targets", "fallbacks", "fallback_on");

  @Command(name = "list", description = "List a project's routes.")
  static final class RoutesList implements Runnable {
    private final RootCommand root;
    @Mixin Scope scope = new Scope();

    RoutesList(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      List<Route> all =
          root.client().routes().list(root.customer(scope.customer), root.project(scope.project));
      Output out = root.out();
      out.print(
          ListRoutesResponse.newBuilder().addAllRoutes(all).build(),
          () -> out.table(ROUTE_HEADERS, all.stream().map(ManagedCommands::row).toList()));
    }
  }

  @Command(name = "get", description = "Show one route.")
  static final class RoutesGet implements Runnable {
    private final RootCommand root;
    @Mixin Scope scope = new Scope();

    @Parameters(paramLabel = "ROUTE_ID")
    String id = "";

    RoutesGet(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      Route r =
          root.client()
              .routes()
              .get(root.customer(scope.customer), root.project(scope.project), id);
      Output out = root.out();
      out.print(r, () -> out.table(ROUTE_HEADERS, List.of(row(r))));
    }
  }

  @Command(
      name = "create",
      description = "Create a route. Targets: MODEL[;weight=N][;provider-key=ID].")
  static final class RoutesCreate implements Runnable {
    private final RootCommand root;
    @Mixin Scope scope = new Scope();

    @Option(names = "--alias", required = true, description = "The model name clients ask for.")
    String alias = "";

    @Option(names = "--target", required = true, paramLabel = "TARGET", description = "Repeatable.")
    List<String> targets = new ArrayList<>();

    @Option(names = "--fallback", paramLabel = "TARGET", description = "Repeatable, in order.")
    List<String> fallbacks = new ArrayList<>();

    @Option(
        names = "--fallback-on",
        split = ",",
        paramLabel = "CLASS",
        description = "rate_limited, overloaded, timeout, connect, server, ...")
    List<String> fallbackOn = new ArrayList<>();

    @Option(names = "--timeout-ms", description = "Per-attempt upstream timeout.")
    int timeoutMs;

    RoutesCreate(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      var b =
          Route.newBuilder().setAlias(alias).addAllFallbackOn(fallbackOn).setTimeoutMs(timeoutMs);
      targets.forEach(t -> b.addTargets(target("--target", t)));
      fallbacks.forEach(t -> b.addFallbacks(target("--fallback", t)));
      Route r =
          root.client()
              .routes()
              .create(root.customer(scope.customer), root.project(scope.project), b.build());
      Output out = root.out();
      out.print(r, () -> out.table(ROUTE_HEADERS, List.of(row(r))));
    }
  }

  static RouteTarget target(String option, String spec) {
    String[] parts = spec.split(";");
    var t = RouteTarget.newBuilder().setModel(parts[0].strip());
    for (int i = 1; i < parts.length; i++) {
      String p = parts[i].strip();
      try {
        if (p.startsWith("weight=")) {
          t.setWeight(Integer.parseInt(p.substring("weight=".length())));
          continue;
        } else if (p.startsWith("provider-key=")) {
          t.setProviderKeyId(p.substring("provider-key=".length()));
          continue;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new CliException(
          ExitCodes.USAGE,
          option + ": '" + spec + "' (expected: MODEL[;weight=N][;provider-key=ID], N an integer)");
    }
    if (t.getModel().isEmpty()) {
      throw new CliException(
          ExitCodes.USAGE, option + ": '" + spec + "' (expected: a model first)");
    }
    return t.build();
  }

  @Command(name = "delete", description = "Delete a route.")
  static final class RoutesDelete implements Runnable {
    private final RootCommand root;
    @Mixin Scope scope = new Scope();

    @Parameters(paramLabel = "ROUTE_ID")
    String id = "";

    RoutesDelete(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      root.client().routes().delete(root.customer(scope.customer), root.project(scope.project), id);
      root.out()
          .print(
              com.google.protobuf.Empty.getDefaultInstance(),
              () -> root.out().line("deleted route " + id));
    }
  }

  // ---- usage and logs ----

  enum GroupBy {
    day,
    model,
    key
  }

  @Command(
      name = "usage",
      description = "Usage and cost of a project, grouped by day, model or key.")
  static final class Usage implements Runnable {
    private final RootCommand root;
    @Mixin Scope scope = new Scope();

    @Option(names = "--group-by", description = "day, model or key (default: ${DEFAULT-VALUE}).")
    GroupBy groupBy = GroupBy.day;

    @Option(names = "--since", paramLabel = "INSTANT", description = "e.g. 2026-11-01T00:00:00Z")
    @Nullable String since;

    @Option(names = "--until", paramLabel = "INSTANT")
    @Nullable String until;

    Usage(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      var b =
          GetUsageRequest.newBuilder()
              .setCustomerId(root.customer(scope.customer))
              .setProjectId(root.project(scope.project))
              .setGroupBy(
                  UsageGroupBy.valueOf(
                      "USAGE_GROUP_BY_" + groupBy.name().toUpperCase(Locale.ROOT)));
      if (since != null) {
        b.setStartTime(KeysCommands.timestamp("--since", since));
      }
      if (until != null) {
        b.setEndTime(KeysCommands.timestamp("--until", until));
      }
      GetUsageResponse r = root.client().usage().usage(b.build());
      Output out = root.out();
      out.print(
          r,
          () -> {
            out.table(
                List.of(
                    groupBy.name(),
                    "requests",
                    "errors",
                    "prompt_tokens",
                    "completion_tokens",
                    "cost_usd"),
                r.getRowsList().stream()
                    .map(
                        u ->
                            List.of(
                                u.getGroup(),
                                Long.toString(u.getRequests()),
                                Long.toString(u.getErrors()),
                                Long.toString(u.getPromptTokens()),
                                Long.toString(u.getCompletionTokens()),
                                Output.orDash(u.getCostUsd())))
                    .toList());
            out.line("total cost (USD): " + Output.orDash(r.getTotalCostUsd()));
          });
    }
  }

  @Command(name = "logs", description = "Request logs of a project, newest first.")
  static final class Logs implements Runnable {
    private final RootCommand root;
    @Mixin Scope scope = new Scope();

    @Option(names = "--status", description = "e.g. ok, error, 429.")
    String status = "";

    @Option(names = "--model", description = "Only this model.")
    String model = "";

    @Option(names = "--key-id", paramLabel = "ID", description = "Only this API key.")
    String keyId = "";

    @Option(names = "--since", paramLabel = "INSTANT")
    @Nullable String since;

    @Option(names = "--until", paramLabel = "INSTANT")
    @Nullable String until;

    @Option(names = "--limit", description = "Page size (server default when 0).")
    int limit;

    @Option(names = "--page-token", description = "Token from a previous page.")
    String pageToken = "";

    Logs(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      var b =
          ListRequestLogsRequest.newBuilder()
              .setCustomerId(root.customer(scope.customer))
              .setProjectId(root.project(scope.project))
              .setStatus(status)
              .setModel(model)
              .setKeyId(keyId)
              .setPageSize(limit)
              .setPageToken(pageToken);
      if (since != null) {
        b.setStartTime(KeysCommands.timestamp("--since", since));
      }
      if (until != null) {
        b.setEndTime(KeysCommands.timestamp("--until", until));
      }
      ListRequestLogsResponse r = root.client().usage().requestLogs(b.build());
      Output out = root.out();
      out.print(
          r,
          () -> {
            out.table(
                List.of(
                    "started",
                    "request_id",
                    "status",
                    "model",
                    "provider",
                    "tokens",
                    "cost_usd",
                    "latency_ms"),
                r.getRequestLogsList().stream()
                    .map(
                        l ->
                            List.of(
                                Output.time(l.getStartedAt()),
                                l.getRequestId(),
                                Integer.toString(l.getStatusCode())
                                    + (l.getErrorClass().isEmpty() ? "" : " " + l.getErrorClass()),
                                Output.orDash(l.getModelServed()),
                                Output.orDash(l.getProvider()),
                                l.getPromptTokens() + "/" + l.getCompletionTokens(),
                                Output.orDash(l.getCostUsd()),
                                Long.toString(l.getLatencyMs())))
                    .toList());
            if (!r.getNextPageToken().isEmpty()) {
              out.line("next page: --page-token " + r.getNextPageToken());
            }
          });
    }
  }

  /** Reads a secret without echoing it: the terminal's hidden prompt, else the first stdin line. */
  static final class Secrets {
    private Secrets() {}

    static String read(CliContext ctx, String prompt) {
      String s;
      if (ctx.console() != null) {
        char[] chars = ctx.console().readPassword(prompt);
        s = chars == null ? null : new String(chars);
      } else {
        try {
          s = ctx.stdinReader().readLine();
        } catch (IOException e) {
          throw new CliException(
              ExitCodes.USAGE, "cannot read the secret from stdin: " + e.getMessage(), e);
        }
      }
      if (s == null || s.isBlank()) {
        throw new CliException(
            ExitCodes.USAGE,
            "no secret given (expected: typed at the prompt or one line on stdin)");
      }
      return s.strip();
    }
  }
}
