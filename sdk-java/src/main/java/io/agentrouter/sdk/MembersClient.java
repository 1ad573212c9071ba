package io.agentrouter.sdk;

import static java.util.Objects.requireNonNull;

import io.agentrouter.proto.admin.v1.AddCustomerMemberRequest;
import io.agentrouter.proto.admin.v1.AddProjectMemberRequest;
import io.agentrouter.proto.admin.v1.CustomerServiceGrpc.CustomerServiceBlockingStub;
import io.agentrouter.proto.admin.v1.ListCustomerMembersRequest;
import io.agentrouter.proto.admin.v1.ListProjectMembersRequest;
import io.agentrouter.proto.admin.v1.Member;
import io.agentrouter.proto.admin.v1.ProjectServiceGrpc.ProjectServiceBlockingStub;
import io.agentrouter.proto.admin.v1.RemoveCustomerMemberRequest;
import io.agentrouter.proto.admin.v1.RemoveProjectMemberRequest;
import io.agentrouter.proto.admin.v1.Role;
import io.agentrouter.proto.admin.v1.UpdateCustomerMemberRequest;
import io.agentrouter.proto.admin.v1.UpdateProjectMemberRequest;
import java.util.List;

/** Memberships of customers and projects: who holds which role (owner, admin, member, viewer). */
public final class MembersClient {
  private final CustomerServiceBlockingStub customers;
  private final ProjectServiceBlockingStub projects;
  private final Calls calls;

  MembersClient(
      CustomerServiceBlockingStub customers, ProjectServiceBlockingStub projects, Calls calls) {
    this.customers = customers;
    this.projects = projects;
    this.calls = calls;
  }

  /** The members of a customer. */
  public List<Member> listCustomerMembers(String customerId) {
    requireNonNull(customerId, "customerId");
    var request = ListCustomerMembersRequest.newBuilder().setCustomerId(customerId).build();
    return calls.read(() -> customers.listCustomerMembers(request).getMembersList());
  }

  /** Adds a member to a customer (by principal id, or by OIDC issuer and subject). */
  public Member addCustomerMember(AddCustomerMemberRequest request) {
    requireNonNull(request, "request");
    return calls.write(() -> customers.addCustomerMember(request));
  }

  /** Changes a customer member's role. */
  public Member updateCustomerMember(String customerId, String principalId, Role role) {
    var request =
        UpdateCustomerMemberRequest.newBuilder()
            .setCustomerId(requireNonNull(customerId, "customerId"))
            .setPrincipalId(requireNonNull(principalId, "principalId"))
            .setRole(requireNonNull(role, "role"))
            .build();
    return calls.write(() -> customers.updateCustomerMember(request));
  }

  /** Removes a member from a customer. */
  public void removeCustomerMember(String customerId, String principalId) {
    var request =
        RemoveCustomerMemberRequest.newBuilder()
            .setCustomerId(requireNonNull(customerId, "customerId"))
            .setPrincipalId(requireNonNull(principalId, "principalId"))
            .build();
    calls.write(() -> customers.removeCustomerMember(request));
  }

  /** The members of a project. */
  public List<Member> listProjectMembers(String customerId, String projectId) {
    var request =
        ListProjectMembersRequest.newBuilder()
            .setCustomerId(requireNonNull(customerId, "customerId"))
            .setProjectId(requireNonNull(projectId, "projectId"))
            .build();
    return calls.read(() -> projects.listProjectMembers(request).getMembersList());
  }

  /** Adds a member to a project. */
  public Member addProjectMember(AddProjectMemberRequest request) {
    requireNonNull(request, "request");
    return calls.write(() -> projects.addProjectMember(request));
  }

  /** Changes a project member's role. */
  public Member updateProjectMember(
      String customerId, String projectId, String principalId, Role role) {
    var request =
        UpdateProjectMemberRequest.newBuilder()
            .setCustomerId(requireNonNull(customerId, "customerId"))
            .setProjectId(requireNonNull(projectId, "projectId"))
            .setPrincipalId(requireNonNull(principalId, "principalId"))
            .setRole(requireNonNull(role, "role"))
            .build();
    return calls.write(() -> projects.updateProjectMember(request));
  }

  /** Removes a member from a project. */
  public void removeProjectMember(String customerId, String projectId, String principalId) {
    var request =
        RemoveProjectMemberRequest.newBuilder()
            .setCustomerId(requireNonNull(customerId, "customerId"))
            .setProjectId(requireNonNull(projectId, "projectId"))
            .setPrincipalId(requireNonNull(principalId, "principalId"))
            .build();
    calls.write(() -> projects.removeProjectMember(request));
  }
}
