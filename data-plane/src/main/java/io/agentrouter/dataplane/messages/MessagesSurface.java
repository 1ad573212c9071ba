package io.agentrouter.dataplane.messages;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.RequestHeaders;
import io.agentrouter.dataplane.chain.ClientSurface;
import io.agentrouter.dataplane.provider.ChatContext;
import io.agentrouter.dataplane.provider.ProviderTranslator;
import io.agentrouter.dataplane.provider.ProviderType;
import io.agentrouter.dataplane.provider.StreamTranslator;
import io.agentrouter.dataplane.provider.TokenUsage;
import io.agentrouter.dataplane.provider.UpstreamCall;

/**
 * Anthropic's Messages API ({@code POST /v1/messages}) as clients such as Claude Code speak it.
 *
 * <p>To an Anthropic target the client's body goes out byte-for-byte equivalent with only {@code
 * model} replaced, so thinking blocks and their signatures, {@code cache_control} with TTLs, images
 * in tool results and beta features survive; {@code anthropic-version} and {@code anthropic-beta}
 * are forwarded, and the answer (events included) comes back as the provider sent it. To any other
 * provider the request is bridged: Messages to OpenAI chat, through that provider's translator, and
 * the chat answer back to a Message (see docs/providers.md for what is kept and dropped).
 */
public final class MessagesSurface implements ClientSurface {
  private final ObjectMapper mapper;

  public MessagesSurface(ObjectMapper mapper) {
    this.mapper = requireNonNull(mapper, "mapper");
  }

  @Override
  public UpstreamCall request(
      ChatContext cc, ProviderTranslator provider, ObjectNode body, RequestHeaders headers) {
    boolean stream = body.path("stream").asBoolean(false);
    if (cc.target().type() == ProviderType.ANTHROPIC) {
      return AnthropicWire.passthrough(cc, "/v1/messages", body, headers, stream);
    }
    return provider.chatRequest(cc, ChatBridge.toChat(body));
  }

  @Override
  public ObjectNode response(ChatContext cc, ProviderTranslator provider, JsonNode upstream) {
    if (cc.target().type() == ProviderType.ANTHROPIC) {
      if (!(upstream instanceof ObjectNode o) || !"message".equals(o.path("type").asText())) {
        throw new IllegalArgumentException(
            "upstream answer is not a message (expected: {\"type\":\"message\",...})");
      }
      return o;
    }
    return ChatBridge.toMessage(cc, provider.chatResponse(cc, upstream));
  }

  @Override
  public StreamTranslator stream(ChatContext cc, ProviderTranslator provider) {
    if (cc.target().type() == ProviderType.ANTHROPIC) {
      return new AnthropicPassthroughStream(mapper, provider);
    }
    return new MessagesStreamBridge(cc, provider.chatStream(cc));
  }

  @Override
  public TokenUsage usage(JsonNode message) {
    return AnthropicWire.usage(message.path("usage"), TokenUsage.ZERO);
  }

  @Override
  public boolean isContent(ObjectNode event) {
    return switch (event.path("type").asText()) {
      // An empty block opening is not content yet: a stream cut right after it can still fall back.
      case "content_block_delta", "message_delta" -> true;
      default -> false;
    };
  }

  @Override
  public boolean isFinish(ObjectNode event) {
    String type = event.path("type").asText();
    return type.equals("message_stop")
        || (type.equals("message_delta") && event.path("delta").hasNonNull("stop_reason"));
  }

  @Override
  public HttpData frame(ObjectNode event) {
    return AnthropicWire.frame(mapper, event);
  }

  @Override
  public HttpData streamError(String message) {
    return AnthropicWire.frame(mapper, AnthropicWire.error("api_error", message));
  }
}
