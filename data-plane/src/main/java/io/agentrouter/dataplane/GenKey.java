package io.agentrouter.dataplane;

import io.agentrouter.common.keys.ApiKeys;
import java.io.PrintStream;
import java.security.SecureRandom;
import java.util.UUID;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * {@code gen-key [--pepper-env NAME]}: prints a fresh {@code sk-ar-} key, its id and, when a pepper
 * is available, the digest to put in a config file instead of the token.
 */
final class GenKey {
  private GenKey() {}

  static int run(
      String[] args, PrintStream out, PrintStream err, Function<String, @Nullable String> env) {
    String pepperEnv = "AGENTROUTER_API_KEY_PEPPER";
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--pepper-env") && i + 1 < args.length) {
        pepperEnv = args[++i];
      } else {
        err.println("unknown argument '" + args[i] + "' (expected: --pepper-env NAME)");
        return 2;
      }
    }
    ApiKeys.Generated key = ApiKeys.generate(UUID.randomUUID(), new SecureRandom());
    out.println("token:  " + key.token());
    out.println("id:     " + key.keyId());
    String pepper = env.apply(pepperEnv);
    if (pepper != null && !pepper.isBlank()) {
      byte[] bytes;
      try {
        bytes = io.agentrouter.dataplane.config.StandaloneConfigParser.decodePepper(pepper.strip());
      } catch (IllegalArgumentException e) {
        err.println(pepperEnv + " is not hex or base64");
        return 2;
      }
      out.println("digest: " + ApiKeys.digest(bytes, key.secret()));
    } else {
      out.println("(set " + pepperEnv + " to also print the digest for an id + digest key entry)");
    }
    out.println("The token is shown once; put it in the config file (token or token_env).");
    return 0;
  }
}
