package io.agentrouter.dataplane.provider;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;

/**
 * An HTTP call to make upstream.
 *
 * @param path path and query relative to the target's base URL, starting with '/'
 * @param headers request headers including the provider's auth header; values are secrets
 * @param body the JSON body
 * @param stream whether the answer is an SSE stream
 */
public record UpstreamCall(
    String path, Map<String, String> headers, JsonNode body, boolean stream) {
  public UpstreamCall {
    requireNonNull(path, "path");
    headers = Map.copyOf(headers);
    requireNonNull(body, "body");
  }

  @Override
  public String toString() {
    return "UpstreamCall[path=" + path + ", stream=" + stream + "]";
  }
}
