package io.agentrouter.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * What an operator relies on in deploy/: every YAML parses; the Kubernetes manifests probe, size,
 * protect and scale each plane and only reference secrets; the compose file runs two control planes
 * on one database and data planes in two regions; no secret is committed.
 */
class DeployManifestsTest {

  private static final String HEALTH = "/internal/health";
  private static final Pattern PLACEHOLDER = Pattern.compile("|REPLACE_ME|change-me|<[^>]+>");

  private final DeployFiles files = DeployFiles.locate();

  // --- every file ------------------------------------------------------------------------

  @Test
  void everyYamlFileUnderDeployParses() {
    List<Path> yamls = files.files(".yaml", ".yml");

    assertThat(yamls).hasSizeGreaterThanOrEqualTo(8);
    for (Path yaml : yamls) {
      assertThat(DeployFiles.documents(yaml)).as("documents in %s", yaml).isNotEmpty();
    }
  }

  @Test
  void scriptsAreValidBash() throws Exception {
    List<Path> scripts = files.files(".sh");

    assertThat(scripts)
        .extracting(p -> p.getFileName().toString())
        .contains("up.sh", "down.sh", "assemble-runtime.sh");
    for (Path script : scripts) {
      Process bash =
          new ProcessBuilder("bash", "-n", script.toString()).redirectErrorStream(true).start();
      String output = new String(bash.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(bash.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(bash.exitValue()).as("bash -n %s: %s", script, output).isZero();
    }
    assertThat(files.deploy.resolve("local/up.sh")).isExecutable();
    assertThat(files.deploy.resolve("local/down.sh")).isExecutable();
  }

  @Test
  void noSecretValueIsCommitted() throws IOException {
    // Every Secret manifest holds placeholders only.
    for (Path yaml : files.files(".yaml", ".yml")) {
      for (JsonNode doc : DeployFiles.documents(yaml)) {
        if (!"Secret".equals(doc.path("kind").asText())) {
          continue;
        }
        for (String field : List.of("data", "stringData")) {
          doc.path(field)
              .properties()
              .forEach(
                  e ->
                      assertThat(e.getValue().asText())
                          .as("%s: Secret %s key %s", yaml, name(doc), e.getKey())
                          .matches(PLACEHOLDER));
        }
      }
    }
    // Env examples: anything named like a secret is empty or a placeholder.
    for (Path example : files.files(".env.example")) {
      env(example)
          .forEach(
              (key, value) -> {
                if (key.matches(".*(PASSWORD|KEY|TOKEN|SECRET).*")) {
                  assertThat(value).as("%s: %s", example, key).matches(PLACEHOLDER);
                }
              });
    }
    // Nothing anywhere looks like a real API key or private key.
    for (Path file : files.files(".yaml", ".yml", ".sh", ".example", ".md")) {
      String text = Files.readString(file);
      assertThat(text).as(file.toString()).doesNotContainPattern("sk-ar-[A-Za-z0-9]{16,}");
      assertThat(text).as(file.toString()).doesNotContain("-----BEGIN");
    }
  }

  // --- Kubernetes --------------------------------------------------------------------------

  @Test
  void kustomizationsListOnlyFilesThatExistAndForgetNoManifest() {
    List<Path> kustomizations =
        files.files("kustomization.yaml").stream()
            .filter(p -> p.startsWith(files.deploy.resolve("k8s")))
            .toList();
    assertThat(kustomizations).hasSizeGreaterThanOrEqualTo(2);

    for (Path kustomization : kustomizations) {
      JsonNode k = DeployFiles.single(kustomization);
      Path dir = kustomization.getParent();
      List<String> listed = new ArrayList<>();
      k.path("resources").forEach(r -> listed.add(r.asText()));
      k.path("patches").forEach(p -> listed.add(p.path("path").asText()));
      assertThat(listed).as("%s lists something", kustomization).isNotEmpty();
      for (String entry : listed) {
        Path target = dir.resolve(entry).normalize();
        assertThat(
                Files.isRegularFile(target)
                    || Files.isRegularFile(target.resolve("kustomization.yaml")))
            .as("%s lists %s, which exists", kustomization, entry)
            .isTrue();
      }
    }

    // In the base, every manifest is applied, except the placeholder Secrets.
    Path base = files.deploy.resolve("k8s/base");
    Set<String> listed = new HashSet<>();
    DeployFiles.single(base.resolve("kustomization.yaml"))
        .path("resources")
        .forEach(r -> listed.add(r.asText()));
    assertThat(files.files(".yaml").stream().filter(p -> p.getParent().equals(base)))
        .extracting(p -> p.getFileName().toString())
        .filteredOn(n -> !n.equals("kustomization.yaml"))
        .allSatisfy(
            n ->
                assertThat(listed.contains(n) || n.equals("secret.example.yaml"))
                    .as("%s is listed in the base's resources", n)
                    .isTrue());
    assertThat(listed).doesNotContain("secret.example.yaml");
  }

  @Test
  void everyDeploymentIsProbedOnHealthSizedAndRunsNonRootReadOnly() {
    List<JsonNode> deployments = k8s("Deployment");
    assertThat(deployments).hasSizeGreaterThanOrEqualTo(3);

    for (JsonNode deployment : deployments) {
      String name = name(deployment);
      JsonNode pod = deployment.path("spec").path("template").path("spec");
      assertThat(pod.path("securityContext").path("runAsNonRoot").asBoolean())
          .as("%s runAsNonRoot", name)
          .isTrue();
      assertThat(pod.path("securityContext").path("runAsUser").asInt())
          .as("%s runAsUser", name)
          .isPositive();
      Map<String, JsonNode> volumes = new HashMap<>();
      pod.path("volumes").forEach(v -> volumes.put(v.path("name").asText(), v));

      assertThat(pod.path("containers")).as("%s containers", name).isNotEmpty();
      for (JsonNode container : pod.path("containers")) {
        Set<String> ports = new HashSet<>();
        container
            .path("ports")
            .forEach(
                p -> {
                  ports.add(p.path("name").asText());
                  ports.add(p.path("containerPort").asText());
                });
        for (String probe : List.of("readinessProbe", "livenessProbe")) {
          JsonNode get = container.path(probe).path("httpGet");
          assertThat(get.path("path").asText()).as("%s %s path", name, probe).isEqualTo(HEALTH);
          assertThat(ports).as("%s %s port", name, probe).contains(get.path("port").asText());
        }
        JsonNode resources = container.path("resources");
        for (String bound : List.of("requests", "limits")) {
          for (String resource : List.of("cpu", "memory")) {
            assertThat(resources.path(bound).path(resource).asText())
                .as("%s %s.%s", name, bound, resource)
                .isNotBlank();
          }
        }
        JsonNode security = container.path("securityContext");
        assertThat(security.path("readOnlyRootFilesystem").asBoolean())
            .as("%s readOnlyRootFilesystem", name)
            .isTrue();
        assertThat(security.path("allowPrivilegeEscalation").asBoolean(true))
            .as("%s allowPrivilegeEscalation", name)
            .isFalse();
        assertThat(security.path("capabilities").path("drop").toString())
            .as("%s drops capabilities", name)
            .contains("ALL");

        // A read-only root needs writable mounts for the data dir and for /tmp.
        Map<String, String> mounts = new HashMap<>();
        container
            .path("volumeMounts")
            .forEach(m -> mounts.put(m.path("mountPath").asText(), m.path("name").asText()));
        for (String path : List.of("/var/lib/agentrouter", "/tmp")) {
          assertThat(mounts).as("%s mounts %s", name, path).containsKey(path);
          JsonNode volume = volumes.get(mounts.get(path));
          assertThat(volume).as("%s volume for %s", name, path).isNotNull();
          assertThat(volume.has("emptyDir") || volume.has("persistentVolumeClaim"))
              .as("%s volume for %s is an emptyDir or a PVC", name, path)
              .isTrue();
        }
        assertThat(
                settingNames(container).stream().filter(n -> n.startsWith("AGENTROUTER_")).toList())
            .as("%s settings", name)
            .isSubsetOf(DeployFiles.KNOWN_SETTINGS);
      }
      JsonNode annotations = deployment.path("spec").path("template").path("metadata");
      assertThat(annotations.path("annotations").path("prometheus.io/path").asText())
          .as("%s Prometheus path", name)
          .isEqualTo("/internal/metrics");
    }
  }

  @Test
  void controlPlaneRunsTwoReplicasUnderADisruptionBudgetWithSecretsByReference() {
    JsonNode cp =
        k8s("Deployment").stream()
            .filter(d -> component(d).equals("control-plane"))
            .findFirst()
            .orElseThrow();

    assertThat(cp.path("spec").path("replicas").asInt()).isGreaterThanOrEqualTo(2);
    assertThat(budgetsCovering(cp)).isNotEmpty();
    JsonNode container = cp.path("spec").path("template").path("spec").path("containers").get(0);
    Map<String, JsonNode> env = env(container);
    for (String secret : List.of("AGENTROUTER_MASTER_KEY", "AGENTROUTER_DB_PASSWORD")) {
      assertThat(env.get(secret)).as(secret).isNotNull();
      assertThat(env.get(secret).has("value")).as("%s has no literal value", secret).isFalse();
      assertThat(env.get(secret).path("valueFrom").has("secretKeyRef"))
          .as("%s comes from a Secret", secret)
          .isTrue();
    }
    assertThat(env).containsKeys("AGENTROUTER_DB_URL", "AGENTROUTER_DB_USER");
  }

  @Test
  void everyDataPlaneDeploymentHasAnAutoscalerAndADisruptionBudget() {
    List<JsonNode> dataPlanes =
        k8s("Deployment").stream().filter(d -> component(d).equals("data-plane")).toList();
    Set<String> regions = new HashSet<>();

    for (JsonNode dp : dataPlanes) {
      String name = name(dp);
      regions.add(dp.path("metadata").path("labels").path("agentrouter.io/region").asText());
      List<JsonNode> hpas =
          k8s("HorizontalPodAutoscaler").stream()
              .filter(
                  h ->
                      h.path("spec")
                          .path("scaleTargetRef")
                          .path("kind")
                          .asText()
                          .equals("Deployment"))
              .filter(h -> h.path("spec").path("scaleTargetRef").path("name").asText().equals(name))
              .toList();
      assertThat(hpas).as("HPA for %s", name).hasSize(1);
      JsonNode hpa = hpas.get(0).path("spec");
      assertThat(hpa.path("minReplicas").asInt())
          .as("%s minReplicas", name)
          .isGreaterThanOrEqualTo(2);
      assertThat(hpa.path("maxReplicas").asInt()).isGreaterThan(hpa.path("minReplicas").asInt());
      assertThat(budgetsCovering(dp)).as("PDB for %s", name).hasSize(1);

      Map<String, JsonNode> env =
          env(dp.path("spec").path("template").path("spec").path("containers").get(0));
      assertThat(env)
          .as("%s settings", name)
          .containsKeys(
              "AGENTROUTER_CONTROL_PLANE_URL",
              "AGENTROUTER_DATAPLANE_TOKEN",
              "AGENTROUTER_REDIS_URL",
              "AGENTROUTER_DATA_DIR");
      assertThat(env.get("AGENTROUTER_DATAPLANE_TOKEN").path("valueFrom").has("secretKeyRef"))
          .as("%s token from a Secret", name)
          .isTrue();
      assertThat(services())
          .as("a Service selects %s", name)
          .anySatisfy(s -> assertThat(selects(s.path("spec").path("selector"), dp)).isTrue());
    }
    assertThat(regions).hasSizeGreaterThanOrEqualTo(2).doesNotContain("");
  }

  @Test
  void everySecretTheDeploymentsReadIsDescribedInTheExample() {
    Set<String> described = new HashSet<>();
    for (JsonNode secret :
        DeployFiles.documents(files.deploy.resolve("k8s/base/secret.example.yaml"))) {
      secret
          .path("stringData")
          .fieldNames()
          .forEachRemaining(k -> described.add(name(secret) + "/" + k));
    }
    for (JsonNode deployment : k8s("Deployment")) {
      for (JsonNode container :
          deployment.path("spec").path("template").path("spec").path("containers")) {
        for (JsonNode e : env(container).values()) {
          JsonNode ref = e.path("valueFrom").path("secretKeyRef");
          if (!ref.isMissingNode()) {
            assertThat(described)
                .as(
                    "%s reads Secret %s key %s",
                    name(deployment), ref.path("name").asText(), ref.path("key").asText())
                .contains(ref.path("name").asText() + "/" + ref.path("key").asText());
          }
        }
      }
    }
  }

  // --- compose -----------------------------------------------------------------------------

  @Test
  void composeRunsTwoControlPlanesOnOneDatabaseWithOneMasterKey() {
    Map<String, JsonNode> services = composeServices();
    List<JsonNode> controlPlanes =
        services.values().stream()
            .filter(s -> s.path("image").asText().contains("control-plane"))
            .toList();

    assertThat(controlPlanes).hasSize(2);
    Set<String> dbUrls = new HashSet<>();
    Set<String> masterKeys = new HashSet<>();
    for (JsonNode cp : controlPlanes) {
      JsonNode env = cp.path("environment");
      dbUrls.add(env.path("AGENTROUTER_DB_URL").asText());
      masterKeys.add(env.path("AGENTROUTER_MASTER_KEY").asText());
      assertThat(cp.path("depends_on").path("postgres").path("condition").asText())
          .isEqualTo("service_healthy");
    }
    assertThat(dbUrls).hasSize(1);
    assertThat(dbUrls.iterator().next()).startsWith("jdbc:postgresql://postgres:");
    assertThat(masterKeys).hasSize(1);
    assertThat(masterKeys.iterator().next())
        .as("master key from .env, not inline")
        .startsWith("${");
  }

  @Test
  void composeRunsDataPlanesInTwoRegionsEachWithItsRedis() {
    Map<String, JsonNode> services = composeServices();
    Map<String, JsonNode> byRegion = new LinkedHashMap<>();
    services.values().stream()
        .filter(s -> s.path("image").asText().contains("data-plane"))
        .forEach(s -> byRegion.put(s.path("labels").path("io.agentrouter.region").asText(), s));

    assertThat(byRegion.keySet()).hasSizeGreaterThanOrEqualTo(2).doesNotContain("");
    Set<String> redisUrls = new HashSet<>();
    for (JsonNode dp : byRegion.values()) {
      JsonNode env = dp.path("environment");
      String redis = env.path("AGENTROUTER_REDIS_URL").asText();
      redisUrls.add(redis);
      String redisService = redis.replaceAll("^redis://([^:/]+).*$", "$1");
      assertThat(services).as("Redis service %s", redisService).containsKey(redisService);
      assertThat(dp.path("depends_on").path(redisService).path("condition").asText())
          .isEqualTo("service_healthy");
      assertThat(env.path("AGENTROUTER_CONTROL_PLANE_URL").asText()).startsWith("http://");
      assertThat(env.path("AGENTROUTER_DATAPLANE_TOKEN").asText()).startsWith("${");
      assertThat(volumeTargets(dp)).contains("/var/lib/agentrouter");
    }
    assertThat(redisUrls).as("one Redis per region").hasSameSizeAs(byRegion.keySet());
  }

  @Test
  void composeServicesAreHealthCheckedWaitOnConditionsAndKeepSecretsOutOfTheFile() {
    JsonNode compose = DeployFiles.single(files.deploy.resolve("compose/compose.yaml"));
    Set<String> declaredVolumes = new HashSet<>();
    compose.path("volumes").fieldNames().forEachRemaining(declaredVolumes::add);
    Map<String, String> example = env(files.deploy.resolve("compose/.env.example"));

    composeServices()
        .forEach(
            (name, service) -> {
              assertThat(service.path("healthcheck").path("test"))
                  .as("%s healthcheck", name)
                  .isNotEmpty();
              service
                  .path("depends_on")
                  .properties()
                  .forEach(
                      d ->
                          assertThat(d.getValue().path("condition").asText())
                              .as("%s waits on %s by condition", name, d.getKey())
                              .isIn("service_healthy", "service_completed_successfully"));
              service
                  .path("environment")
                  .properties()
                  .forEach(
                      e -> {
                        if (e.getKey().startsWith("AGENTROUTER_")) {
                          assertThat(DeployFiles.KNOWN_SETTINGS)
                              .as("%s sets %s", name, e.getKey())
                              .contains(e.getKey());
                        }
                        if (e.getKey().matches(".*(PASSWORD|MASTER_KEY|TOKEN).*")) {
                          assertThat(e.getValue().asText())
                              .as("%s %s", name, e.getKey())
                              .startsWith("${");
                        }
                      });
              for (String volume : volumeSources(service)) {
                assertThat(declaredVolumes).as("%s uses volume %s", name, volume).contains(volume);
              }
            });

    // Every variable the compose file interpolates is explained in .env.example.
    Matcher m = Pattern.compile("\\$\\{([A-Z0-9_]+)").matcher(compose.toString());
    Set<String> used = new HashSet<>();
    while (m.find()) {
      used.add(m.group(1));
    }
    assertThat(example.keySet()).containsAll(used);
  }

  // --- helpers -----------------------------------------------------------------------------

  private List<JsonNode> k8sDocs() {
    List<JsonNode> docs = new ArrayList<>();
    Path base = files.deploy.resolve("k8s/base");
    DeployFiles.single(base.resolve("kustomization.yaml"))
        .path("resources")
        .forEach(r -> docs.addAll(DeployFiles.documents(base.resolve(r.asText()))));
    return docs;
  }

  private List<JsonNode> k8s(String kind) {
    return k8sDocs().stream().filter(d -> d.path("kind").asText().equals(kind)).toList();
  }

  private List<JsonNode> services() {
    return k8s("Service");
  }

  private List<JsonNode> budgetsCovering(JsonNode deployment) {
    return k8s("PodDisruptionBudget").stream()
        .filter(p -> selects(p.path("spec").path("selector").path("matchLabels"), deployment))
        .toList();
  }

  /** Whether a label selector picks the Deployment's pods (and only matches if non-empty). */
  private static boolean selects(JsonNode matchLabels, JsonNode deployment) {
    JsonNode labels = deployment.path("spec").path("template").path("metadata").path("labels");
    if (matchLabels.isEmpty()) {
      return false;
    }
    for (Map.Entry<String, JsonNode> e : matchLabels.properties()) {
      if (!labels.path(e.getKey()).asText().equals(e.getValue().asText())) {
        return false;
      }
    }
    return true;
  }

  private Map<String, JsonNode> composeServices() {
    Map<String, JsonNode> services = new LinkedHashMap<>();
    DeployFiles.single(files.deploy.resolve("compose/compose.yaml"))
        .path("services")
        .properties()
        .forEach(e -> services.put(e.getKey(), e.getValue()));
    return services;
  }

  private static List<String> volumeTargets(JsonNode service) {
    List<String> targets = new ArrayList<>();
    service.path("volumes").forEach(v -> targets.add(v.asText().replaceAll("^[^:]*:", "")));
    return targets;
  }

  private static List<String> volumeSources(JsonNode service) {
    List<String> sources = new ArrayList<>();
    service
        .path("volumes")
        .forEach(
            v -> {
              String source = v.asText().split(":", 2)[0];
              if (!source.startsWith(".") && !source.startsWith("/")) {
                sources.add(source);
              }
            });
    return sources;
  }

  private static Map<String, JsonNode> env(JsonNode container) {
    Map<String, JsonNode> env = new LinkedHashMap<>();
    container.path("env").forEach(e -> env.put(e.path("name").asText(), e));
    return env;
  }

  private static List<String> settingNames(JsonNode container) {
    return new ArrayList<>(env(container).keySet());
  }

  private static Map<String, String> env(Path envFile) {
    Map<String, String> values = new LinkedHashMap<>();
    try {
      for (String line : Files.readAllLines(envFile)) {
        String l = line.strip();
        if (l.isEmpty() || l.startsWith("#")) {
          continue;
        }
        int eq = l.indexOf('=');
        values.put(l.substring(0, eq), l.substring(eq + 1));
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return values;
  }

  private static String name(JsonNode doc) {
    return doc.path("metadata").path("name").asText();
  }

  private static String component(JsonNode doc) {
    return doc.path("metadata").path("labels").path("app.kubernetes.io/component").asText();
  }
}
