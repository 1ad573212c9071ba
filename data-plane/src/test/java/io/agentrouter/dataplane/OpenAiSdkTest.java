package io.agentrouter.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.core.http.HttpResponseFor;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.FunctionDefinition;
import com.openai.models.ResponseFormatJsonObject;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartImage;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.images.ImageGenerateParams;
import com.openai.models.images.ImagesResponse;
import com.openai.models.models.Model;
import io.agentrouter.common.usage.UsageOutcome;
import io.agentrouter.common.usage.UsageRecord;
import io.agentrouter.dataplane.fake.FakeOpenAi;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The official OpenAI Java SDK against the gateway, backed by the fake OpenAI server. */
class OpenAiSdkTest {
  static FakeOpenAi fake;
  static TestGateway gw;
  static String key = TestGateway.newKey();
  static String limitedKey = TestGateway.newKey();
  static OpenAIClient client;

  @BeforeAll
  static void start() {
    fake = FakeOpenAi.start();
    gw =
        TestGateway.start(
            """
            providers:
              - {name: openai, type: openai, base_url: "%s", api_key_env: OPENAI_KEY}
              - name: azure
                type: azure_openai
                base_url: "%s"
                api_key_env: AZURE_KEY
                api_version: "2024-10-21"
            models:
              - {provider: openai, model: gpt-4o-mini, input_usd_per_mtok: 0.15, output_usd_per_mtok: 0.6}
              - {provider: azure, model: gpt-4o, upstream_model: my-gpt4o, input_usd_per_mtok: 2.5, output_usd_per_mtok: 10}
              - {provider: openai, model: text-embedding-3-small, kind: embeddings, input_usd_per_mtok: 0.02}
              - {provider: openai, model: dall-e-3, kind: images, image_usd: 0.04}
            routes:
              - alias: smart
                targets: [{provider: openai, model: gpt-4o-mini}]
            projects:
              - {id: demo, customer: acme, default_model: smart}
            keys:
              - {token: "%s", project: demo, name: full}
              - {token: "%s", project: demo, name: limited, allowed_models: [smart]}
            """
                .formatted(fake.baseUrl(), fake.azureBaseUrl(), key, limitedKey),
            Map.of(
                "OPENAI_KEY",
                "sk-openai-upstream-secret-1",
                "AZURE_KEY",
                "azure-upstream-secret-2"));
    client = gw.openAi(key);
  }

  @AfterAll
  static void stop() {
    gw.close();
    fake.close();
  }

  @BeforeEach
  void reset() {
    fake.reset();
  }

  @Test
  void chatCompletionPassesParametersAndReturnsGatewayHeaders() {
    HttpResponseFor<ChatCompletion> raw =
        client
            .chat()
            .completions()
            .withRawResponse()
            .create(
                ChatCompletionCreateParams.builder()
                    .model("smart")
                    .addUserMessage("Say hello")
                    .n(2)
                    .maxCompletionTokens(50)
                    .responseFormat(ResponseFormatJsonObject.builder().build())
                    .build());
    ChatCompletion completion = raw.parse();
    assertThat(completion.choices()).hasSize(2);
    assertThat(completion.choices().get(0).message().content()).hasValue("Hello from the fake");
    assertThat(completion.usage().get().promptTokens()).isEqualTo(10);

    assertThat(raw.headers().values("x-request-id")).singleElement().asString().startsWith("req_");
    assertThat(raw.headers().values("x-agentrouter-provider")).containsExactly("openai");
    assertThat(raw.headers().values("x-agentrouter-dataplane")).containsExactly("dp-test");
    assertThat(raw.headers().values("x-agentrouter-estimated-cost-usd"))
        .singleElement()
        .satisfies(v -> assertThat(Double.parseDouble(v)).isPositive());
    for (String t : List.of("total", "authz", "route", "upstream", "overhead")) {
      assertThat(raw.headers().values("x-agentrouter-timing-" + t + "-ms")).hasSize(1);
    }

    FakeOpenAi.Received got = fake.received().get(0);
    assertThat(got.path()).isEqualTo("/v1/chat/completions");
    assertThat(got.headers()).containsEntry("authorization", "Bearer sk-openai-upstream-secret-1");
    assertThat(got.body().path("model").asText()).isEqualTo("gpt-4o-mini");
    assertThat(got.body().path("n").asInt()).isEqualTo(2);
    assertThat(got.body().path("max_completion_tokens").asInt()).isEqualTo(50);
    assertThat(got.body().path("response_format").path("type").asText()).isEqualTo("json_object");

    String requestId = raw.headers().values("x-request-id").get(0);
    await()
        .untilAsserted(
            () ->
                assertThat(gw.usage())
                    .filteredOn(r -> r.requestId().equals(requestId))
                    .singleElement()
                    .satisfies(
                        r -> {
                          assertThat(r.outcome()).isEqualTo(UsageOutcome.SUCCESS);
                          assertThat(r.status()).isEqualTo(200);
                          assertThat(r.modelRequested()).isEqualTo("smart");
                          assertThat(r.modelServed()).isEqualTo("openai/gpt-4o-mini");
                          assertThat(r.promptTokens()).isEqualTo(10);
                          assertThat(r.completionTokens()).isEqualTo(8);
                          assertThat(r.costUsd()).isPositive();
                          assertThat(r.keyId()).isEqualTo(TestGateway.keyId(key).toString());
                          assertThat(r.customerId()).isEqualTo("acme");
                          assertThat(r.dataplaneId()).isEqualTo("dp-test");
                        }));
  }

