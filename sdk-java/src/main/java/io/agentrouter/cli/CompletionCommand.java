package io.agentrouter.cli;

import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code agentrouter completion bash}: prints a bash/zsh completion script. */
@Command(
    name = "completion",
    description = {
      "Print a shell completion script.",
      "bash: source <(agentrouter completion bash)",
      "zsh:  autoload -U +X bashcompinit && bashcompinit && source <(agentrouter completion bash)"
    })
final class CompletionCommand implements Runnable {
  @Spec CommandSpec spec;

  @Parameters(
      paramLabel = "SHELL",
      description = "bash (zsh via bashcompinit)",
      defaultValue = "bash")
  String shell = "bash";

  @Override
  public void run() {
    if (!shell.equals("bash") && !shell.equals("zsh")) {
      throw new CliException(ExitCodes.USAGE, "shell: '" + shell + "' (expected: bash or zsh)");
    }
    var root = spec.root().commandLine();
    spec.commandLine().getOut().print(AutoComplete.bash("agentrouter", root));
    spec.commandLine().getOut().flush();
  }
}
