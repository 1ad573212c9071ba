package io.agentrouter.controlplane.identity;

import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.controlplane.rpc.Rpc;
import io.agentrouter.controlplane.tenancy.Access;
import io.agentrouter.controlplane.tenancy.TenancyStore.MembershipRow;
import io.agentrouter.proto.admin.v1.Credential;
import io.agentrouter.proto.admin.v1.CredentialKind;
import io.agentrouter.proto.admin.v1.IdentityServiceGrpc;
import io.agentrouter.proto.admin.v1.Membership;
import io.agentrouter.proto.admin.v1.WhoAmIRequest;
import io.agentrouter.proto.admin.v1.WhoAmIResponse;
import io.grpc.stub.StreamObserver;

/** {@code GET /v1/me}. */
public final class IdentityGrpcService extends IdentityServiceGrpc.IdentityServiceImplBase {
  private final Authenticator auth;
  private final Access access;

  public IdentityGrpcService(Authenticator auth, Access access) {
    this.auth = requireNonNull(auth, "auth");
    this.access = requireNonNull(access, "access");
  }

  @Override
  public void whoAmI(WhoAmIRequest request, StreamObserver<WhoAmIResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          Caller caller = auth.current();
          Credential.Builder cred =
              Credential.newBuilder()
                  .setKind(
                      caller.credential() == Caller.Credential.API_KEY
                          ? CredentialKind.CREDENTIAL_KIND_API_KEY
                          : CredentialKind.CREDENTIAL_KIND_OIDC_TOKEN);
          if (caller.keyId() != null) {
            cred.setKeyId(caller.keyId().toString());
          }
          if (caller.boundCustomerId() != null) {
            cred.setCustomerId(caller.boundCustomerId().toString());
          }
          if (caller.boundProjectId() != null) {
            cred.setProjectId(caller.boundProjectId().toString());
          }
          WhoAmIResponse.Builder b =
              WhoAmIResponse.newBuilder()
                  .setPrincipal(caller.principal().toProto())
                  .setCredential(cred);
          for (MembershipRow m : access.store().memberships(caller.principalId())) {
            if (caller.bound()
                && !(m.customerId().equals(caller.boundCustomerId())
                    && (m.projectId() == null || m.projectId().equals(caller.boundProjectId())))) {
              continue;
            }
            Membership.Builder mb =
                Membership.newBuilder()
                    .setCustomerId(m.customerId().toString())
                    .setRole(m.role().toProto())
                    .setCreatedAt(Fields.timestamp(m.createdAt()))
                    .setCustomerName(m.customerName());
            if (m.projectId() != null) {
              mb.setProjectId(m.projectId().toString());
              mb.setProjectName(m.projectName() == null ? "" : m.projectName());
            }
            b.addMemberships(mb);
          }
          Access.Defaults d = access.defaults(caller);
          if (d.customerId() != null) {
            b.setDefaultCustomerId(d.customerId().toString());
          }
          if (d.projectId() != null) {
            b.setDefaultProjectId(d.projectId().toString());
          }
          return b.build();
        });
  }
}
