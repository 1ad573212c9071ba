package io.agentrouter.sdk;

import static java.util.Objects.requireNonNull;

import io.agentrouter.proto.admin.v1.ApiKey;
import io.agentrouter.proto.admin.v1.CreateKeyRequest;
import io.agentrouter.proto.admin.v1.CreateKeyResponse;
import io.agentrouter.proto.admin.v1.GetKeyRequest;
import io.agentrouter.proto.admin.v1.KeyServiceGrpc.KeyServiceBlockingStub;
import io.agentrouter.proto.admin.v1.ListKeysRequest;
import io.agentrouter.proto.admin.v1.ListKeysResponse;
import io.agentrouter.proto.admin.v1.RevokeKeyRequest;

/**
 * API keys of a project. {@link #create} is the only call that ever returns a secret; list and get
 * show the last four characters.
 */
public final class KeysClient {
  private final KeyServiceBlockingStub stub;
  private final Calls calls;

  KeysClient(KeyServiceBlockingStub stub, Calls calls) {
    this.stub = stub;
    this.calls = calls;
  }

  /** Creates a key with just a name. */
  public CreateKeyResponse create(String customerId, String projectId, String name) {
    return create(
        CreateKeyRequest.newBuilder()
            .setCustomerId(requireNonNull(customerId, "customerId"))
            .setProjectId(requireNonNull(projectId, "projectId"))
            .setName(requireNonNull(name, "name"))
            .build());
  }

  /** Creates a key (limits, budget, allowed models, expiry as set). Not retried. */
  public CreateKeyResponse create(CreateKeyRequest request) {
    requireNonNull(request, "request");
    return calls.write(() -> stub.createKey(request));
  }

  /** One page of a project's keys ({@code pageToken} "" for the first). */
  public ListKeysResponse list(
      String customerId, String projectId, int pageSize, String pageToken) {
    var request =
        ListKeysRequest.newBuilder()
            .setCustomerId(requireNonNull(customerId, "customerId"))
            .setProjectId(requireNonNull(projectId, "projectId"))
            .setPageSize(pageSize)
            .setPageToken(requireNonNull(pageToken, "pageToken"))
            .build();
    return calls.read(() -> stub.listKeys(request));
  }

  /** A key by id (without its secret). */
  public ApiKey get(String customerId, String projectId, String keyId) {
    var request =
        GetKeyRequest.newBuilder()
            .setCustomerId(requireNonNull(customerId, "customerId"))
            .setProjectId(requireNonNull(projectId, "projectId"))
            .setKeyId(requireNonNull(keyId, "keyId"))
            .build();
    return calls.read(() -> stub.getKey(request));
  }

  /** Revokes a key; data planes stop accepting it within seconds. */
  public ApiKey revoke(String customerId, String projectId, String keyId) {
    var request =
        RevokeKeyRequest.newBuilder()
            .setCustomerId(requireNonNull(customerId, "customerId"))
            .setProjectId(requireNonNull(projectId, "projectId"))
            .setKeyId(requireNonNull(keyId, "keyId"))
            .build();
    return calls.write(() -> stub.revokeKey(request));
  }
}
