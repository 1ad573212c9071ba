package io.agentrouter.dataplane.chain;

import io.agentrouter.common.config.ModelKind;
import org.jspecify.annotations.Nullable;

/** The API operations the gateway serves. */
public enum Endpoint {
  CHAT("chat.completions", ModelKind.CHAT),
  EMBEDDINGS("embeddings", ModelKind.EMBEDDINGS),
  IMAGES("images.generations", ModelKind.IMAGES),
  /** Anthropic's {@code POST /v1/messages}. */
  MESSAGES("messages", ModelKind.CHAT),
  /** Anthropic's {@code POST /v1/messages/count_tokens}. */
  COUNT_TOKENS("messages.count_tokens", ModelKind.CHAT),
  /** OpenAI's {@code POST /v1/responses}. */
  RESPONSES("responses", ModelKind.CHAT),
  MODELS("models", null);

  private final String wireName;
  private final @Nullable ModelKind kind;

  Endpoint(String wireName, @Nullable ModelKind kind) {
    this.wireName = wireName;
    this.kind = kind;
  }

  /** The name in usage records and metric labels. */
  public String wireName() {
    return wireName;
  }

  /** The catalog kind it reaches, or null for endpoints that reach no provider. */
  public @Nullable ModelKind kind() {
    return kind;
  }

  /** Whether errors on this endpoint take Anthropic's shape instead of OpenAI's. */
  public boolean anthropicShape() {
    return this == MESSAGES || this == COUNT_TOKENS;
  }

  /** Whether the request carries a JSON body and reaches a provider. */
  public boolean proxied() {
    return kind != null;
  }
}
