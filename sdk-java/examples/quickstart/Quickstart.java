// A runnable first call with the AgentRouter Java SDK.
//
// Set AGENTROUTER_BASE_URL and AGENTROUTER_API_KEY, then, from the repository root:
//   java -cp sdk-java/target/agentrouter-cli.jar sdk-java/examples/quickstart/Quickstart.java "Say hello"
// (the CLI jar carries the SDK and its dependencies; see README.md next to this file).

import io.agentrouter.proto.inference.v1.PromptResponse;
import io.agentrouter.sdk.AgentRouterClient;
import io.agentrouter.sdk.AgentRouterException;
import io.agentrouter.sdk.PromptOption;
import java.util.ArrayList;
import java.util.List;

public class Quickstart {
  public static void main(String[] args) {
    String prompt = args.length > 0 ? String.join(" ", args) : "Say hello in five words.";
    String model = System.getenv().getOrDefault("AGENTROUTER_MODEL", "");

    // Base URL and API key come from AGENTROUTER_BASE_URL and AGENTROUTER_API_KEY.
    try (AgentRouterClient client = AgentRouterClient.builder().build()) {
      var me = client.identity().whoAmI();
      System.out.println(
          "signed in as "
              + me.getPrincipal().getPrincipalId()
              + " (default project: "
              + (me.getDefaultProjectId().isEmpty() ? "none" : me.getDefaultProjectId())
              + ")");

      try {
        System.out.println("data plane: " + client.inference().getDataplaneUrl().getUrl());
      } catch (AgentRouterException e) {
        System.out.println("data plane: none yet (" + e.code() + ": " + e.getMessage() + ")");
      }

      List<PromptOption> options = new ArrayList<>();
      if (!model.isEmpty()) {
        options.add(PromptOption.model(model));
      }
      // Empty customer and project ids: the server picks the caller's default project.
      PromptResponse r =
          client.inference().prompt("", "", prompt, options.toArray(PromptOption[]::new));
      System.out.println("completion: " + r.getCompletion());
      System.out.println(
          "model " + r.getModel() + ", tokens " + r.getPromptTokens() + "/" + r.getCompletionTokens());
    } catch (AgentRouterException e) {
      System.out.println("prompt failed: " + e.code() + ": " + e.getMessage());
      System.exit(1);
    }
  }
}
