package io.agentrouter.sdk;

import static java.util.Objects.requireNonNull;

import io.agentrouter.proto.admin.v1.CreateProviderKeyRequest;
import io.agentrouter.proto.admin.v1.DeleteProviderKeyRequest;
import io.agentrouter.proto.admin.v1.GetProviderKeyRequest;
import io.agentrouter.proto.admin.v1.ListProviderKeysRequest;
import io.agentrouter.proto.admin.v1.ProviderKey;
import io.agentrouter.proto.admin.v1.ProviderKeyServiceGrpc.ProviderKeyServiceBlockingStub;
import io.agentrouter.proto.admin.v1.UpdateProviderKeyRequest;
import java.util.List;

/** BYOK provider keys of a project. Secrets are write-only: reads show the last four characters. */
public final class ProviderKeysClient {
  private final ProviderKeyServiceBlockingStub stub;
  private final Calls calls;

  ProviderKeysClient(ProviderKeyServiceBlockingStub stub, Calls calls) {
    this.stub = stub;
    this.calls = calls;
  }

  /** Stores a provider key (provider, name, secret, optional base URL). Not retried. */
  public ProviderKey create(CreateProviderKeyRequest request) {
    requireNonNull(request, "request");
    return calls.write(() -> stub.createProviderKey(request));
  }

  /** A project's provider keys. */
  public List<ProviderKey> list(String customerId, String projectId) {
    var request =
        ListProviderKeysRequest.newBuilder()
            .setCustomerId(requireNonNull(customerId, "customerId"))
            .setProjectId(requireNonNull(projectId, "projectId"))
            .build();
    return calls.read(() -> stub.listProviderKeys(request).getProviderKeysList());
  }

  /** A provider key by id. */
  public ProviderKey get(String customerId, String projectId, String providerKeyId) {
    var request =
        GetProviderKeyRequest.newBuilder()
            .setCustomerId(requireNonNull(customerId, "customerId"))
            .setProjectId(requireNonNull(projectId, "projectId"))
            .setProviderKeyId(requireNonNull(providerKeyId, "providerKeyId"))
            .build();
    return calls.read(() -> stub.getProviderKey(request));
  }

  /** Applies the fields set in {@code request} (name, base URL, secret rotation). */
  public ProviderKey update(UpdateProviderKeyRequest request) {
    requireNonNull(request, "request");
    return calls.write(() -> stub.updateProviderKey(request));
  }

  /** Deletes a provider key. */
  public void delete(String customerId, String projectId, String providerKeyId) {
    var request =
        DeleteProviderKeyRequest.newBuilder()
            .setCustomerId(requireNonNull(customerId, "customerId"))
            .setProjectId(requireNonNull(projectId, "projectId"))
            .setProviderKeyId(requireNonNull(providerKeyId, "providerKeyId"))
            .build();
    calls.write(() -> stub.deleteProviderKey(request));
  }
}
