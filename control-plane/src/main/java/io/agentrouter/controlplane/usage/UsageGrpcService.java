package io.agentrouter.controlplane.usage;

import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.db.tables.records.RequestLogRecord;
import io.agentrouter.controlplane.identity.Authenticator;
import io.agentrouter.controlplane.keys.Money;
import io.agentrouter.controlplane.rpc.ApiException;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.controlplane.rpc.Rpc;
import io.agentrouter.controlplane.tenancy.Access;
import io.agentrouter.proto.admin.v1.GetUsageRequest;
import io.agentrouter.proto.admin.v1.GetUsageResponse;
import io.agentrouter.proto.admin.v1.ListRequestLogsRequest;
import io.agentrouter.proto.admin.v1.ListRequestLogsResponse;
import io.agentrouter.proto.admin.v1.RequestLog;
import io.agentrouter.proto.admin.v1.UsageRow;
import io.agentrouter.proto.admin.v1.UsageServiceGrpc;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * Request logs (filtered, newest first, keyset-paged with opaque tokens) and usage rollups of one
 * project. Any role on the project may read them; another tenant's project answers 404.
 */
final class UsageGrpcService extends UsageServiceGrpc.UsageServiceImplBase {
  static final int DEFAULT_PAGE = 100;
  static final int MAX_PAGE = 1000;
  private static final String TOKEN_PREFIX = "k1|";

  private final Authenticator auth;
  private final Access access;
  private final UsageQueries queries;
  private final Clock clock;

  UsageGrpcService(Authenticator auth, Access access, UsageQueries queries, Clock clock) {
    this.auth = requireNonNull(auth, "auth");
    this.access = requireNonNull(access, "access");
    this.queries = requireNonNull(queries, "queries");
    this.clock = requireNonNull(clock, "clock");
  }

