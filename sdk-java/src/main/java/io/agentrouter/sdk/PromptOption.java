package io.agentrouter.sdk;

import static java.util.Objects.requireNonNull;

import io.agentrouter.proto.inference.v1.PromptRequest;
import java.util.function.Consumer;

/**
 * An optional setting of {@link InferenceClient#prompt}: the model selector, the API key the
 * request is bound to, or an idempotency key (which also makes the call safe to retry).
 */
public final class PromptOption {
  private final Consumer<PromptRequest.Builder> apply;

  private PromptOption(Consumer<PromptRequest.Builder> apply) {
    this.apply = apply;
  }

  /** A bare model ({@code gpt-4o}), {@code provider/model}, or a route alias. */
  public static PromptOption model(String model) {
    requireNonNull(model, "model");
    return new PromptOption(b -> b.setModel(model));
  }

  /** The API key id to bind the request to (per-key limits and accounting). */
  public static PromptOption keyId(String keyId) {
    requireNonNull(keyId, "keyId");
    return new PromptOption(b -> b.setKeyId(keyId));
  }

  /** An idempotency key: the server answers a repeat with the first result. */
  public static PromptOption idempotencyKey(String idempotencyKey) {
    requireNonNull(idempotencyKey, "idempotencyKey");
    return new PromptOption(b -> b.setIdempotencyKey(idempotencyKey));
  }

  void applyTo(PromptRequest.Builder b) {
    apply.accept(b);
  }
}
