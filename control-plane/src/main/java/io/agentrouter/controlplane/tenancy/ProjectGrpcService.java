package io.agentrouter.controlplane.tenancy;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.Empty;
import io.agentrouter.controlplane.identity.Authenticator;
import io.agentrouter.controlplane.identity.Caller;
import io.agentrouter.controlplane.identity.Principal;
import io.agentrouter.controlplane.keys.Money;
import io.agentrouter.controlplane.rpc.ApiException;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.controlplane.rpc.Rpc;
import io.agentrouter.controlplane.tenancy.TenancyStore.ProjectRow;
import io.agentrouter.proto.admin.v1.AddProjectMemberRequest;
import io.agentrouter.proto.admin.v1.CreateProjectRequest;
import io.agentrouter.proto.admin.v1.GetProjectRequest;
import io.agentrouter.proto.admin.v1.ListMembersResponse;
import io.agentrouter.proto.admin.v1.ListProjectMembersRequest;
import io.agentrouter.proto.admin.v1.ListProjectsRequest;
import io.agentrouter.proto.admin.v1.ListProjectsResponse;
import io.agentrouter.proto.admin.v1.Member;
import io.agentrouter.proto.admin.v1.Project;
import io.agentrouter.proto.admin.v1.ProjectServiceGrpc;
import io.agentrouter.proto.admin.v1.RemoveProjectMemberRequest;
import io.agentrouter.proto.admin.v1.UpdateProjectMemberRequest;
import io.agentrouter.proto.admin.v1.UpdateProjectRequest;
import io.grpc.stub.StreamObserver;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.UUID;

/** Projects and project-level members. */
public final class ProjectGrpcService extends ProjectServiceGrpc.ProjectServiceImplBase {
  private final Authenticator auth;
  private final Access access;
  private final TenancyStore store;
  private final MemberResolver members;

  public ProjectGrpcService(Authenticator auth, Access access, MemberResolver members) {
    this.auth = requireNonNull(auth, "auth");
    this.access = requireNonNull(access, "access");
    this.store = access.store();
    this.members = requireNonNull(members, "members");
  }

