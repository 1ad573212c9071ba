package io.agentrouter.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Per-key limits, with an injected clock so "per minute" is exact. */
class RateLimitTest {
  static FakeOpenAi fake;
  static String rpmKey = TestGateway.newKey();
  static String tpmKey = TestGateway.newKey();
  static String concKey = TestGateway.newKey();
  static TestGateway gw;

  @BeforeAll
  static void start() {
    fake = FakeOpenAi.start();
    gw =
        TestGateway.startWithManualTime(
            """
            providers: [{name: openai, type: openai, base_url: "%s"}]
            models: [{provider: openai, model: gpt-4o-mini}]
            projects: [{id: p, default_model: gpt-4o-mini}]
            keys:
              - {token: "%s", project: p, limits: {requests_per_minute: 5}}
              - {token: "%s", project: p, limits: {tokens_per_minute: 1000}}
              - {token: "%s", project: p, limits: {concurrent_requests: 1}}
            """
                .formatted(fake.baseUrl(), rpmKey, tpmKey, concKey));
  }

  @AfterAll
  static void stop() {
    gw.close();
    fake.close();
  }

  @Test
  void nPlusKRequestsGiveExactlyK429s() {
    List<AggregatedHttpResponse> answers = new ArrayList<>();
    for (int i = 0; i < 5 + 3; i++) {
      answers.add(chat(rpmKey, 10));
    }
    assertThat(answers).filteredOn(r -> r.status().code() == 429).hasSize(3);
    assertThat(answers.subList(0, 5)).allSatisfy(r -> assertThat(r.status().code()).isEqualTo(200));
    AggregatedHttpResponse ok = answers.get(0);
    assertThat(ok.headers().get("x-ratelimit-limit-requests")).isEqualTo("5");
    assertThat(ok.headers().get("x-ratelimit-remaining-requests")).isEqualTo("4");
    AggregatedHttpResponse denied = answers.get(7);
    // One request comes back every 12 s at 5 per minute.
    assertThat(denied.headers().get("retry-after")).isEqualTo("12");
    assertThat(denied.headers().get("x-ratelimit-remaining-requests")).isEqualTo("0");
    assertThat(denied.contentUtf8()).contains("\"code\":\"rate_limit_exceeded\"");

    gw.nanos.addAndGet(12_000_000_000L);
    assertThat(chat(rpmKey, 10).status().code()).isEqualTo(200);
    assertThat(chat(rpmKey, 10).status().code()).isEqualTo(429);
  }

  @Test
  void tokensAreEstimatedBeforeAndCorrectedAfter() {
    // In flight with max_tokens 600, so 600 + the prompt estimate are held back.
    fake.enqueue(FakeOpenAi.Fault.hang());
    int before = fake.received().size();
    HttpResponse first = send(tpmKey, 600);
    first.aggregate();
    await().until(() -> fake.received().size() == before + 1);
    AggregatedHttpResponse second = chat(tpmKey, 600);
    assertThat(second.status().code()).isEqualTo(429);
    assertThat(second.headers().get("x-ratelimit-limit-tokens")).isEqualTo("1000");
    assertThat(second.contentUtf8()).contains("tokens per minute");
    // The first one ends having used nothing: its estimate is given back.
    first.abort();
    await().untilAsserted(() -> assertThat(chat(tpmKey, 600).status().code()).isEqualTo(200));
    // That one used 14 tokens, not 600: the correction leaves room for another big one.
    assertThat(chat(tpmKey, 900).status().code()).isEqualTo(200);
  }

  @Test
  void concurrentRequestsAreCapped() {
    fake.enqueue(FakeOpenAi.Fault.hang());
    int before = fake.received().size();
    HttpResponse first = send(concKey, 10);
    first.aggregate();
    await().until(() -> fake.received().size() == before + 1);
    AggregatedHttpResponse second = chat(concKey, 10);
    assertThat(second.status().code()).isEqualTo(429);
    assertThat(second.contentUtf8()).contains("concurrent");
    first.abort();
  }

  static AggregatedHttpResponse chat(String key, int maxTokens) {
    return send(key, maxTokens).aggregate().join();
  }

  static HttpResponse send(String key, int maxTokens) {
    return gw.web()
        .execute(
            HttpRequest.of(
                RequestHeaders.builder(HttpMethod.POST, "/v1/chat/completions")
                    .contentType(MediaType.JSON)
                    .add("authorization", "Bearer " + key)
                    .build(),
                HttpData.ofUtf8(
                    "{\"max_tokens\":"
                        + maxTokens
                        + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")));
  }
}
