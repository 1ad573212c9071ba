package io.agentrouter.sdk;

import io.agentrouter.proto.admin.v1.IdentityServiceGrpc.IdentityServiceBlockingStub;
import io.agentrouter.proto.admin.v1.WhoAmIRequest;
import io.agentrouter.proto.admin.v1.WhoAmIResponse;

/** Who the credential belongs to: principal, memberships, default customer and project. */
public final class IdentityClient {
  private final IdentityServiceBlockingStub stub;
  private final Calls calls;

  IdentityClient(IdentityServiceBlockingStub stub, Calls calls) {
    this.stub = stub;
    this.calls = calls;
  }

  /** The caller's principal, credential and memberships. */
  public WhoAmIResponse whoAmI() {
    return calls.read(() -> stub.whoAmI(WhoAmIRequest.getDefaultInstance()));
  }
}
