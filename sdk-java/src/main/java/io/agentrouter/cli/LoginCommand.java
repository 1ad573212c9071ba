package io.agentrouter.cli;

import io.agentrouter.cli.ConfigStore.Profile;
import io.agentrouter.proto.admin.v1.WhoAmIResponse;
import io.agentrouter.sdk.AgentRouterClient;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code agentrouter login}: checks a credential against the control plane (WhoAmI) and only then
 * saves it, with the base URL, in the profile file (mode 0600), the one place it is ever written.
 */
@Command(
    name = "login",
    description = {
      "Log in with an API key, or with an OIDC issuer's device-code flow.",
      "Without --api-key or --issuer the key is read from the terminal (hidden) or stdin."
    })
final class LoginCommand implements Runnable {
  private final RootCommand root;

  @Option(
      names = "--api-key",
      paramLabel = "KEY",
      description = "An API key (prefer the prompt or stdin: arguments show up in ps).")
  @Nullable String apiKey;

  @Option(names = "--issuer", paramLabel = "URL", description = "OIDC issuer for the device flow.")
  @Nullable String issuer;

  @Option(names = "--client-id", paramLabel = "ID", description = "OIDC client id (with --issuer).")
  @Nullable String clientId;

  @Option(names = "--scope", description = "OIDC scopes (default: ${DEFAULT-VALUE}).")
  String scope = "openid";

  LoginCommand(RootCommand root) {
    this.root = root;
  }

  @Override
  public void run() {
    String url = root.resolvedBaseUrl();
    String credential;
    Profile old = root.currentProfile();
    Profile updated;
    if (issuer != null) {
      if (apiKey != null) {
        throw new CliException(ExitCodes.USAGE, "--api-key and --issuer exclude each other");
      }
      if (clientId == null || clientId.isBlank()) {
        throw new CliException(ExitCodes.USAGE, "--issuer needs --client-id (the OIDC client id)");
      }
      DeviceCodeFlow.Tokens tokens = new DeviceCodeFlow(root.ctx).run(issuer, clientId, scope);
      credential = tokens.accessToken();
      updated = new Profile(url, null, credential, issuer, old.customerId(), old.projectId());
    } else {
      credential =
          apiKey != null ? apiKey.strip() : ManagedCommands.Secrets.read(root.ctx, "API key: ");
      updated = new Profile(url, credential, null, null, old.customerId(), old.projectId());
    }
    WhoAmIResponse me;
    try (AgentRouterClient client = root.newClient(url, credential)) {
      me = client.identity().whoAmI();
    }
    ConfigStore config = root.config();
    config.save(root.profileName(), updated);
    var p = me.getPrincipal();
    String who = p.getDisplayName().isEmpty() ? p.getPrincipalId() : p.getDisplayName();
    Output out = root.out();
    out.print(
        me,
        () ->
            out.line(
                "Logged in to "
                    + url
                    + " as "
                    + who
                    + " ("
                    + p.getPrincipalId()
                    + "); profile '"
                    + root.profileName()
                    + "' saved in "
                    + config.file()));
  }
}
