package io.agentrouter.controlplane.inference;

import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.dataplanes.DataplaneStore;
import io.agentrouter.controlplane.dataplanes.DataplaneStore.DataplaneRow;
import io.agentrouter.controlplane.identity.Authenticator;
import io.agentrouter.controlplane.identity.Caller;
import io.agentrouter.controlplane.rpc.ApiException;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.controlplane.rpc.Rpc;
import io.agentrouter.controlplane.tenancy.Access;
import io.agentrouter.controlplane.tenancy.Role;
import io.agentrouter.controlplane.tenancy.TenancyStore.ProjectRow;
import io.agentrouter.proto.inference.v1.DataplaneURL;
import io.agentrouter.proto.inference.v1.GetDataplaneURLRequest;
import io.agentrouter.proto.inference.v1.GetDataplaneURLResponse;
import io.agentrouter.proto.inference.v1.InferenceIngressServiceGrpc;
import io.agentrouter.proto.inference.v1.ListDataplaneURLsRequest;
import io.agentrouter.proto.inference.v1.ListDataplaneURLsResponse;
import io.agentrouter.proto.inference.v1.PromptRequest;
import io.agentrouter.proto.inference.v1.PromptResponse;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * The ingress service of seed 000. Customer and project come from the credential when it is bound
 * to one, else from the caller's oldest membership; explicit overrides are membership-checked and a
 * customer or project the caller cannot see answers 404.
 */