  @Test
  void toolCallsAndImagePartsPassThrough() {
    ChatCompletion c =
        client
            .chat()
            .completions()
            .create(
                ChatCompletionCreateParams.builder()
                    .model("gpt-4o-mini")
                    .addUserMessageOfArrayOfContentParts(
                        List.of(
                            ChatCompletionContentPart.ofText(
                                ChatCompletionContentPartText.builder()
                                    .text("Weather here?")
                                    .build()),
                            ChatCompletionContentPart.ofImageUrl(
                                ChatCompletionContentPartImage.builder()
                                    .imageUrl(
                                        ChatCompletionContentPartImage.ImageUrl.builder()
                                            .url("https://images.example/street.png")
                                            .build())
                                    .build())))
                    .addFunctionTool(FunctionDefinition.builder().name("get_weather").build())
                    .build());
    assertThat(c.choices().get(0).message().toolCalls().get())
        .singleElement()
        .satisfies(t -> assertThat(t.asFunction().function().name()).isEqualTo("get_weather"));
    JsonNode content = fake.received().get(0).body().path("messages").get(0).path("content");
    assertThat(content.get(1).path("image_url").path("url").asText())
        .isEqualTo("https://images.example/street.png");
  }

  @Test
  void streamingDeliversContentAndHidesForcedUsageChunk() {
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> s =
        client
            .chat()
            .completions()
            .createStreaming(
                ChatCompletionCreateParams.builder().model("smart").addUserMessage("hi").build())) {
      s.stream().forEach(chunks::add);
    }
    StringBuilder text = new StringBuilder();
    chunks.forEach(ch -> ch.choices().forEach(c -> c.delta().content().ifPresent(text::append)));
    assertThat(text.toString()).isEqualTo("Hello from the fake");
    assertThat(chunks).allSatisfy(ch -> assertThat(ch.usage()).isEmpty());
    assertThat(
            fake.received().get(0).body().path("stream_options").path("include_usage").asBoolean())
        .isTrue();
    await()
        .untilAsserted(
            () ->
                assertThat(gw.usage())
                    .filteredOn(UsageRecord::stream)
                    .last()
                    .satisfies(
                        r -> {
                          assertThat(r.outcome()).isEqualTo(UsageOutcome.SUCCESS);
                          assertThat(r.completionTokens()).isEqualTo(4);
                          assertThat(r.timeToFirstTokenMillis()).isNotNull();
                        }));
  }

  @Test
  void streamingWithIncludeUsageShowsTheUsageChunk() {
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> s =
        client
            .chat()
            .completions()
            .createStreaming(
                ChatCompletionCreateParams.builder()
                    .model("smart")
                    .addUserMessage("hi")
                    .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
                    .build())) {
      s.stream().forEach(chunks::add);
    }
    assertThat(chunks.get(chunks.size() - 1).usage()).isPresent();
  }

  @Test
  void azureUsesDeploymentPathVersionAndApiKeyHeader() {
    ChatCompletion c =
        client
            .chat()
            .completions()
            .create(
                ChatCompletionCreateParams.builder()
                    .model("azure/gpt-4o")
                    .addUserMessage("hi")
                    .build());
    assertThat(c.choices().get(0).message().content()).hasValue("Hello from the fake");
    FakeOpenAi.Received got = fake.received().get(0);
    assertThat(got.path())
        .isEqualTo("/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21");
    assertThat(got.headers()).containsEntry("api-key", "azure-upstream-secret-2");
    assertThat(got.headers()).doesNotContainKey("authorization");
  }

  @Test
  void embeddingsAndImages() {
    CreateEmbeddingResponse e =
        client
            .embeddings()
            .create(
                EmbeddingCreateParams.builder()
                    .model("text-embedding-3-small")
                    .input("What is an AI gateway?")
                    .build());
    assertThat(e.data().get(0).embedding()).containsExactly(0.1f, -0.2f, 0.3f);
    assertThat(e.usage().promptTokens()).isEqualTo(4);

    ImagesResponse img =
        client
            .images()
            .generate(ImageGenerateParams.builder().model("dall-e-3").prompt("a city").build());
    assertThat(img.data().get().get(0).url()).hasValue("https://images.example/fake-0.png");
    await()
        .untilAsserted(
            () ->
                assertThat(gw.usage())
                    .filteredOn(r -> r.endpoint().equals("images.generations"))
                    .last()
                    .satisfies(r -> assertThat(r.costUsd()).isEqualByComparingTo("0.04")));
  }

  @Test
  void modelsListsOnlyWhatTheKeyMayUse() {
    List<String> all = new ArrayList<>();
    client.models().list().data().forEach(m -> all.add(m.id()));
    assertThat(all)
        .containsExactlyInAnyOrder(
            "smart", "gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "dall-e-3");
    List<Model> limited = gw.openAi(limitedKey).models().list().data();
    assertThat(limited).extracting(Model::id).containsExactly("smart");
  }

  @Test
  void metricsCountRequestsTokensAndLatencyByProviderModelAndProject() {
    try (StreamResponse<ChatCompletionChunk> s =
        client
            .chat()
            .completions()
            .createStreaming(
                ChatCompletionCreateParams.builder().model("smart").addUserMessage("hi").build())) {
      s.stream().forEach(c -> {});
    }
    await()
        .untilAsserted(
            () -> {
              String m = gw.web().get("/internal/metrics").aggregate().join().contentUtf8();
              assertThat(m)
                  .contains(
                      "agentrouter_requests_total{endpoint=\"chat.completions\",model=\"gpt-4o-mini\",outcome=\"success\",project=\"demo\",provider=\"openai\",status=\"200\"}")
                  .contains(
                      "agentrouter_tokens_total{model=\"gpt-4o-mini\",project=\"demo\",provider=\"openai\",type=\"completion\"}")
                  .contains(
                      "agentrouter_time_to_first_token_seconds_bucket{model=\"gpt-4o-mini\",provider=\"openai\"")
                  .contains("agentrouter_upstream_duration_seconds_bucket")
                  .contains("agentrouter_request_duration_seconds_bucket")
                  .contains("agentrouter_cost_usd_sum")
                  .doesNotContain(key)
                  .doesNotContain("sk-openai-upstream-secret-1");
            });
  }

  @Test
  void errorsAreTypedByTheSdk() {
    assertThatThrownBy(
            () ->
                gw.openAi(TestGateway.newKey())
                    .chat()
                    .completions()
                    .create(
                        ChatCompletionCreateParams.builder()
                            .model("smart")
                            .addUserMessage("x")
                            .build()))
        .isInstanceOfSatisfying(
            UnauthorizedException.class, e -> assertThat(e.code()).hasValue("invalid_api_key"));

    assertThatThrownBy(
            () ->
                gw.openAi(limitedKey)
                    .chat()
                    .completions()
                    .create(
                        ChatCompletionCreateParams.builder()
                            .model("gpt-4o")
                            .addUserMessage("x")
                            .build()))
        .isInstanceOfSatisfying(
            NotFoundException.class,
            e -> {
              assertThat(e.code()).hasValue("model_not_found");
              assertThat(e.getMessage()).contains("smart");
            });

    fake.enqueue(FakeOpenAi.Fault.status(400, "messages[0].content is too odd", Map.of()));
    assertThatThrownBy(
            () ->
                client
                    .chat()
                    .completions()
                    .create(
                        ChatCompletionCreateParams.builder()
                            .model("smart")
                            .addUserMessage("x")
                            .build()))
        .isInstanceOfSatisfying(
            BadRequestException.class,
            e -> assertThat(e.getMessage()).contains("messages[0].content is too odd"));
    assertThat(fake.received()).hasSize(1);
  }
}
