package io.agentrouter.controlplane.rpc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpHeaderNames;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.ResponseHeaders;
import com.linecorp.armeria.common.ResponseHeadersBuilder;
import com.linecorp.armeria.server.ServiceRequestContext;
import com.linecorp.armeria.server.grpc.UnframedGrpcErrorHandler;
import io.grpc.Status;

/**
 * Renders a failed transcoded (REST) call as {@code {"error": {"code", "status", "message",
 * "details"}}} with the HTTP status of {@link #httpStatus}, and {@code Retry-After} when the status
 * carries a RetryInfo. The body is the same {@code google.rpc.Status} gRPC callers receive.
 */
public final class HttpErrorHandler implements UnframedGrpcErrorHandler {
  private static final ObjectMapper mapper = new ObjectMapper();
  private static final JsonFormat.Printer printer =
      JsonFormat.printer()
          .usingTypeRegistry(
              JsonFormat.TypeRegistry.newBuilder()
                  .add(ErrorInfo.getDescriptor())
                  .add(BadRequest.getDescriptor())
                  .add(RetryInfo.getDescriptor())
                  .build())
          .preservingProtoFieldNames()
          .omittingInsignificantWhitespace();

  /** The single gRPC code to HTTP status table of the control plane. */
  public static HttpStatus httpStatus(Status.Code code) {
    return switch (code) {
      case OK -> HttpStatus.OK;
      case INVALID_ARGUMENT, OUT_OF_RANGE -> HttpStatus.BAD_REQUEST;
      case UNAUTHENTICATED -> HttpStatus.UNAUTHORIZED;
      case PERMISSION_DENIED -> HttpStatus.FORBIDDEN;
      case NOT_FOUND -> HttpStatus.NOT_FOUND;
      case ALREADY_EXISTS, ABORTED -> HttpStatus.CONFLICT;
      case FAILED_PRECONDITION -> HttpStatus.UNPROCESSABLE_ENTITY;
      case RESOURCE_EXHAUSTED -> HttpStatus.TOO_MANY_REQUESTS;
      case UNAVAILABLE -> HttpStatus.SERVICE_UNAVAILABLE;
      case UNIMPLEMENTED -> HttpStatus.NOT_IMPLEMENTED;
      case DEADLINE_EXCEEDED -> HttpStatus.GATEWAY_TIMEOUT;
      case CANCELLED -> HttpStatus.valueOf(499);
      default -> HttpStatus.INTERNAL_SERVER_ERROR;
    };
  }

  @Override
  public HttpResponse handle(
      ServiceRequestContext ctx, Status status, AggregatedHttpResponse response) {
    com.google.rpc.Status proto = ctx.attr(ErrorMapping.STATUS_PROTO);
    if (proto == null) {
      // Failed before reaching a service method (e.g. the body did not parse).
      proto =
          ErrorMapping.toProto(
              status, status.getCause() == null ? status.asRuntimeException() : status.getCause());
    }
    return render(proto).toHttpResponse();
  }

  /** The JSON error response for a {@code google.rpc.Status}. */
  public static AggregatedHttpResponse render(com.google.rpc.Status proto) {
    Status.Code code = Status.fromCodeValue(proto.getCode()).getCode();
    HttpStatus http = httpStatus(code);
    ObjectNode error = mapper.createObjectNode();
    error.put("code", http.code());
    error.put("status", code.name());
    error.put("message", proto.getMessage());
    ArrayNode details = error.putArray("details");
    long retryAfter = -1;
    for (Any any : proto.getDetailsList()) {
      try {
        JsonNode node = mapper.readTree(printer.print(any));
        details.add(node);
        if (any.is(RetryInfo.class)) {
          retryAfter = any.unpack(RetryInfo.class).getRetryDelay().getSeconds();
        }
      } catch (InvalidProtocolBufferException
          | com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException("cannot render error detail " + any.getTypeUrl(), e);
      }
    }
    ObjectNode root = mapper.createObjectNode();
    root.set("error", error);
    ResponseHeadersBuilder headers =
        ResponseHeaders.builder(http).contentType(MediaType.JSON_UTF_8);
    if (retryAfter >= 0) {
      headers.set(HttpHeaderNames.RETRY_AFTER, Long.toString(retryAfter));
    }
    try {
      return AggregatedHttpResponse.of(
          headers.build(),
          com.linecorp.armeria.common.HttpData.wrap(mapper.writeValueAsBytes(root)));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