  @Override
  public void createProject(CreateProjectRequest req, StreamObserver<Project> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID customerId = Fields.uuid("customer_id", req.getCustomerId());
          String name = Fields.name("name", req.getName(), Fields.MAX_NAME);
          String region = Fields.region("region", req.getRegion());
          String model = Fields.model("default_model", req.getDefaultModel());
          Long budget = Money.parseBudgetUsd("monthly_budget_usd", req.getMonthlyBudgetUsd());
          List<String> allowed = allowedRegions(req.getAllowedRegionsList());
          access.customer(auth.current(), customerId, Role.ADMIN, "create projects");
          return TenancyProtos.project(
              store.createProject(customerId, name, region, model, budget, allowed));
        });
  }

  @Override
  public void listProjects(ListProjectsRequest req, StreamObserver<ListProjectsResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID customerId = Fields.uuid("customer_id", req.getCustomerId());
          int size = Fields.pageSize("page_size", req.getPageSize(), 100, 500);
          int offset = Fields.pageOffset("page_token", req.getPageToken());
          Caller caller = auth.current();
          Access.CustomerAccess ca = access.customer(caller, customerId);
          // Customer-level members see every project; others only their own.
          UUID memberOf = ca.role() == null ? caller.principalId() : null;
          List<ProjectRow> rows =
              store.projects(customerId, memberOf, caller.boundProjectId(), offset, size);
          ListProjectsResponse.Builder b = ListProjectsResponse.newBuilder();
          rows.forEach(r -> b.addProjects(TenancyProtos.project(r)));
          return b.setNextPageToken(Fields.nextPageToken(offset, size, rows.size())).build();
        });
  }

  @Override
  public void getProject(GetProjectRequest req, StreamObserver<Project> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID customerId = Fields.uuid("customer_id", req.getCustomerId());
          UUID projectId = Fields.uuid("project_id", req.getProjectId());
          return TenancyProtos.project(
              access.project(auth.current(), customerId, projectId).project());
        });
  }

  @Override
  public void updateProject(UpdateProjectRequest req, StreamObserver<Project> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID customerId = Fields.uuid("customer_id", req.getCustomerId());
          UUID projectId = Fields.uuid("project_id", req.getProjectId());
          String name = req.hasName() ? Fields.name("name", req.getName(), Fields.MAX_NAME) : null;
          String region = req.hasRegion() ? Fields.region("region", req.getRegion()) : null;
          String model =
              req.hasDefaultModel() ? Fields.model("default_model", req.getDefaultModel()) : null;
          TenancyStore.BudgetChange budget =
              req.hasMonthlyBudgetUsd()
                  ? new TenancyStore.BudgetChange(
                      Money.parseBudgetUsd("monthly_budget_usd", req.getMonthlyBudgetUsd()))
                  : TenancyStore.BudgetChange.UNCHANGED;
          List<String> allowed =
              req.hasAllowedRegions()
                  ? allowedRegions(req.getAllowedRegions().getRegionsList())
                  : null;
          access.project(auth.current(), customerId, projectId, Role.ADMIN, "update the project");
          return TenancyProtos.project(
              store.updateProject(projectId, name, region, model, budget, allowed));
        });
  }

  private static final int MAX_ALLOWED_REGIONS = 10;

  /** Valid, distinct regions, at most {@value #MAX_ALLOWED_REGIONS}, in the order given. */
  private static List<String> allowedRegions(List<String> in) {
    if (in.size() > MAX_ALLOWED_REGIONS) {
      throw ApiException.invalid(
          "allowed_regions", in.size() + " regions (expected at most " + MAX_ALLOWED_REGIONS + ")");
    }
    LinkedHashSet<String> out = new LinkedHashSet<>();
    for (int i = 0; i < in.size(); i++) {
      out.add(Fields.region("allowed_regions[" + i + "]", in.get(i)));
    }
    return List.copyOf(out);
  }

  @Override
  public void listProjectMembers(
      ListProjectMembersRequest req, StreamObserver<ListMembersResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID customerId = Fields.uuid("customer_id", req.getCustomerId());
          UUID projectId = Fields.uuid("project_id", req.getProjectId());
          access.project(
              auth.current(), customerId, projectId, Role.VIEWER, "list project members");
          ListMembersResponse.Builder b = ListMembersResponse.newBuilder();
          store
              .projectMembers(customerId, projectId)
              .forEach(m -> b.addMembers(TenancyProtos.member(m)));
          return b.build();
        });
  }

  @Override
  public void addProjectMember(AddProjectMemberRequest req, StreamObserver<Member> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID customerId = Fields.uuid("customer_id", req.getCustomerId());
          UUID projectId = Fields.uuid("project_id", req.getProjectId());
          Role role = Role.fromProto("role", req.getRole());
          access.project(
              auth.current(),
              customerId,
              projectId,
              role == Role.OWNER ? Role.OWNER : Role.ADMIN,
              "add members with role '" + role.dbName() + "'");
          Principal p =
              members.resolve(req.getPrincipalId(), req.getOidcIssuer(), req.getOidcSubject());
          return TenancyProtos.member(
              store.addProjectMember(customerId, projectId, p.id(), role, p.displayName()));
        });
  }

  @Override
  public void updateProjectMember(UpdateProjectMemberRequest req, StreamObserver<Member> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID customerId = Fields.uuid("customer_id", req.getCustomerId());
          UUID projectId = Fields.uuid("project_id", req.getProjectId());
          UUID principal = Fields.uuid("principal_id", req.getPrincipalId());
          Role role = Role.fromProto("role", req.getRole());
          Caller caller = auth.current();
          Access.ProjectAccess pa = access.project(caller, customerId, projectId);
          var current = store.projectMember(customerId, projectId, principal);
          if (current == null) {
            // Like a missing one, another tenant's principal is 404 whatever the caller's role.
            throw ApiException.notFound("member", principal);
          }
          Role needed =
              role == Role.OWNER || current.role() == Role.OWNER ? Role.OWNER : Role.ADMIN;
          Access.require(pa.role(), needed, "project '" + projectId + "'", "change member roles");
          store.changeProjectMember(projectId, principal, role);
          return TenancyProtos.member(
              requireNonNull(store.projectMember(customerId, projectId, principal), "member"));
        });
  }

  @Override
  public void removeProjectMember(RemoveProjectMemberRequest req, StreamObserver<Empty> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID customerId = Fields.uuid("customer_id", req.getCustomerId());
          UUID projectId = Fields.uuid("project_id", req.getProjectId());
          UUID principal = Fields.uuid("principal_id", req.getPrincipalId());
          Access.ProjectAccess pa = access.project(auth.current(), customerId, projectId);
          if (store.projectMember(customerId, projectId, principal) == null) {
            throw ApiException.notFound("member", principal);
          }
          Access.require(pa.role(), Role.ADMIN, "project '" + projectId + "'", "remove members");
          store.changeProjectMember(projectId, principal, null);
          return Empty.getDefaultInstance();
        });
  }
}
