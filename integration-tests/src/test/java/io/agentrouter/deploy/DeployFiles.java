package io.agentrouter.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/** The repository's deploy/ folder, its YAML files read with a real parser. */
final class DeployFiles {

  /**
   * The settings DESIGN.md §3 and §8 name, plus the standalone data plane's config file. A manifest
   * that sets any other AGENTROUTER_* variable sets something no plane reads.
   */
  static final Set<String> KNOWN_SETTINGS =
      Set.of(
          "AGENTROUTER_DATA_DIR",
          "AGENTROUTER_DB_URL",
          "AGENTROUTER_DB_USER",
          "AGENTROUTER_DB_PASSWORD",
          "AGENTROUTER_MASTER_KEY",
          "AGENTROUTER_HTTP_PORT",
          "AGENTROUTER_CONTROL_PLANE_URL",
          "AGENTROUTER_DATAPLANE_TOKEN",
          "AGENTROUTER_REDIS_URL",
          "AGENTROUTER_ALLOW_PRIVATE_UPSTREAMS",
          "AGENTROUTER_CONFIG_FILE");

  private static final ObjectMapper JSON = new ObjectMapper();

  final Path repo;
  final Path deploy;

  private DeployFiles(Path repo) {
    this.repo = repo;
    this.deploy = repo.resolve("deploy");
  }

  /** Finds the repository root from the module directory the tests run in. */
  static DeployFiles locate() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null) {
      if (Files.isDirectory(dir.resolve("deploy")) && Files.isRegularFile(dir.resolve("mvnw"))) {
        return new DeployFiles(dir);
      }
      dir = dir.getParent();
    }
    throw new IllegalStateException(
        "no deploy/ folder above " + Path.of("").toAbsolutePath() + " (expected: the repo root)");
  }

  /** Every file under deploy/ with one of the extensions, build output left out. */
  List<Path> files(String... extensions) {
    try (Stream<Path> walk = Files.walk(deploy)) {
      return walk.filter(Files::isRegularFile)
          .filter(p -> !isBuildOutput(deploy.relativize(p)))
          .filter(p -> Stream.of(extensions).anyMatch(e -> p.getFileName().toString().endsWith(e)))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static boolean isBuildOutput(Path relative) {
    for (Path segment : relative) {
      if (segment.toString().equals("target")) {
        return true;
      }
    }
    return false;
  }

  /**
   * All YAML documents of a file (a manifest may hold several, separated by ---), with anchors,
   * aliases and merge keys resolved as Compose and kubectl resolve them.
   */
  static List<JsonNode> documents(Path file) {
    try (Reader reader = Files.newBufferedReader(file)) {
      List<JsonNode> docs = new ArrayList<>();
      for (Object doc : new Yaml(new SafeConstructor(new LoaderOptions())).loadAll(reader)) {
        if (doc != null) {
          docs.add(JSON.valueToTree(doc));
        }
      }
      return docs;
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException("cannot parse " + file + ": " + e.getMessage(), e);
    }
  }

  static JsonNode single(Path file) {
    List<JsonNode> docs = documents(file);
    if (docs.size() != 1) {
      throw new IllegalStateException(file + " holds " + docs.size() + " documents (expected: 1)");
    }
    return docs.get(0);
  }
}
