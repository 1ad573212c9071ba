package io.agentrouter.sdk;

import static java.util.Objects.requireNonNull;

import io.agentrouter.proto.admin.v1.CreateProjectRequest;
import io.agentrouter.proto.admin.v1.GetProjectRequest;
import io.agentrouter.proto.admin.v1.ListProjectsRequest;
import io.agentrouter.proto.admin.v1.ListProjectsResponse;
import io.agentrouter.proto.admin.v1.Project;
import io.agentrouter.proto.admin.v1.ProjectServiceGrpc.ProjectServiceBlockingStub;
import io.agentrouter.proto.admin.v1.UpdateProjectRequest;

/** Projects of a customer: create, list, get, update. */
public final class ProjectsClient {
  private final ProjectServiceBlockingStub stub;
  private final Calls calls;

  ProjectsClient(ProjectServiceBlockingStub stub, Calls calls) {
    this.stub = stub;
    this.calls = calls;
  }

  /** Creates a project in {@code region} ({@code defaultModel} may be ""). Not retried. */
  public Project create(String customerId, String name, String region, String defaultModel) {
    requireNonNull(customerId, "customerId");
    requireNonNull(name, "name");
    requireNonNull(region, "region");
    requireNonNull(defaultModel, "defaultModel");
    return create(
        CreateProjectRequest.newBuilder()
            .setCustomerId(customerId)
            .setName(name)
            .setRegion(region)
            .setDefaultModel(defaultModel)
            .build());
  }

  /** Creates a project with every field of {@code request} (e.g. a monthly budget). Not retried. */
  public Project create(CreateProjectRequest request) {
    requireNonNull(request, "request");
    return calls.write(() -> stub.createProject(request));
  }

  /** One page of a customer's projects ({@code pageToken} "" for the first). */
  public ListProjectsResponse list(String customerId, int pageSize, String pageToken) {
    requireNonNull(customerId, "customerId");
    requireNonNull(pageToken, "pageToken");
    var request =
        ListProjectsRequest.newBuilder()
            .setCustomerId(customerId)
            .setPageSize(pageSize)
            .setPageToken(pageToken)
            .build();
    return calls.read(() -> stub.listProjects(request));
  }

  /** A project by id. */
  public Project get(String customerId, String projectId) {
    requireNonNull(customerId, "customerId");
    requireNonNull(projectId, "projectId");
    var request =
        GetProjectRequest.newBuilder().setCustomerId(customerId).setProjectId(projectId).build();
    return calls.read(() -> stub.getProject(request));
  }

  /** Applies the fields set in {@code request} (name, region, default model, monthly budget). */
  public Project update(UpdateProjectRequest request) {
    requireNonNull(request, "request");
    return calls.write(() -> stub.updateProject(request));
  }
}
