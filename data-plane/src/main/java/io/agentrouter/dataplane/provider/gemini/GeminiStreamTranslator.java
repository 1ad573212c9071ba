package io.agentrouter.dataplane.provider.gemini;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agentrouter.common.errors.ErrorClass;
import io.agentrouter.dataplane.provider.ChatContext;
import io.agentrouter.dataplane.provider.ProviderError;
import io.agentrouter.dataplane.provider.StreamTranslator;
import io.agentrouter.dataplane.provider.TokenUsage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * Gemini's {@code streamGenerateContent?alt=sse} to OpenAI {@code chat.completion.chunk} objects.
 *
 * <p>Each SSE {@code data:} is a whole {@code GenerateContentResponse} holding the next piece of
 * each candidate; there is no end event, the candidates' {@code finishReason} ends the stream and
 * the response that carries it holds the final {@code usageMetadata}. Function calls arrive whole.
 *
 * <p>No chunk is produced before a candidate's first content: the role chunk travels with it, so a
 * stream that breaks before any content has yielded nothing and the router can still fall back.
 */
final class GeminiStreamTranslator implements StreamTranslator {

  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private final ChatContext ctx;
  private final ObjectMapper mapper;
  private final Map<Integer, CandidateState> candidates = new TreeMap<>();

  private @Nullable String id;
  private boolean finished;
  private @Nullable ProviderError error;
  private TokenUsage usage = TokenUsage.ZERO;
  private JsonNode usageMetadata = JSON.objectNode();

  /** Per candidate: whether the role went out, how many tool calls, whether it finished. */
  private static final class CandidateState {
    boolean roleSent;
    int toolCalls;
    boolean hasToolCalls;
    boolean finished;
  }

  GeminiStreamTranslator(ChatContext ctx, ObjectMapper mapper) {
    this.ctx = ctx;
    this.mapper = mapper;
  }

  @Override
  public List<ObjectNode> onEvent(@Nullable String event, String data) {
    if (finished || error != null) {
      return List.of();
    }
    JsonNode node;
    try {
      node = mapper.readTree(data);
    } catch (JsonProcessingException e) {
      node = null;
    }
    if (node == null || !node.isObject()) {
      error = new ProviderError(ErrorClass.SERVER, 0, "Gemini sent a malformed stream event", null);
      return List.of();
    }
    if (node.path("error").isObject()) {
      JsonNode err = node.path("error");
      String message = err.path("message").asText("Gemini stream failed");
      error =
          new ProviderError(
              GeminiTranslator.classify(
                  err.path("code").asInt(0),
                  err.path("status").asText(""),
                  message,
                  err.path("details")),
              0,
              message,
              GeminiTranslator.retryAfterSeconds(err.path("details")));
      return List.of();
    }
    if (id == null && !node.path("responseId").asText("").isEmpty()) {
      id = GeminiTranslator.responseId(ctx, node);
    }
    if (node.path("usageMetadata").isObject()) {
      usageMetadata = node.path("usageMetadata");
      usage = GeminiTranslator.usage(usageMetadata);
    }
    JsonNode list = node.path("candidates");
    String blockReason = node.path("promptFeedback").path("blockReason").asText(null);
    if (list.isEmpty() && blockReason != null) {
      error = GeminiTranslator.blocked(0, blockReason);
      return List.of();
    }

    List<ObjectNode> chunks = new ArrayList<>();
    for (int pos = 0; pos < list.size(); pos++) {
      JsonNode candidate = list.get(pos);
      int index = candidate.path("index").asInt(pos);
      CandidateState state = candidates.computeIfAbsent(index, i -> new CandidateState());
      for (JsonNode part : candidate.path("content").path("parts")) {
        if (part.path("thought").asBoolean(false)) {
          continue;
        }
        if (part.path("text").isTextual() && !part.path("text").asText().isEmpty()) {
          ObjectNode delta = delta(state);
          delta.put("content", part.path("text").asText());
          chunks.add(chunk(index, delta, null));
        } else if (part.path("functionCall").isObject()) {
          ObjectNode call =
              GeminiTranslator.toolCall(mapper, ctx, index, state.toolCalls, part)
                  .put("index", state.toolCalls);
          state.toolCalls++;
          state.hasToolCalls = true;
          ObjectNode delta = delta(state);
          if (!delta.has("content")) {
            delta.putNull("content");
          }
          delta.putArray("tool_calls").add(call);
          chunks.add(chunk(index, delta, null));
        }
      }
      String reason = candidate.path("finishReason").asText(null);
      if (reason != null && !state.finished) {
        state.finished = true;
        ObjectNode delta = delta(state);
        if (delta.has("role")) {
          delta.put("content", "");
        }
        chunks.add(chunk(index, delta, GeminiTranslator.finishReason(reason, state.hasToolCalls)));
      }
    }
    if (!candidates.isEmpty() && candidates.values().stream().allMatch(s -> s.finished)) {
      finished = true;
      ObjectNode last = header();
      last.putArray("choices");
      last.set("usage", GeminiTranslator.usageJson(usageMetadata));
      chunks.add(last);
    }
    return chunks;
  }

  private static ObjectNode delta(CandidateState state) {
    ObjectNode delta = JSON.objectNode();
    if (!state.roleSent) {
      state.roleSent = true;
      delta.put("role", "assistant");
    }
    return delta;
  }

  private ObjectNode chunk(int index, ObjectNode delta, @Nullable String finishReason) {
    ObjectNode chunk = header();
    ObjectNode choice = chunk.putArray("choices").addObject();
    choice.put("index", index);
    choice.set("delta", delta);
    choice.putNull("logprobs");
    if (finishReason == null) {
      choice.putNull("finish_reason");
    } else {
      choice.put("finish_reason", finishReason);
    }
    return chunk;
  }

  private ObjectNode header() {
    ObjectNode chunk = JSON.objectNode();
    // The id must not change mid-stream: settle on ours if the first event named none.
    if (id == null) {
      id = "chatcmpl-" + ctx.requestId();
    }
    chunk.put("id", id);
    chunk.put("object", "chat.completion.chunk");
    chunk.put("created", ctx.createdEpochSeconds());
    chunk.put("model", ctx.clientModel());
    return chunk;
  }

  @Override
  public boolean finished() {
    return finished;
  }

  @Override
  public TokenUsage usage() {
    return usage;
  }

  @Override
  public @Nullable ProviderError error() {
    return error;
  }
}
