package io.agentrouter.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.agentrouter.common.config.ApiKeyPepper;
import io.agentrouter.common.config.ConfigSnapshot;
import io.agentrouter.common.keys.ApiKeys;
import io.agentrouter.dataplane.config.ConfigException;
import io.agentrouter.dataplane.config.ConfigHolder;
import io.agentrouter.dataplane.config.FileConfigSource;
import io.agentrouter.dataplane.config.RuntimeConfig;
import io.agentrouter.dataplane.config.StandaloneConfigParser;
import io.agentrouter.dataplane.provider.ProviderTranslators;
import io.agentrouter.dataplane.provider.ProviderType;
import io.agentrouter.dataplane.provider.openai.OpenAiTranslator;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The standalone file format, validation, reloads and the key generator. */
class ConfigTest {
  static final ApiKeyPepper PEPPER = ApiKeyPepper.of(TestGateway.PEPPER);
  final ProviderTranslators translators = new ProviderTranslators(DataPlane.defaultTranslators());

  @Test
  void theCommittedExampleIsValid() throws Exception {
    byte[] yaml = Files.readAllBytes(Path.of("examples/standalone.yaml"));
    Map<String, String> env = Map.of("OPENAI_API_KEY", "sk-x", "DEMO_KEY", TestGateway.newKey());
    ConfigSnapshot s = new StandaloneConfigParser(env::get, PEPPER).parse(yaml, "standalone.yaml");
    RuntimeConfig rc = RuntimeConfig.compile(s, translators);
    assertThat(rc.lookup("demo", "smart-default").targets()).hasSize(2);
    assertThat(rc.dataplaneId()).isEqualTo("dp-local");
  }

  @Test
  void jsonWorksAsWellAsYaml() {
    ConfigSnapshot s =
        parse(
            "{\"providers\": [{\"name\": \"a\", \"type\": \"openai\", \"base_url\": \"http://x/v1\"}],"
                + " \"models\": [{\"provider\": \"a\", \"model\": \"m\"}], \"projects\": [{\"id\": \"p\"}]}");
    assertThat(RuntimeConfig.compile(s, translators).lookup("p", "m")).isNotNull();
  }

  @Test
  void providersThisBuildCannotServeFailValidationClearly() {
    ConfigSnapshot s =
        parse(
            """
            providers: [{name: claude, type: anthropic, base_url: "https://api.anthropic.com"}]
            """);
    ProviderTranslators openAiOnly =
        new ProviderTranslators(Map.of(ProviderType.OPENAI, new OpenAiTranslator()));
    assertThatThrownBy(() -> RuntimeConfig.compile(s, openAiOnly))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("provider 'claude' has type 'anthropic'")
        .hasMessageContaining("supported: openai");
  }

  @Test
  void everyProblemIsReportedWithWhereItIs() {
    assertThatThrownBy(
            () ->
                parse(
                    """
                    providers: [{name: a, type: openai}]
                    routes: [{alias: x, targets: [], fallback_on: [sometimes]}]
                    keys: [{token: "sk-ar-nopeSecretSecretSecret", project: p, colour: red}]
                    """))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("providers[0] lacks 'base_url'")
        .hasMessageContaining("error class 'sometimes' is unknown")
        .hasMessageContaining("keys[0] has unknown field 'colour'")
        .hasMessageContaining("not a well-formed sk-ar- key")
        .hasMessageNotContaining("SecretSecret");
    assertThatThrownBy(
            () ->
                RuntimeConfig.compile(
                    parse(
                        """
                        providers: [{name: a, type: openai, base_url: "http://x/v1"}]
                        models: [{provider: a, model: m}]
                        routes: [{alias: r, targets: [{provider: a, model: nope}]}]
                        projects: [{id: p, default_model: missing}]
                        """),
                    translators))
        .hasMessageContaining(
            "route 'r' targets 'a/nope', which is not in the catalog (known: [a/m])")
        .hasMessageContaining("default model 'missing'");
  }

  @Test
  void keysMayBeGivenAsIdAndDigest() {
    ApiKeys.Generated k =
        ApiKeys.generate(java.util.UUID.randomUUID(), new java.security.SecureRandom());
    String digest = ApiKeys.digest(TestGateway.PEPPER, k.secret());
    ConfigSnapshot s =
        new StandaloneConfigParser(
                Map.of("PEP", HexFormat.of().formatHex(TestGateway.PEPPER))::get,
                ApiKeyPepper.of(new byte[32]))
            .parse(
                """
                api_key_pepper_env: PEP
                projects: [{id: p}]
                keys: [{id: "%s", digest: "%s", project: p}]
                """
                    .formatted(k.keyId(), digest)
                    .getBytes(StandardCharsets.UTF_8),
                "t.yaml");
    assertThat(s.keys().get(0).digest()).isEqualTo(digest);
    assertThat(s.pepper()).isEqualTo(PEPPER);
  }

  @Test
  void aChangedFileIsReloadedAndABrokenEditKeepsTheOldConfig(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("dp.yaml");
    Files.writeString(file, "version: v1\nprojects: [{id: p}]\n");
    ConfigHolder holder = new ConfigHolder(translators);
    CopyOnWriteArrayList<String> failures = new CopyOnWriteArrayList<>();
    try (FileConfigSource source =
        new FileConfigSource(
            file,
            new StandaloneConfigParser(Map.<String, String>of()::get, PEPPER),
            Duration.ofMillis(20),
            failures::add)) {
      source.start(holder);
      assertThat(holder.current().version()).isEqualTo("v1");
      Files.writeString(file, "version: v2\nprojects: [{id: p}, {id: q}]\n");
      Files.setLastModifiedTime(
          file, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 2000));
      await().until(() -> holder.current().version().equals("v2"));
      Files.writeString(file, "version: v3\nprojects: [{id: p\n");
      Files.setLastModifiedTime(
          file, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 4000));
      await().until(() -> !failures.isEmpty());
      assertThat(holder.current().version()).isEqualTo("v2");
      assertThat(failures.get(0)).contains("not valid YAML or JSON").contains("line");
    }
  }

  @Test
  void genKeyPrintsATokenAndItsDigest() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int code =
        GenKey.run(
            new String[0],
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            Map.of("AGENTROUTER_API_KEY_PEPPER", HexFormat.of().formatHex(TestGateway.PEPPER))
                ::get);
    assertThat(code).isZero();
    String text = out.toString(StandardCharsets.UTF_8);
    String token =
        text.lines()
            .filter(l -> l.startsWith("token:"))
            .findFirst()
            .orElseThrow()
            .substring(6)
            .strip();
    String digest =
        text.lines()
            .filter(l -> l.startsWith("digest:"))
            .findFirst()
            .orElseThrow()
            .substring(7)
            .strip();
    ApiKeys.Parsed parsed = ApiKeys.parse(token);
    assertThat(parsed).isNotNull();
    assertThat(ApiKeys.digest(TestGateway.PEPPER, parsed.secret())).isEqualTo(digest);
  }

  private static ConfigSnapshot parse(String yaml) {
    return new StandaloneConfigParser(Map.<String, String>of()::get, PEPPER)
        .parse(yaml.getBytes(StandardCharsets.UTF_8), "t.yaml");
  }
}
