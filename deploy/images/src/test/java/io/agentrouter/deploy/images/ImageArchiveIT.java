package io.agentrouter.deploy.images;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarInputStream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Reads the image tarballs Jib wrote the way `docker load` / `podman load` would: the archive's
 * manifest, the image config, every layer checked against its diff id, then the layers unpacked
 * into a root file system from which the entrypoint's java is started in a chroot.
 */
class ImageArchiveIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path TARGET = Path.of(System.getProperty("images.dir", "target"));
  private static final Path REPO = Path.of(System.getProperty("repo.dir", "../.."));

  @TempDir Path root;

  @ParameterizedTest
  @ValueSource(strings = {"control-plane", "data-plane"})
  void archiveHasAManifestAConfigAndLayersMatchingTheirDiffIds(String plane) throws Exception {
    Image image = Image.read(TARGET.resolve("agentrouter-" + plane + "-image.tar"));

    assertThat(image.manifest.get("RepoTags").get(0).asText())
        .startsWith("agentrouter/" + plane + ":");
    assertThat(image.config.get("os").asText()).isEqualTo("linux");
    assertThat(image.config.get("architecture").asText()).isEqualTo("amd64");
    List<String> diffIds = new ArrayList<>();
    image.config.get("rootfs").get("diff_ids").forEach(id -> diffIds.add(id.asText()));
    assertThat(diffIds).hasSameSizeAs(image.layers);
    for (int i = 0; i < diffIds.size(); i++) {
      assertThat("sha256:" + sha256(image.layers.get(i)))
          .as("layer %d's uncompressed digest", i)
          .isEqualTo(diffIds.get(i));
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"control-plane", "data-plane"})
  void configRunsThePlaneJarAsANonRootUser(String plane) throws Exception {
    JsonNode config = Image.read(TARGET.resolve("agentrouter-" + plane + "-image.tar")).config;
    JsonNode container = config.get("config");
    List<String> entrypoint = new ArrayList<>();
    container.get("Entrypoint").forEach(arg -> entrypoint.add(arg.asText()));
    List<String> env = new ArrayList<>();
    container.get("Env").forEach(e -> env.add(e.asText()));
    String port = plane.equals("control-plane") ? "8080" : "8090";

    assertThat(entrypoint)
        .startsWith("/opt/java/bin/java")
        .endsWith("-jar", "/app/agentrouter-" + plane + ".jar");
    assertThat(container.get("User").asText()).isEqualTo("65532:65532");
    assertThat(container.get("ExposedPorts").has(port + "/tcp")).isTrue();
    assertThat(env)
        .contains("AGENTROUTER_DATA_DIR=/var/lib/agentrouter", "AGENTROUTER_HTTP_PORT=" + port);
  }

  @ParameterizedTest
  @ValueSource(strings = {"control-plane", "data-plane"})
  void layersHoldTheJreItsLibrariesAndTheRunnableJar(String plane) throws Exception {
    Image image = Image.read(TARGET.resolve("agentrouter-" + plane + "-image.tar"));
    image.unpack(root);

    Path java = root.resolve("opt/java/bin/java");
    assertThat(java).isRegularFile();
    assertThat(Files.getPosixFilePermissions(java)).contains(PosixFilePermission.OTHERS_EXECUTE);
    assertThat(root.resolve("lib64/ld-linux-x86-64.so.2")).isRegularFile();
    assertThat(root.resolve("lib/x86_64-linux-gnu/libc.so.6")).isRegularFile();
    assertThat(root.resolve("opt/java/lib/server/libjvm.so")).isRegularFile();
    assertThat(root.resolve("opt/java/lib/security/cacerts")).isRegularFile();
    assertThat(Files.readString(root.resolve("etc/passwd"))).contains(":65532:65532:");
    Path jar = root.resolve("app/agentrouter-" + plane + ".jar");
    assertThat(jar).isRegularFile();
    try (JarInputStream in = new JarInputStream(Files.newInputStream(jar))) {
      assertThat(in.getManifest().getMainAttributes().getValue("Main-Class")).isNotBlank();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"control-plane", "data-plane"})
  void entrypointJavaStartsFromTheUnpackedLayersAlone(String plane) throws Exception {
    assumeThat(canChroot())
        .as("unprivileged user namespaces (unshare -r) are needed to chroot into the image")
        .isTrue();
    Image.read(TARGET.resolve("agentrouter-" + plane + "-image.tar")).unpack(root);
    // The loader resolves $ORIGIN through /proc/self/exe, as it does in any container.
    Files.createDirectories(root.resolve("proc"));

    Process process =
        new ProcessBuilder(
                "unshare",
                "-r",
                "-p",
                "-m",
                "--fork",
                "--mount-proc=" + root.resolve("proc"),
                "chroot",
                root.toString(),
                "/opt/java/bin/java",
                "-version")
            .redirectErrorStream(true)
            .start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as(output).isZero();
    assertThat(output).contains("Runtime Environment");
  }

  @Test
  void dataPlaneEntrypointServesHealthFromTheImageAlone() throws Exception {
    assumeThat(canChroot())
        .as("unprivileged user namespaces (unshare -r) are needed to chroot into the image")
        .isTrue();
    Path example = REPO.resolve("data-plane/examples/standalone.yaml");
    assertThat(example).as("the data plane's standalone example config").isRegularFile();
    Image image = Image.read(TARGET.resolve("agentrouter-data-plane-image.tar"));
    image.unpack(root);
    Files.createDirectories(root.resolve("proc"));
    Files.createDirectories(root.resolve("etc/agentrouter"));
    Files.copy(example, root.resolve("etc/agentrouter/standalone.yaml"));
    List<String> entrypoint = new ArrayList<>();
    image.config.get("config").get("Entrypoint").forEach(arg -> entrypoint.add(arg.asText()));
    int port = freePort();

    // The example's API key comes from DEMO_KEY: make one with the image's own gen-key.
    List<String> genKey = new ArrayList<>(inChroot(entrypoint));
    genKey.add("gen-key");
    Process keygen = new ProcessBuilder(genKey).redirectErrorStream(true).start();
    String keygenOutput =
        new String(keygen.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(keygen.waitFor(60, TimeUnit.SECONDS)).isTrue();
    String token =
        keygenOutput
            .lines()
            .filter(l -> l.startsWith("token:"))
            .map(l -> l.substring("token:".length()).strip())
            .findFirst()
            .orElseThrow(() -> new AssertionError("no token in gen-key output: " + keygenOutput));

    ProcessBuilder dataPlane = new ProcessBuilder(inChroot(entrypoint));
    Map<String, String> env = dataPlane.environment();
    env.keySet().removeIf(k -> !k.equals("PATH"));
    env.put("AGENTROUTER_HTTP_PORT", Integer.toString(port));
    env.put("AGENTROUTER_DATA_DIR", "/var/lib/agentrouter");
    env.put("AGENTROUTER_CONFIG_FILE", "/etc/agentrouter/standalone.yaml");
    env.put("DEMO_KEY", token);
    env.put("OPENAI_API_KEY", "placeholder");
    Path log = root.resolve("tmp/data-plane.log");
    Process process = dataPlane.redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      HttpClient http = HttpClient.newHttpClient();
      URI health = URI.create("http://127.0.0.1:" + port + "/internal/health");
      await()
          .atMost(Duration.ofSeconds(90))
          .pollInterval(Duration.ofMillis(500))
          .ignoreExceptionsInstanceOf(IOException.class)
          .failFast("the data plane exited; its log:\n" + log, () -> !process.isAlive())
          .untilAsserted(
              () ->
                  assertThat(
                          http.send(
                                  HttpRequest.newBuilder(health).build(),
                                  HttpResponse.BodyHandlers.discarding())
                              .statusCode())
                      .isEqualTo(200));

      // The compose health check, run from the image as Docker would run it.
      List<String> probe =
          inChroot(
              List.of(
                  "/opt/java/bin/java",
                  "-XX:-UsePerfData",
                  "-cp",
                  "/app/classes",
                  "io.agentrouter.deploy.images.HealthCheck",
                  health.toString()));
      Process check = new ProcessBuilder(probe).redirectErrorStream(true).start();
      String checkOutput =
          new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(check.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(check.exitValue()).as(checkOutput).isZero();

      HttpResponse<String> models =
          http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/models"))
                  .header("Authorization", "Bearer " + token)
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(models.statusCode()).as(models.body()).isEqualTo(200);
    } finally {
      // unshare ignores SIGTERM while it waits: stop the data plane itself, as `docker stop`
      // would, and kill what is left (--kill-child takes the data plane along).
      process.descendants().forEach(ProcessHandle::destroy);
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  /** A command run in a fresh user, pid and mount namespace with the image as its root. */
  private List<String> inChroot(List<String> command) {
    List<String> full = new ArrayList<>();
    full.addAll(
        List.of(
            "unshare",
            "-r",
            "-p",
            "-m",
            "--kill-child",
            "--mount-proc=" + root.resolve("proc"),
            "chroot",
            root.toString()));
    full.addAll(command);
    return full;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  private static boolean canChroot() throws InterruptedException {
    try {
      Process p = new ProcessBuilder("unshare", "-r", "true").redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    }
  }

  private static String sha256(byte[] bytes) throws NoSuchAlgorithmException {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
  }

  /** An image archive as `docker load` reads it: manifest.json, the config, layers in order. */
  private record Image(JsonNode manifest, JsonNode config, List<byte[]> layers) {

    static Image read(Path tar) throws IOException {
      assertThat(tar).as("image tarball (built by ./mvnw -Pimages package)").isRegularFile();
      Map<String, byte[]> members = new LinkedHashMap<>();
      try (InputStream in = Files.newInputStream(tar)) {
        Tar.read(in, e -> members.put(e.name(), e.content()));
      }
      assertThat(members).containsKey("manifest.json");
      JsonNode manifests = JSON.readTree(members.get("manifest.json"));
      assertThat(manifests).hasSize(1);
      JsonNode manifest = manifests.get(0);
      byte[] config = members.get(manifest.get("Config").asText());
      assertThat(config).as("config named by the manifest").isNotNull();
      List<byte[]> layers = new ArrayList<>();
      for (JsonNode layer : manifest.get("Layers")) {
        byte[] compressed = members.get(layer.asText());
        assertThat(compressed).as("layer %s named by the manifest", layer).isNotNull();
        layers.add(Tar.readAll(new GZIPInputStream(new ByteArrayInputStream(compressed))));
      }
      return new Image(manifest, JSON.readTree(config), layers);
    }

    void unpack(Path root) throws IOException {
      for (byte[] layer : layers) {
        for (Tar.Entry entry : Tar.read(new ByteArrayInputStream(layer))) {
          Path path = root.resolve(entry.name()).normalize();
          assertThat(path.startsWith(root))
              .as("layer entry %s stays inside the root", entry.name())
              .isTrue();
          if (entry.isDirectory()) {
            Files.createDirectories(path);
          } else if (entry.isFile()) {
            Files.createDirectories(path.getParent());
            Files.write(path, entry.content());
            Files.setPosixFilePermissions(path, permissions(entry.mode()));
          }
        }
      }
    }

    private static Set<PosixFilePermission> permissions(int mode) {
      StringBuilder s = new StringBuilder();
      String rwx = "rwxrwxrwx";
      for (int bit = 8; bit >= 0; bit--) {
        s.append((mode & (1 << bit)) != 0 ? rwx.charAt(8 - bit) : '-');
      }
      return PosixFilePermissions.fromString(s.toString());
    }
  }
}