  @Override
  public void listRequestLogs(
      ListRequestLogsRequest req, StreamObserver<ListRequestLogsResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID customerId = Fields.uuid("customer_id", req.getCustomerId());
          UUID projectId = Fields.uuid("project_id", req.getProjectId());
          Boolean error =
              switch (req.getStatus()) {
                case "" -> null;
                case "success", "ok" -> false;
                case "error" -> true;
                default ->
                    throw ApiException.invalid(
                        "status",
                        "'"
                            + shorten(req.getStatus())
                            + "' is unknown (expected success or error)");
              };
          String kind =
              switch (req.getKind()) {
                case "" -> null;
                case "chat", "embeddings", "images" -> req.getKind();
                default ->
                    throw ApiException.invalid(
                        "kind",
                        "'"
                            + shorten(req.getKind())
                            + "' is unknown (expected chat, embeddings or"
                            + " images)");
              };
          String model = Fields.model("model", req.getModel());
          UUID keyId = Fields.optionalUuid("key_id", req.getKeyId());
          Instant from = req.hasStartTime() ? Fields.instant(req.getStartTime()) : null;
          Instant to = req.hasEndTime() ? Fields.instant(req.getEndTime()) : null;
          if (from != null && to != null && !from.isBefore(to)) {
            throw ApiException.invalid(
                "end_time", to + " is not after start_time " + from + " (expected a later time)");
          }
          int pageSize = Fields.pageSize("page_size", req.getPageSize(), DEFAULT_PAGE, MAX_PAGE);
          UsageQueries.Cursor after = decode(req.getPageToken());
          access.project(auth.current(), customerId, projectId);

          List<RequestLogRecord> rows =
              queries.logs(
                  new UsageQueries.LogFilter(
                      projectId, error, model.isEmpty() ? null : model, keyId, kind, from, to),
                  after,
                  pageSize + 1);
          ListRequestLogsResponse.Builder b = ListRequestLogsResponse.newBuilder();
          for (int i = 0; i < Math.min(pageSize, rows.size()); i++) {
            b.addRequestLogs(toProto(rows.get(i)));
          }
          if (rows.size() > pageSize) {
            RequestLogRecord last = rows.get(pageSize - 1);
            b.setNextPageToken(encode(last.getStartedAt().toInstant(), last.getRequestId()));
          }
          return b.build();
        });
  }

  @Override
  public void getUsage(GetUsageRequest req, StreamObserver<GetUsageResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID customerId = Fields.uuid("customer_id", req.getCustomerId());
          UUID projectId = Fields.uuid("project_id", req.getProjectId());
          UsageQueries.Grouping grouping =
              switch (req.getGroupBy()) {
                case USAGE_GROUP_BY_UNSPECIFIED, USAGE_GROUP_BY_DAY -> UsageQueries.Grouping.DAY;
                case USAGE_GROUP_BY_MODEL -> UsageQueries.Grouping.MODEL;
                case USAGE_GROUP_BY_KEY -> UsageQueries.Grouping.KEY;
                default ->
                    throw ApiException.invalid(
                        "group_by",
                        "is unknown (expected USAGE_GROUP_BY_DAY, USAGE_GROUP_BY_MODEL or"
                            + " USAGE_GROUP_BY_KEY)");
              };
          Instant now = clock.instant();
          Instant to = req.hasEndTime() ? Fields.instant(req.getEndTime()) : now;
          Instant from =
              req.hasStartTime()
                  ? Fields.instant(req.getStartTime())
                  : now.minus(Duration.ofDays(30));
          if (!from.isBefore(to)) {
            throw ApiException.invalid(
                "end_time", to + " is not after start_time " + from + " (expected a later time)");
          }
          access.project(auth.current(), customerId, projectId);
          // Rollups are daily: the period widens to whole UTC days.
          LocalDate fromDay = from.atOffset(ZoneOffset.UTC).toLocalDate();
          LocalDate lastDay = to.minusNanos(1).atOffset(ZoneOffset.UTC).toLocalDate();
          GetUsageResponse.Builder b = GetUsageResponse.newBuilder();
          long total = 0;
          for (UsageQueries.Totals t :
              queries.usage(projectId, grouping, fromDay, lastDay.plusDays(1))) {
            String group =
                grouping == UsageQueries.Grouping.KEY
                        && t.group().equals(UsageStore.NO_KEY.toString())
                    ? ""
                    : t.group();
            b.addRows(
                UsageRow.newBuilder()
                    .setGroup(group)
                    .setRequests(t.requests())
                    .setErrors(t.errors())
                    .setPromptTokens(t.promptTokens())
                    .setCompletionTokens(t.completionTokens())
                    .setCostUsd(Money.formatUsd(t.costMicros())));
            total += t.costMicros();
          }
          return b.setTotalCostUsd(Money.formatUsd(total)).build();
        });
  }

  private static RequestLog toProto(RequestLogRecord r) {
    return RequestLog.newBuilder()
        .setRequestId(r.getRequestId())
        .setCustomerId(r.getCustomerId().toString())
        .setProjectId(r.getProjectId().toString())
        .setKeyId(r.getKeyId() == null ? "" : r.getKeyId().toString())
        .setModelRequested(r.getModelRequested())
        .setModelServed(r.getModelServed())
        .setProvider(r.getProvider())
        .setDataplaneId(r.getDataplaneId().toString())
        .setStatusCode(r.getStatusCode())
        .setErrorClass(r.getErrorClass())
        .setPromptTokens(r.getPromptTokens())
        .setCompletionTokens(r.getCompletionTokens())
        .setCachedTokens(r.getCachedTokens())
        .setCostUsd(Money.formatUsd(r.getCostMicros()))
        .setLatencyMs(r.getLatencyMs())
        .setUpstreamMs(r.getUpstreamMs())
        .setStartedAt(Fields.timestamp(r.getStartedAt().toInstant()))
        .setIdempotencyKey(r.getIdempotencyKey())
        .setStreamed(r.getStreamed())
        .setKind(r.getKind())
        .build();
  }

  static String encode(Instant startedAt, String requestId) {
    String raw =
        TOKEN_PREFIX + startedAt.getEpochSecond() + "." + startedAt.getNano() + "|" + requestId;
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(raw.getBytes(StandardCharsets.UTF_8));
  }

  static UsageQueries.@Nullable Cursor decode(String token) {
    if (token.isEmpty()) {
      return null;
    }
    try {
      String raw = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
      if (raw.startsWith(TOKEN_PREFIX)) {
        String[] parts = raw.substring(TOKEN_PREFIX.length()).split("\\|", 2);
        String[] time = parts[0].split("\\.", 2);
        if (parts.length == 2 && time.length == 2 && !parts[1].isEmpty()) {
          return new UsageQueries.Cursor(
              Instant.ofEpochSecond(Long.parseLong(time[0]), Long.parseLong(time[1])), parts[1]);
        }
      }
    } catch (IllegalArgumentException | java.time.DateTimeException e) {
      // reported below
    }
    throw ApiException.invalid(
        "page_token",
        "is not a token returned by this API (expected next_page_token of a previous page)");
  }

  private static String shorten(String v) {
    return v.length() <= 64 ? v : v.substring(0, 64) + "…";
  }
}
