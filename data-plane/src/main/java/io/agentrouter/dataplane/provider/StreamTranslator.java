package io.agentrouter.dataplane.provider;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Converts one upstream SSE stream, event by event, into OpenAI {@code chat.completion.chunk}
 * objects. Stateful and single-use; called from one thread at a time.
 */
public interface StreamTranslator {

  /**
   * Feeds one SSE event ({@code event:} name, may be null, and the joined {@code data:} lines).
   * Returns the OpenAI chunks it yields, possibly none. A provider's in-stream error is reported
   * through {@link #error()}, not thrown.
   */
  List<ObjectNode> onEvent(@Nullable String event, String data);

  /** True once the provider signalled the end of the stream. */
  boolean finished();

  /** Tokens counted so far (final once {@link #finished()}). */
  TokenUsage usage();

  /** The in-stream error the provider sent, if any. */
  @Nullable ProviderError error();
}
