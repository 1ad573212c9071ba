package io.agentrouter.controlplane.tenancy;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Empty;
import io.agentrouter.controlplane.identity.Authenticator;
import io.agentrouter.controlplane.identity.Caller;
import io.agentrouter.controlplane.identity.Principal;
import io.agentrouter.controlplane.rpc.ApiException;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.controlplane.rpc.Rpc;
import io.agentrouter.controlplane.tenancy.TenancyStore.CustomerRow;
import io.agentrouter.controlplane.tenancy.TenancyStore.MemberRow;
import io.agentrouter.proto.admin.v1.AddCustomerMemberRequest;
import io.agentrouter.proto.admin.v1.CreateCustomerRequest;
import io.agentrouter.proto.admin.v1.Customer;
import io.agentrouter.proto.admin.v1.CustomerServiceGrpc;
import io.agentrouter.proto.admin.v1.GetCustomerRequest;
import io.agentrouter.proto.admin.v1.ListCustomerMembersRequest;
import io.agentrouter.proto.admin.v1.ListCustomersRequest;
import io.agentrouter.proto.admin.v1.ListCustomersResponse;
import io.agentrouter.proto.admin.v1.ListMembersResponse;
import io.agentrouter.proto.admin.v1.Member;
import io.agentrouter.proto.admin.v1.RemoveCustomerMemberRequest;
import io.agentrouter.proto.admin.v1.UpdateCustomerMemberRequest;
import io.agentrouter.proto.admin.v1.UpdateCustomerRequest;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.UUID;

/** Customers and customer-level members. */
public final class CustomerGrpcService extends CustomerServiceGrpc.CustomerServiceImplBase {
  private final Authenticator auth;
  private final Access access;
  private final TenancyStore store;
  private final MemberResolver members;

  public CustomerGrpcService(Authenticator auth, Access access, MemberResolver members) {
    this.auth = requireNonNull(auth, "auth");
    this.access = requireNonNull(access, "access");
    this.store = access.store();
    this.members = requireNonNull(members, "members");
  }

  @Override
  public void createCustomer(CreateCustomerRequest req, StreamObserver<Customer> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          Caller caller = auth.current();
          String name = Fields.name("name", req.getName(), Fields.MAX_NAME);
          if (caller.bound()) {
            throw ApiException.forbidden(
                "an API key bound to project '"
                    + caller.boundProjectId()
                    + "' may not create customers (expected an OIDC token or an operator key)");
          }
          return TenancyProtos.customer(store.createCustomer(name, caller.principalId()));
        });
  }

  @Override
  public void listCustomers(ListCustomersRequest req, StreamObserver<ListCustomersResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          int size = Fields.pageSize("page_size", req.getPageSize(), 100, 500);
          int offset = Fields.pageOffset("page_token", req.getPageToken());
          Caller caller = auth.current();
          UUID visibleTo = caller.operator() ? null : caller.principalId();
          List<CustomerRow> rows =
              store.customers(visibleTo, caller.boundCustomerId(), offset, size);
          ListCustomersResponse.Builder b = ListCustomersResponse.newBuilder();
          rows.forEach(r -> b.addCustomers(TenancyProtos.customer(r)));
          return b.setNextPageToken(Fields.nextPageToken(offset, size, rows.size())).build();
        });
  }

  @Override
  public void getCustomer(GetCustomerRequest req, StreamObserver<Customer> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID id = Fields.uuid("customer_id", req.getCustomerId());
          return TenancyProtos.customer(access.customer(auth.current(), id).customer());
        });
  }

  @Override
  public void updateCustomer(UpdateCustomerRequest req, StreamObserver<Customer> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID id = Fields.uuid("customer_id", req.getCustomerId());
          String name = req.hasName() ? Fields.name("name", req.getName(), Fields.MAX_NAME) : null;
          CustomerRow row = access.customer(auth.current(), id, Role.ADMIN, "update the customer");
          return TenancyProtos.customer(name == null ? row : store.renameCustomer(id, name));
        });
  }

  @Override
  public void listCustomerMembers(
      ListCustomerMembersRequest req, StreamObserver<ListMembersResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID id = Fields.uuid("customer_id", req.getCustomerId());
          access.customer(auth.current(), id, Role.VIEWER, "list customer members");
          ListMembersResponse.Builder b = ListMembersResponse.newBuilder();
          store.customerMembers(id).forEach(m -> b.addMembers(TenancyProtos.member(m)));
          return b.build();
        });
  }

  @Override
  public void addCustomerMember(AddCustomerMemberRequest req, StreamObserver<Member> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID id = Fields.uuid("customer_id", req.getCustomerId());
          Role role = Role.fromProto("role", req.getRole());
          Caller caller = auth.current();
          access.customer(
              caller,
              id,
              role == Role.OWNER ? Role.OWNER : Role.ADMIN,
              "add members with role '" + role.dbName() + "'");
          Principal p =
              members.resolve(req.getPrincipalId(), req.getOidcIssuer(), req.getOidcSubject());
          MemberRow m = store.addCustomerMember(id, p.id(), role, p.displayName());
          return TenancyProtos.member(m);
        });
  }

  @Override
  public void updateCustomerMember(UpdateCustomerMemberRequest req, StreamObserver<Member> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID id = Fields.uuid("customer_id", req.getCustomerId());
          UUID principal = Fields.uuid("principal_id", req.getPrincipalId());
          Role role = Role.fromProto("role", req.getRole());
          Caller caller = auth.current();
          access.customer(caller, id);
          MemberRow current = store.customerMember(id, principal);
          if (current == null) {
            throw ApiException.notFound("member", principal);
          }
          access.customer(caller, id, Role.ADMIN, "change member roles");
          if (role == Role.OWNER || current.role() == Role.OWNER) {
            access.customer(caller, id, Role.OWNER, "grant or take away the owner role");
          }
          store.changeCustomerMember(id, principal, role);
          return TenancyProtos.member(
              requireNonNull(store.customerMember(id, principal), "member"));
        });
  }

  @Override
  public void removeCustomerMember(RemoveCustomerMemberRequest req, StreamObserver<Empty> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID id = Fields.uuid("customer_id", req.getCustomerId());
          UUID principal = Fields.uuid("principal_id", req.getPrincipalId());
          Caller caller = auth.current();
          access.customer(caller, id);
          MemberRow current = store.customerMember(id, principal);
          if (current == null) {
            throw ApiException.notFound("member", principal);
          }
          access.customer(caller, id, Role.ADMIN, "remove members");
          if (current.role() == Role.OWNER) {
            access.customer(caller, id, Role.OWNER, "remove an owner");
          }
          store.changeCustomerMember(id, principal, null);
          return Empty.getDefaultInstance();
        });
  }
}
