package io.agentrouter.controlplane.rpc;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import com.linecorp.armeria.common.RequestContext;
import com.linecorp.armeria.common.grpc.GrpcExceptionHandlerFunction;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.ProtoUtils;
import io.netty.util.AttributeKey;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one mapping from failures to gRPC statuses. Every status carries a {@code google.rpc.Status}
 * in {@code grpc-status-details-bin} (ErrorInfo, plus BadRequest for a bad field and RetryInfo for
 * 429/503); the same proto is kept on the request context so {@link HttpErrorHandler} renders the
 * identical error for REST.
 */
public final class ErrorMapping implements GrpcExceptionHandlerFunction {
  private static final Logger logger = LoggerFactory.getLogger(ErrorMapping.class);

  static final Metadata.Key<com.google.rpc.Status> DETAILS_KEY =
      Metadata.Key.of(
          "grpc-status-details-bin",
          ProtoUtils.metadataMarshaller(com.google.rpc.Status.getDefaultInstance()));

  /** The rich status of the failed call, for the HTTP renderer. */
  static final AttributeKey<com.google.rpc.Status> STATUS_PROTO =
      AttributeKey.valueOf(ErrorMapping.class, "STATUS_PROTO");

  static final String DOMAIN = "agentrouter.io";

  @Override
  public @Nullable Status apply(
      RequestContext ctx, Status status, Throwable cause, Metadata metadata) {
    com.google.rpc.Status proto = toProto(status, cause);
    ctx.setAttr(STATUS_PROTO, proto);
    metadata.discardAll(DETAILS_KEY);
    metadata.put(DETAILS_KEY, proto);
    return Status.fromCodeValue(proto.getCode()).withDescription(proto.getMessage());
  }

  static com.google.rpc.Status toProto(Status status, Throwable cause) {
    Throwable t = unwrap(cause);
    if (t instanceof ApiException e) {
      com.google.rpc.Status.Builder b =
          com.google.rpc.Status.newBuilder()
              .setCode(e.code().value())
              .setMessage(e.getMessage())
              .addDetails(
                  Any.pack(
                      ErrorInfo.newBuilder().setReason(e.code().name()).setDomain(DOMAIN).build()));
      if (e.field() != null) {
        b.addDetails(
            Any.pack(
                BadRequest.newBuilder()
                    .addFieldViolations(
                        BadRequest.FieldViolation.newBuilder()
                            .setField(e.field())
                            .setDescription(e.getMessage()))
                    .build()));
      }
      if (e.retryAfter() != null) {
        b.addDetails(
            Any.pack(
                RetryInfo.newBuilder()
                    .setRetryDelay(
                        com.google.protobuf.Duration.newBuilder()
                            .setSeconds(Math.max(1, e.retryAfter().toSeconds())))
                    .build()));
      }
      return b.build();
    }
    if (t instanceof StatusRuntimeException || t instanceof StatusException) {
      Status s = Status.fromThrowable(t);
      return simple(s.getCode(), s.getDescription());
    }
    if (t instanceof InvalidProtocolBufferException || isJsonParseFailure(t)) {
      // Malformed JSON or an unknown enum/field in a transcoded request body.
      return simple(
          Status.Code.INVALID_ARGUMENT, "request body: " + EnumHints.rewrite(describe(t)));
    }
    if (status.getCode() != Status.Code.UNKNOWN && status.getCode() != Status.Code.INTERNAL) {
      return simple(status.getCode(), status.getDescription());
    }
    logger.error("Unexpected failure in a control-plane call", t);
    return simple(Status.Code.INTERNAL, "internal error; see the control-plane log");
  }

  static com.google.rpc.Status simple(Status.Code code, @Nullable String message) {
    String msg = message == null ? code.name().toLowerCase(Locale.ROOT) : message;
    return com.google.rpc.Status.newBuilder()
        .setCode(code.value())
        .setMessage(msg)
        .addDetails(
            Any.pack(ErrorInfo.newBuilder().setReason(code.name()).setDomain(DOMAIN).build()))
        .build();
  }

  private static boolean isJsonParseFailure(Throwable t) {
    String name = t.getClass().getName();
    return name.startsWith("com.fasterxml.jackson.core") || name.contains("JsonParse");
  }

  private static String describe(Throwable t) {
    String m = t.getMessage();
    return m == null ? t.getClass().getSimpleName() : m.split("\n", 2)[0];
  }

  private static Throwable unwrap(Throwable t) {
    Throwable cur = t;
    while ((cur instanceof java.util.concurrent.CompletionException
            || cur instanceof java.util.concurrent.ExecutionException)
        && cur.getCause() != null) {
      cur = cur.getCause();
    }
    return cur;
  }
}
