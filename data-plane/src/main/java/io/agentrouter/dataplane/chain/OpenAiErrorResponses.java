package io.agentrouter.dataplane.chain;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.ResponseHeaders;
import com.linecorp.armeria.common.ResponseHeadersBuilder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.jspecify.annotations.Nullable;

/**
 * Errors in OpenAI's shape, {@code {"error":{"message","type","param","code"}}}, the one place the
 * gateway renders them. The official SDKs read {@code type} and {@code code}.
 */
public final class OpenAiErrorResponses {
  private static final JsonFactory JSON = new JsonFactory();

  public static final String INVALID_REQUEST = "invalid_request_error";
  public static final String AUTHENTICATION = "authentication_error";
  public static final String RATE_LIMIT = "rate_limit_exceeded";
  public static final String SERVER = "server_error";
  public static final String API = "api_error";

  private OpenAiErrorResponses() {}

  /** The error body. */
  public static byte[] body(
      String message, String type, @Nullable String param, @Nullable String code) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(128 + message.length());
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeObjectFieldStart("error");
      g.writeStringField("message", message);
      g.writeStringField("type", type);
      g.writeStringField("param", param);
      g.writeStringField("code", code);
      g.writeEndObject();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  public static HttpResponse of(
      HttpStatus status,
      String message,
      String type,
      @Nullable String param,
      @Nullable String code) {
    return HttpResponse.of(
        headers(status).build(), HttpData.wrap(body(message, type, param, code)));
  }

  public static AggregatedHttpResponse aggregated(
      HttpStatus status,
      String message,
      String type,
      @Nullable String param,
      @Nullable String code) {
    return AggregatedHttpResponse.of(
        headers(status).build(), HttpData.wrap(body(message, type, param, code)));
  }

  public static ResponseHeadersBuilder headers(HttpStatus status) {
    return ResponseHeaders.builder(status).contentType(MediaType.JSON_UTF_8);
  }
}
