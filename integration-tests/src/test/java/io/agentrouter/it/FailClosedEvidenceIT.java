package io.agentrouter.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import io.agentrouter.proto.dataplane.v1.DataplaneSnapshot;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Auth fails closed: a managed data plane whose persisted snapshot is missing, truncated, garbled,
 * sealed with another key, or opens but lacks the key material (no keys, no pepper), restarted
 * while no control plane is reachable, refuses every request (503 or 401, in OpenAI's error shape),
 * valid keys included, and forwards none to the provider.
 *
 * <p>The snapshot is first made for real: the data plane registers with a control plane, receives
 * the tenant's config with a working key, serves it, and seals it into its data dir. Then the
 * control plane stops and each variant restarts the data plane on a copy of that data dir.
 */
@ExtendWith(SecretWatch.class)
class FailClosedEvidenceIT {
  private static final String CHECK = "Auth fails closed";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final byte[] MAGIC = "ARSNAP1\n".getBytes(StandardCharsets.US_ASCII);

  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  @Test
  void aDataPlaneWithoutATrustworthySnapshotRefusesEveryRequestAndForwardsNone() throws Exception {
    int perVariant = Evidence.size(60, 1_000);
    try (Planes planes = Planes.start();
        FakeOpenAi openAi = FakeOpenAi.start()) {
      Planes.Tenant tenant =
          planes.tenant("initech", openAi.baseUrl(), "smart", "openai/gpt-4o-mini");
      Planes.Registration reg = planes.register("dp-fail-closed");
      Path dir = planes.newDir("dp");
      ManagedDataPlane dp = planes.startDataPlane(reg, dir, reg.token());
      Planes.Key key = planes.createKey(tenant, "valid", null);
      await("the key works on the data plane")
          .atMost(Duration.ofSeconds(60))
          .pollInterval(Duration.ofMillis(100))
          .until(() -> send(dp, key.secret(), false).statusCode() == 200);
      Path snapshot = dir.resolve("snapshot.bin");
      await("the snapshot is sealed to disk")
          .atMost(Duration.ofSeconds(30))
          .until(() -> Files.exists(snapshot) && Files.size(snapshot) > 0);
      planes.stopControlPlane();
      dp.close();
      byte[] sealed = Files.readAllBytes(snapshot);
      byte[] dpKey =
          Base64.getDecoder()
              .decode(
                  Files.readString(dir.resolve("dataplane.key"), StandardCharsets.US_ASCII)
                      .strip());
      DataplaneSnapshot good = open(sealed, dpKey);
      assertThat(good.getKeysCount()).as("keys in the real snapshot").isPositive();
      openAi.reset();

      Map<String, UnaryOperator<byte[]>> variants = new LinkedHashMap<>();
      variants.put("no snapshot", b -> null);
      variants.put("truncated to half", b -> Arrays.copyOf(b, b.length / 2));
      variants.put("truncated to the header", b -> Arrays.copyOf(b, MAGIC.length + 4));
      variants.put(
          "one ciphertext byte flipped",
          b -> {
            byte[] c = b.clone();
            c[c.length / 2] ^= 0x01;
            return c;
          });
      variants.put(
          "header garbled",
          b -> {
            byte[] c = b.clone();
            c[0] = 'X';
            return c;
          });
      variants.put(
          "sealed with another key",
          b -> {
            byte[] other = new byte[32];
            new SecureRandom().nextBytes(other);
            return seal(good, other);
          });
      variants.put("opens, no keys", b -> seal(good.toBuilder().clearKeys().build(), dpKey));
      variants.put(
          "opens, no pepper",
          b ->
              seal(
                  good.toBuilder().setApiKeyPepper(com.google.protobuf.ByteString.EMPTY).build(),
                  dpKey));

      Map<String, Map<Integer, Integer>> statuses = new LinkedHashMap<>();
      int requests = 0;
      int refused = 0;
      int validKeyRequests = 0;
      int badShape = 0;
      long t0 = System.nanoTime();
      for (Map.Entry<String, UnaryOperator<byte[]>> v : variants.entrySet()) {
        Path copy = planes.newDir("variant");
        try (Stream<Path> files = Files.list(dir)) {
          for (Path f : files.filter(Files::isRegularFile).toList()) {
            Files.copy(f, copy.resolve(f.getFileName()));
          }
        }
        byte[] altered = v.getValue().apply(sealed);
        if (altered == null) {
          Files.delete(copy.resolve("snapshot.bin"));
        } else {
          Files.write(copy.resolve("snapshot.bin"), altered);
        }
        Map<Integer, Integer> seen = new TreeMap<>();
        try (ManagedDataPlane broken =
            ManagedDataPlane.start(planes.controlPlaneUrl(), copy, null, 0)) {
          for (int i = 0; i < perVariant; i++) {
            // Valid key, unknown key, no key; unary and streamed.
            String bearer =
                switch (i % 3) {
                  case 0, 1 -> key.secret();
                  default -> "sk-ar-unknown";
                };
            if (i % 3 != 2) {
              validKeyRequests++;
            }
            HttpResponse<String> res = send(broken, bearer, i % 2 == 0);
            requests++;
            seen.merge(res.statusCode(), 1, Integer::sum);
            if (res.statusCode() == 503 || res.statusCode() == 401) {
              refused++;
              if (!openAiErrorShape(res.body())) {
                badShape++;
              }
            }
          }
        }
        statuses.put(v.getKey(), seen);
      }
      long ms = (System.nanoTime() - t0) / 1_000_000;
      int forwarded = openAi.received().size();
      Planes.log.info(
          "it: fail closed: {} requests over {} variants in {} ms, statuses {}, forwarded {}",
          requests,
          variants.size(),
          ms,
          statuses,
          forwarded);
      Evidence.figure(
          CHECK,
          refused
              + "/"
              + requests
              + " requests refused ("
              + validKeyRequests
              + " with the valid key; "
              + badShape
              + " not in OpenAI's error shape; by variant: "
              + statuses
              + ")",
          requests + "/" + requests + " refused",
          refused == requests && badShape == 0);
      Evidence.figure(
          CHECK, forwarded + " requests forwarded to the provider", "0", forwarded == 0);
      assertThat(statuses.values())
          .allSatisfy(s -> assertThat(s.keySet()).isSubsetOf(List.of(401, 503)));
      assertThat(refused).isEqualTo(requests);
      assertThat(badShape).isZero();
      assertThat(forwarded).isZero();
    }
  }

  private HttpResponse<String> send(ManagedDataPlane dp, String bearer, boolean stream)
      throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(dp.url() + "/v1/chat/completions"))
            .timeout(Duration.ofSeconds(10))
            .header("authorization", "Bearer " + bearer)
            .header("content-type", "application/json")
            .POST(
                HttpRequest.BodyPublishers.ofString(
                    "{\"model\":\"smart\",\"stream\":"
                        + stream
                        + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static boolean openAiErrorShape(String body) {
    try {
      JsonNode error = JSON.readTree(body).path("error");
      return error.path("message").isTextual()
          && !error.path("message").asText().isEmpty()
          && error.path("type").isTextual();
    } catch (Exception e) {
      return false;
    }
  }

  /** Opens a sealed snapshot as the data plane does (AES-256-GCM, header as additional data). */
  private static DataplaneSnapshot open(byte[] in, byte[] key) throws Exception {
    Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
    c.init(
        Cipher.DECRYPT_MODE,
        new SecretKeySpec(key, "AES"),
        new GCMParameterSpec(128, in, MAGIC.length, 12));
    c.updateAAD(MAGIC);
    return DataplaneSnapshot.parseFrom(
        c.doFinal(in, MAGIC.length + 12, in.length - MAGIC.length - 12));
  }

  /** Seals {@code snapshot} in the data plane's file format under {@code key}. */
  private static byte[] seal(DataplaneSnapshot snapshot, byte[] key) {
    try {
      byte[] nonce = new byte[12];
      new SecureRandom().nextBytes(nonce);
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
      c.updateAAD(MAGIC);
      byte[] sealed = c.doFinal(snapshot.toByteArray());
      byte[] out = new byte[MAGIC.length + 12 + sealed.length];
      System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
      System.arraycopy(nonce, 0, out, MAGIC.length, 12);
      System.arraycopy(sealed, 0, out, MAGIC.length + 12, sealed.length);
      return out;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
