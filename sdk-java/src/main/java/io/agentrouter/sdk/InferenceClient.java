package io.agentrouter.sdk;

import static java.util.Objects.requireNonNull;

import io.agentrouter.proto.inference.v1.DataplaneURL;
import io.agentrouter.proto.inference.v1.GetDataplaneURLRequest;
import io.agentrouter.proto.inference.v1.InferenceIngressServiceGrpc.InferenceIngressServiceBlockingStub;
import io.agentrouter.proto.inference.v1.ListDataplaneURLsRequest;
import io.agentrouter.proto.inference.v1.PromptRequest;
import io.agentrouter.proto.inference.v1.PromptResponse;
import java.util.List;

/**
 * Inference ingress: send a prompt through the gateway, and find the data plane URLs the caller can
 * reach. Empty customer or project ids resolve to the caller's default (oldest membership).
 */
public final class InferenceClient {
  private final InferenceIngressServiceBlockingStub stub;
  private final Calls calls;

  InferenceClient(InferenceIngressServiceBlockingStub stub, Calls calls) {
    this.stub = stub;
    this.calls = calls;
  }

  /**
   * Sends {@code prompt} as a single user turn. Retried on UNAVAILABLE only when an idempotency key
   * is given.
   */
  public PromptResponse prompt(
      String customerId, String projectId, String prompt, PromptOption... options) {
    requireNonNull(customerId, "customerId");
    requireNonNull(projectId, "projectId");
    requireNonNull(prompt, "prompt");
    requireNonNull(options, "options");
    var b =
        PromptRequest.newBuilder()
            .setCustomerId(customerId)
            .setProjectId(projectId)
            .setPrompt(prompt);
    for (PromptOption o : options) {
      requireNonNull(o, "options[]").applyTo(b);
    }
    PromptRequest request = b.build();
    return calls.run(() -> stub.prompt(request), !request.getIdempotencyKey().isEmpty());
  }

  /** The data plane serving a project ({@code ""} for the caller's default). */
  public DataplaneURL getDataplaneUrl(String customerId, String projectId) {
    requireNonNull(customerId, "customerId");
    requireNonNull(projectId, "projectId");
    var request =
        GetDataplaneURLRequest.newBuilder()
            .setCustomerId(customerId)
            .setProjectId(projectId)
            .build();
    return calls.read(() -> stub.getDataplaneURL(request).getDataplane());
  }

  /** The data plane for the caller's default project. */
  public DataplaneURL getDataplaneUrl() {
    return getDataplaneUrl("", "");
  }

  /** Every data plane URL the caller can reach, one per project. */
  public List<DataplaneURL> listDataplaneUrls() {
    return calls.read(
        () ->
            stub.listDataplaneURLs(ListDataplaneURLsRequest.getDefaultInstance())
                .getDataplanesList());
  }
}