public final class InferenceGrpcService
    extends InferenceIngressServiceGrpc.InferenceIngressServiceImplBase {
  static final int MAX_PROMPT_CHARS = 1_000_000;

  private final Authenticator auth;
  private final Access access;
  private final DataplaneStore dataplanes;
  private final Prompts prompts;

  public InferenceGrpcService(
      Authenticator auth, Access access, DataplaneStore dataplanes, Prompts prompts) {
    this.auth = requireNonNull(auth, "auth");
    this.access = requireNonNull(access, "access");
    this.dataplanes = requireNonNull(dataplanes, "dataplanes");
    this.prompts = requireNonNull(prompts, "prompts");
  }

  @Override
  public void prompt(PromptRequest req, StreamObserver<PromptResponse> out) {
    try {
      // Authenticate first, so an anonymous request learns nothing from validation.
      Caller caller = auth.current();
      UUID customerId = Fields.optionalUuid("customer_id", req.getCustomerId());
      UUID projectId = Fields.optionalUuid("project_id", req.getProjectId());
      String model = Fields.model("model", req.getModel());
      if (req.getPrompt().isBlank()) {
        throw ApiException.invalid("prompt", "is required (expected the user's prompt as text)");
      }
      if (req.getPrompt().length() > MAX_PROMPT_CHARS) {
        throw ApiException.invalid(
            "prompt",
            "is "
                + req.getPrompt().length()
                + " characters long (expected at most "
                + MAX_PROMPT_CHARS
                + ")");
      }
      UUID keyId = Fields.optionalUuid("key_id", req.getKeyId());
      Fields.checkLength("idempotency_key", req.getIdempotencyKey(), 255);
      ProjectRow project = resolveProject(caller, customerId, projectId);
      Access.ProjectAccess pa = access.project(caller, project.customerId(), project.id());
      // A key the caller cannot see (another project's) is 404 whatever the caller's role.
      prompts.requireKeyIn(project.id(), keyId);
      Access.require(pa.role(), Role.MEMBER, "project '" + project.id() + "'", "send prompts");
      // Completes out itself, once the data plane has answered.
      prompts.run(caller, project, model, req.getPrompt(), keyId, req.getIdempotencyKey(), out);
    } catch (Throwable t) {
      out.onError(t);
    }
  }

  @Override
  public void getDataplaneURL(
      GetDataplaneURLRequest req, StreamObserver<GetDataplaneURLResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          UUID customerId = Fields.optionalUuid("customer_id", req.getCustomerId());
          UUID projectId = Fields.optionalUuid("project_id", req.getProjectId());
          Caller caller = auth.current();
          ProjectRow project = resolveProject(caller, customerId, projectId);
          return GetDataplaneURLResponse.newBuilder()
              .setDataplane(entry(project, choose(project)))
              .build();
        });
  }

  @Override
  public void listDataplaneURLs(
      ListDataplaneURLsRequest req, StreamObserver<ListDataplaneURLsResponse> out) {
    Rpc.unary(
        auth,
        out,
        () -> {
          Caller caller = auth.current();
          UUID customerId = access.defaults(caller).customerId();
          ListDataplaneURLsResponse.Builder b = ListDataplaneURLsResponse.newBuilder();
          if (customerId == null) {
            return b.build();
          }
          Access.CustomerAccess ca = access.customer(caller, customerId);
          List<ProjectRow> projects =
              access
                  .store()
                  .projects(
                      customerId,
                      ca.role() == null ? caller.principalId() : null,
                      caller.boundProjectId(),
                      0,
                      10_000);
          Map<String, List<DataplaneRow>> byRegion = new HashMap<>();
          for (ProjectRow p : projects) {
            DataplaneRow dp =
                pickInRegions(p, region -> byRegion.computeIfAbsent(region, dataplanes::eligible));
            if (dp != null) {
              b.addDataplanes(entry(p, dp));
            }
          }
          return b.build();
        });
  }

  private ProjectRow resolveProject(
      Caller caller, @Nullable UUID customerId, @Nullable UUID projectId) {
    if (projectId != null) {
      return customerId != null
          ? access.project(caller, customerId, projectId).project()
          : access.projectById(caller, projectId).project();
    }
    UUID project;
    if (customerId != null) {
      access.customer(caller, customerId);
      project = access.defaultProjectIn(caller, customerId);
      if (project == null) {
        throw ApiException.unprocessable(
            "the caller has no project in customer '"
                + customerId
                + "' (expected project_id, or a project membership)");
      }
    } else {
      project = access.defaults(caller).projectId();
      if (project == null) {
        throw ApiException.unprocessable(
            "the caller has no project membership to default to (expected project_id, or membership in a project)");
      }
    }
    return access.projectById(caller, project).project();
  }

  /** A data plane of the home region, else of the first allowed region that has one. */
  private DataplaneRow choose(ProjectRow project) {
    DataplaneRow dp = pickInRegions(project, dataplanes::eligible);
    if (dp != null) {
      return dp;
    }
    throw ApiException.unavailable(
        "no data plane is eligible for project '"
            + project.id()
            + "' in regions "
            + project.servingRegions()
            + " (expected a registered, not drained data plane in its region or an allowed one)",
        Duration.ofSeconds(30));
  }

  /**
   * The project's data plane in its home region, else in the first allowed region (in the order
   * given) that has a candidate; null when no serving region has one.
   */
  static @Nullable DataplaneRow pickInRegions(
      ProjectRow project, Function<String, List<DataplaneRow>> candidatesIn) {
    for (String region : project.servingRegions()) {
      DataplaneRow dp = pick(project.id(), candidatesIn.apply(region));
      if (dp != null) {
        return dp;
      }
    }
    return null;
  }

  /** Rendezvous hashing: each project sticks to one data plane while the set stays the same. */
  static @Nullable DataplaneRow pick(UUID projectId, List<DataplaneRow> eligible) {
    DataplaneRow best = null;
    long bestScore = Long.MIN_VALUE;
    for (DataplaneRow dp : eligible) {
      long score = score(projectId + "/" + dp.id());
      if (best == null || score > bestScore) {
        best = dp;
        bestScore = score;
      }
    }
    return best;
  }

  private static long score(String s) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      long v = 0;
      for (int i = 0; i < 8; i++) {
        v = (v << 8) | (h[i] & 0xff);
      }
      return v;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static DataplaneURL entry(ProjectRow p, DataplaneRow dp) {
    return DataplaneURL.newBuilder()
        .setDataplaneId(dp.id().toString())
        .setUrl(dp.publicUrl())
        .setRegion(dp.region())
        .setCustomerId(p.customerId().toString())
        .setProjectId(p.id().toString())
        .setDataplaneName(dp.name())
        .build();
  }
}
