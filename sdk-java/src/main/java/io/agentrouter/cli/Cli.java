package io.agentrouter.cli;

import io.agentrouter.sdk.AgentRouterException;
import io.agentrouter.sdk.RateLimitedException;
import io.agentrouter.sdk.UnavailableException;
import io.grpc.StatusRuntimeException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/**
 * Builds the command tree (constructor injection: every command gets the root, nothing is static)
 * and the one place errors become a single stderr line and an exit code.
 */
final class Cli {
  private Cli() {}

  static CommandLine create(CliContext ctx) {
    RootCommand root = new RootCommand(ctx);
    CommandLine cl = new CommandLine(root);
    cl.addSubcommand("login", new LoginCommand(root));
    cl.addSubcommand("whoami", new WhoamiCommand(root));
    cl.addSubcommand(
        group(
            new TenancyCommands.Customers(),
            new TenancyCommands.CustomersCreate(root),
            new TenancyCommands.CustomersList(root)));
    cl.addSubcommand(
        group(
            new TenancyCommands.Projects(),
            new TenancyCommands.ProjectsCreate(root),
            new TenancyCommands.ProjectsList(root),
            new TenancyCommands.ProjectsUpdate(root)));
    cl.addSubcommand(
        group(
            new KeysCommands.Keys(),
            new KeysCommands.Create(root),
            new KeysCommands.ListKeys(root),
            new KeysCommands.Revoke(root)));
    cl.addSubcommand(group(new ApiCommands.Api(), new ApiCommands.Prompt(root)));
    cl.addSubcommand("dataplane-url", new DataplaneCommands.Url(root));
    cl.addSubcommand("dataplane-urls", new DataplaneCommands.Urls(root));
    cl.addSubcommand(
        group(
            new DataplaneCommands.Dataplanes(),
            new DataplaneCommands.Register(root),
            new DataplaneCommands.ListDataplanes(root),
            new DataplaneCommands.Drain(root)));
    cl.addSubcommand(
        group(
            new ManagedCommands.ProviderKeys(),
            new ManagedCommands.ProviderKeysList(root),
            new ManagedCommands.ProviderKeysCreate(root),
            new ManagedCommands.ProviderKeysDelete(root)));
    cl.addSubcommand(
        group(
            new ManagedCommands.Routes(),
            new ManagedCommands.RoutesList(root),
            new ManagedCommands.RoutesGet(root),
            new ManagedCommands.RoutesCreate(root),
            new ManagedCommands.RoutesDelete(root)));
    cl.addSubcommand("usage", new ManagedCommands.Usage(root));
    cl.addSubcommand("logs", new ManagedCommands.Logs(root));
    cl.addSubcommand("completion", new CompletionCommand());

    cl.setCaseInsensitiveEnumValuesAllowed(true);
    cl.setOut(ctx.out());
    cl.setErr(ctx.err());
    cl.setParameterExceptionHandler(Cli::usageError);
    cl.setExecutionExceptionHandler(
        (ex, commandLine, parseResult) -> failure(ex, commandLine.getErr(), root));
    cl.setExecutionStrategy(
        parseResult -> {
          try {
            return new CommandLine.RunLast().execute(parseResult);
          } finally {
            root.close();
          }
        });
    return cl;
  }

  private static CommandLine group(Object group, Object... leaves) {
    CommandLine g = new CommandLine(group);
    for (Object leaf : leaves) {
      g.addSubcommand(leaf);
    }
    return g;
  }

  private static int usageError(ParameterException ex, String[] args) {
    CommandLine c = ex.getCommandLine();
    PrintWriter err = c.getErr();
    err.println(
        "error: "
            + oneLine(ex.getMessage())
            + " (see '"
            + c.getCommandSpec().qualifiedName()
            + " --help')");
    err.flush();
    return ExitCodes.USAGE;
  }

  static int failure(Exception ex, PrintWriter err, RootCommand root) {
    int code;
    String message;
    if (ex instanceof AgentRouterException a) {
      code = ExitCodes.of(a.code());
      message = oneLine(a.getMessage()) + " (" + a.code() + ")";
      if (a instanceof UnavailableException
          && a.getCause() instanceof StatusRuntimeException s
          && s.getStatus().getCause() != null) {
        // A transport failure (refused, reset, TLS), not an answer of the server.
        message = "cannot reach the control plane at " + baseUrlForMessage(root) + ": " + message;
      }
      if (a instanceof RateLimitedException r && r.retryAfter() != null) {
        message += "; retry after " + r.retryAfter().toSeconds() + "s";
      }
    } else if (ex instanceof CliException c) {
      code = c.exitCode();
      message = oneLine(c.getMessage());
    } else if (ex instanceof ParameterException p) {
      code = ExitCodes.USAGE;
      message = oneLine(p.getMessage());
    } else {
      code = ExitCodes.SERVER_ERROR;
      message =
          oneLine(String.valueOf(ex.getMessage())) + " (" + ex.getClass().getSimpleName() + ")";
    }
    err.println("error: " + message);
    if (root.verbose) {
      ex.printStackTrace(err);
    }
    err.flush();
    return code;
  }

  private static String baseUrlForMessage(RootCommand root) {
    try {
      return root.resolvedBaseUrl();
    } catch (CliException e) {
      return "(unknown)";
    }
  }

  /**
   * One line, with anything shaped like a credential masked: picocli echoes unmatched arguments,
   * and a mistyped {@code --api-key} flag must not print the key.
   */
  static String oneLine(String s) {
    if (s == null) {
      return "";
    }
    return s.strip()
        .replaceAll("\\s*\\R\\s*", "; ")
        .replaceAll("sk-ar-[A-Za-z0-9._~-]+", "sk-ar-***")
        .replaceAll("eyJ[A-Za-z0-9_-]*\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]*", "eyJ***");
  }
}
