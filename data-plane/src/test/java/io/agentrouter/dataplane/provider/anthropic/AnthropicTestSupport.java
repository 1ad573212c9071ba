package io.agentrouter.dataplane.provider.anthropic;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.agentrouter.dataplane.provider.ChatContext;
import io.agentrouter.dataplane.provider.ProviderTarget;
import io.agentrouter.dataplane.provider.ProviderType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** Recorded payloads and a call context for the Anthropic translator tests. */
final class AnthropicTestSupport {

  static final ObjectMapper MAPPER = JsonMapper.builder().build();
  static final String API_KEY = "sk-ant-api03-test-secret";

  /** One SSE event as read from a recording. */
  record Sse(@Nullable String event, String data) {}

  private AnthropicTestSupport() {}

  static ChatContext ctx(@Nullable String apiVersion) {
    return new ChatContext(
        "req-123",
        new ProviderTarget(
            "anthropic", ProviderType.ANTHROPIC, "https://api.anthropic.com", API_KEY, apiVersion),
        "claude-sonnet-4-5-20250929",
        "claude-sonnet",
        1_700_000_000L);
  }

  static String text(String resource) {
    try (InputStream in =
        AnthropicTestSupport.class.getResourceAsStream("/anthropic/" + resource)) {
      if (in == null) {
        throw new IllegalArgumentException("no test resource /anthropic/" + resource);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static JsonNode json(String resource) {
    try {
      return MAPPER.readTree(text(resource));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static ObjectNode object(String json) {
    try {
      return (ObjectNode) MAPPER.readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Splits an SSE recording into events (blank line separated, data lines joined by \n). */
  static List<Sse> sse(String resource) {
    List<Sse> events = new ArrayList<>();
    String event = null;
    StringBuilder data = null;
    for (String line : text(resource).split("\r?\n", -1)) {
      if (line.isEmpty()) {
        if (data != null) {
          events.add(new Sse(event, data.toString()));
        }
        event = null;
        data = null;
      } else if (line.startsWith("event:")) {
        event = line.substring("event:".length()).strip();
      } else if (line.startsWith("data:")) {
        String value = line.substring("data:".length());
        value = value.startsWith(" ") ? value.substring(1) : value;
        data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
      }
    }
    return events;
  }
}
