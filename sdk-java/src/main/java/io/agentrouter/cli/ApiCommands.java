package io.agentrouter.cli;

import io.agentrouter.proto.inference.v1.PromptResponse;
import io.agentrouter.sdk.PromptOption;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code api prompt}: one prompt through the gateway (seed 000's {@code tare api prompt}). */
final class ApiCommands {
  private ApiCommands() {}

  @Command(name = "api", description = "Call the inference API.")
  static final class Api extends Group {}

  @Command(
      name = "prompt",
      description = {
        "Send a prompt and print the completion.",
        "Customer and project default to your oldest membership (resolved by the server)."
      })
  static final class Prompt implements Runnable {
    private final RootCommand root;

    @Parameters(paramLabel = "PROMPT", description = "The prompt text.")
    String prompt = "";

    @Option(names = "--model", description = "Model: bare, provider/model, or a route alias.")
    @Nullable String model;

    @Option(names = "--key-id", paramLabel = "ID", description = "Bind the call to this API key.")
    @Nullable String keyId;

    @Option(
        names = "--idempotency-key",
        paramLabel = "KEY",
        description = "Idempotency key (also makes the call safe to retry).")
    @Nullable String idempotencyKey;

    @Option(names = "--customer", paramLabel = "ID", description = "Customer (default: yours).")
    String customer = "";

    @Option(names = "--project", paramLabel = "ID", description = "Project (default: yours).")
    String project = "";

    Prompt(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      List<PromptOption> options = new ArrayList<>();
      if (model != null) {
        options.add(PromptOption.model(model));
      }
      if (keyId != null) {
        options.add(PromptOption.keyId(keyId));
      }
      if (idempotencyKey != null) {
        options.add(PromptOption.idempotencyKey(idempotencyKey));
      }
      PromptResponse r =
          root.client()
              .inference()
              .prompt(customer, project, prompt, options.toArray(PromptOption[]::new));
      Output out = root.out();
      out.print(
          r,
          () -> {
            out.line(r.getCompletion());
            root.ctx
                .err()
                .println(
                    "model "
                        + r.getModel()
                        + ", data plane "
                        + Output.orDash(r.getDataplaneId())
                        + ", tokens "
                        + r.getPromptTokens()
                        + " in / "
                        + r.getCompletionTokens()
                        + " out");
            root.ctx.err().flush();
          });
    }
  }
}
