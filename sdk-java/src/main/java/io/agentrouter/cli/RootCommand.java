package io.agentrouter.cli;

import io.agentrouter.cli.ConfigStore.Profile;
import io.agentrouter.proto.admin.v1.WhoAmIResponse;
import io.agentrouter.sdk.AgentRouterClient;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * {@code agentrouter}: the global options every subcommand inherits, and what commands share: the
 * profile, the resolved base URL and credential, one SDK client per run, and the output renderer.
 */
@Command(
    name = "agentrouter",
    mixinStandardHelpOptions = true,
    // --help and --version on every subcommand, not only the root.
    scope = ScopeType.INHERIT,
    versionProvider = Version.class,
    description = "Manage and call an AgentRouter gateway.",
    footerHeading = "%nExit codes:%n",
    footer = {
      "  0  ok",
      "  1  server error (internal, unimplemented, conflict)",
      "  2  usage error (bad flag, missing argument or configuration, rejected field)",
      "  3  not logged in, credential rejected, or not allowed",
      "  4  not found",
      "  5  control plane unavailable or timed out",
      "  6  rate limited or over budget"
    })
final class RootCommand implements Runnable {
  static final String PROFILE_ENV = "AGENTROUTER_PROFILE";

  final CliContext ctx;

  @Spec CommandSpec spec;

  @Option(
      names = {"-o", "--output"},
      scope = ScopeType.INHERIT,
      paramLabel = "table|json",
      description = "Output format (default: ${DEFAULT-VALUE}).",
      defaultValue = "table")
  Output.Format output = Output.Format.table;

  @Option(
      names = "--base-url",
      scope = ScopeType.INHERIT,
      paramLabel = "URL",
      description = "Control plane URL (default: $AGENTROUTER_BASE_URL, then the profile's).")
  @Nullable String baseUrl;

  @Option(
      names = "--profile",
      scope = ScopeType.INHERIT,
      paramLabel = "NAME",
      description = "Profile in the config file (default: $AGENTROUTER_PROFILE, then 'default').")
  @Nullable String profile;

  @Option(
      names = {"-v", "--verbose"},
      scope = ScopeType.INHERIT,
      description = "Print stack traces and request details on errors.")
  boolean verbose;

  private @Nullable AgentRouterClient client;
  private @Nullable WhoAmIResponse me;

  RootCommand(CliContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "Missing required subcommand");
  }

  ConfigStore config() {
    return new ConfigStore(ctx.configDir());
  }

  String profileName() {
    if (profile != null && !profile.isBlank()) {
      return profile;
    }
    String env = ctx.env(PROFILE_ENV);
    return env != null ? env : "default";
  }

  Profile currentProfile() {
    return config().profile(profileName());
  }

  Output out() {
    return new Output(ctx.out(), output);
  }

  /** --base-url, then AGENTROUTER_BASE_URL, then the profile; else a usage error. */
  String resolvedBaseUrl() {
    if (baseUrl != null && !baseUrl.isBlank()) {
      return baseUrl;
    }
    String env = ctx.env(AgentRouterClient.BASE_URL_ENV);
    if (env != null) {
      return env;
    }
    String fromProfile = currentProfile().baseUrl();
    if (fromProfile != null) {
      return fromProfile;
    }
    throw new CliException(
        ExitCodes.USAGE,
        "no control plane URL: pass --base-url, set AGENTROUTER_BASE_URL, or run 'agentrouter login"
            + " --base-url URL'");
  }

  /** AGENTROUTER_API_KEY, then the profile's API key, then its OIDC token; else null. */
  @Nullable String resolvedCredential() {
    String env = ctx.env(AgentRouterClient.API_KEY_ENV);
    if (env != null) {
      return env;
    }
    Profile p = currentProfile();
    return p.apiKey() != null ? p.apiKey() : p.accessToken();
  }

  AgentRouterClient client() {
    if (client == null) {
      String url = resolvedBaseUrl();
      String credential = resolvedCredential();
      if (credential == null) {
        throw new CliException(
            ExitCodes.AUTH,
            "not logged in (profile '"
                + profileName()
                + "'): run 'agentrouter login' or set AGENTROUTER_API_KEY");
      }
      client = newClient(url, credential);
    }
    return client;
  }

  AgentRouterClient newClient(String url, String credential) {
    try {
      return AgentRouterClient.builder().baseUrl(url).apiKey(credential).build();
    } catch (IllegalArgumentException | IllegalStateException e) {
      throw new CliException(ExitCodes.USAGE, e.getMessage(), e);
    }
  }

  WhoAmIResponse me() {
    if (me == null) {
      me = client().identity().whoAmI();
    }
    return me;
  }

  /** --customer, then the profile's default, then the caller's default membership. */
  String customer(@Nullable String flag) {
    if (flag != null && !flag.isBlank()) {
      return flag;
    }
    String p = currentProfile().customerId();
    if (p != null) {
      return p;
    }
    String d = me().getDefaultCustomerId();
    if (d.isEmpty()) {
      throw new CliException(
          ExitCodes.USAGE, "no customer: pass --customer ID (this identity has no memberships)");
    }
    return d;
  }

  /** --project, then the profile's default, then the caller's default membership. */
  String project(@Nullable String flag) {
    if (flag != null && !flag.isBlank()) {
      return flag;
    }
    String p = currentProfile().projectId();
    if (p != null) {
      return p;
    }
    String d = me().getDefaultProjectId();
    if (d.isEmpty()) {
      throw new CliException(
          ExitCodes.USAGE,
          "no project: pass --project ID (this identity has no project membership)");
    }
    return d;
  }

  void close() {
    if (client != null) {
      client.close();
      client = null;
    }
  }
}
