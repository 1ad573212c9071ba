package io.agentrouter.sdk;

import static java.util.Objects.requireNonNull;

import io.agentrouter.proto.admin.v1.GetUsageRequest;
import io.agentrouter.proto.admin.v1.GetUsageResponse;
import io.agentrouter.proto.admin.v1.ListRequestLogsRequest;
import io.agentrouter.proto.admin.v1.ListRequestLogsResponse;
import io.agentrouter.proto.admin.v1.UsageServiceGrpc.UsageServiceBlockingStub;

/** Request logs and usage rollups (by day, model or key, with cost) of a project. */
public final class UsageClient {
  private final UsageServiceBlockingStub stub;
  private final Calls calls;

  UsageClient(UsageServiceBlockingStub stub, Calls calls) {
    this.stub = stub;
    this.calls = calls;
  }

  /** One page of request logs matching the filters set in {@code request}. */
  public ListRequestLogsResponse requestLogs(ListRequestLogsRequest request) {
    requireNonNull(request, "request");
    return calls.read(() -> stub.listRequestLogs(request));
  }

  /** Usage rollups for the grouping and time range set in {@code request}. */
  public GetUsageResponse usage(GetUsageRequest request) {
    requireNonNull(request, "request");
    return calls.read(() -> stub.getUsage(request));
  }
}
