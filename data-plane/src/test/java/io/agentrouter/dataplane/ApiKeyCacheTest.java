package io.agentrouter.dataplane;

import static org.assertj.core.api.Assertions.assertThat;

import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import io.agentrouter.common.keys.ApiKeys;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import java.security.SecureRandom;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The verified-key cache of ext-authz never outlives its snapshot: a key that was accepted (and so
 * cached) is refused as soon as a snapshot revokes, expires, removes or re-issues it.
 */
class ApiKeyCacheTest {
  FakeOpenAi fake;
  TestGateway gw;
  final UUID id = UUID.randomUUID();
  final String key = ApiKeys.generate(id, new SecureRandom()).token();

  @BeforeEach
  void start() {
    fake = FakeOpenAi.start();
    gw = TestGateway.start(config("{token: \"" + key + "\", project: p}"));
  }

  @AfterEach
  void stop() {
    gw.close();
    fake.close();
  }

  String config(String... keys) {
    return """
        providers: [{name: openai, type: openai, base_url: "%s"}]
        models: [{provider: openai, model: gpt-4o-mini}]
        projects: [{id: p, customer: c, default_model: gpt-4o-mini}]
        keys: [%s]
        """
        .formatted(fake.baseUrl(), String.join(", ", keys));
  }

  int chat(String token) {
    return gw.web()
        .execute(
            HttpRequest.of(
                RequestHeaders.builder(HttpMethod.POST, "/v1/chat/completions")
                    .contentType(MediaType.JSON)
                    .add("authorization", "Bearer " + token)
                    .build(),
                HttpData.ofUtf8("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")))
        .aggregate()
        .join()
        .status()
        .code();
  }

  @Test
  void revokedAfterASwap() {
    assertThat(chat(key)).isEqualTo(200);
    assertThat(chat(key)).isEqualTo(200);
    gw.publish(config("{token: \"" + key + "\", project: p, status: revoked}"));
    assertThat(chat(key)).isEqualTo(401);
  }

  @Test
  void expiredAfterASwap() {
    assertThat(chat(key)).isEqualTo(200);
    gw.publish(
        config("{token: \"" + key + "\", project: p, expires_at: \"2020-01-01T00:00:00Z\"}"));
    assertThat(chat(key)).isEqualTo(401);
  }

  @Test
  void removedAfterASwap() {
    assertThat(chat(key)).isEqualTo(200);
    gw.publish(config("{token: \"" + TestGateway.newKey() + "\", project: p}"));
    assertThat(chat(key)).isEqualTo(401);
  }

  @Test
  void reissuedWithANewSecret() {
    assertThat(chat(key)).isEqualTo(200);
    String rotated = ApiKeys.generate(id, new SecureRandom()).token();
    gw.publish(config("{token: \"" + rotated + "\", project: p}"));
    assertThat(chat(key)).isEqualTo(401);
    assertThat(chat(rotated)).isEqualTo(200);
    // And back: the first secret is good again, the second no longer.
    gw.publish(config("{token: \"" + key + "\", project: p}"));
    assertThat(chat(key)).isEqualTo(200);
    assertThat(chat(rotated)).isEqualTo(401);
  }

  @Test
  void aMistypedKeyIsRefusedEveryTime() {
    String typo = key.substring(0, key.length() - 1) + (key.endsWith("a") ? "b" : "a");
    assertThat(chat(typo)).isEqualTo(401);
    assertThat(chat(typo)).isEqualTo(401);
    assertThat(chat(key)).isEqualTo(200);
  }
}
