package io.agentrouter.controlplane.tenancy;

import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.identity.Caller;
import io.agentrouter.controlplane.rpc.ApiException;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.controlplane.tenancy.TenancyStore.CustomerRow;
import io.agentrouter.controlplane.tenancy.TenancyStore.MembershipRow;
import io.agentrouter.controlplane.tenancy.TenancyStore.ProjectRow;
import java.util.List;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * Who may see and do what. An object the caller cannot see answers 404 exactly like a missing one;
 * a visible object with too low a role answers 403.
 *
 * <ul>
 *   <li>operators (platform role) act as owner everywhere;
 *   <li>a customer is visible to its customer-level members and to members of any of its projects;
 *   <li>a project's role is the higher of the customer-level and project-level roles;
 *   <li>an API key is bound to one project: nothing outside it is visible through the key.
 * </ul>
 */
public final class Access {
  private final TenancyStore store;

  public Access(TenancyStore store) {
    this.store = requireNonNull(store, "store");
  }

  /** A visible customer and the caller's customer-level role (null: sees it via a project only). */
  public record CustomerAccess(CustomerRow customer, @Nullable Role role) {}

  /** A visible project and the caller's effective role on it. */
  public record ProjectAccess(ProjectRow project, Role role) {}

  public CustomerAccess customer(Caller caller, UUID customerId) {
    if (caller.bound() && !customerId.equals(caller.boundCustomerId())) {
      throw ApiException.notFound("customer", customerId);
    }
    CustomerRow row = store.customer(customerId);
    if (row == null) {
      throw ApiException.notFound("customer", customerId);
    }
    if (caller.operator()) {
      return new CustomerAccess(row, Role.OWNER);
    }
    Role role = store.customerRole(customerId, caller.principalId());
    if (role == null && !store.hasProjectMembershipIn(customerId, caller.principalId())) {
      throw ApiException.notFound("customer", customerId);
    }
    return new CustomerAccess(row, role);
  }

  /**
   * Requires a customer-level role; a caller who only sees the customer through a project gets 403.
   */
  public CustomerRow customer(Caller caller, UUID customerId, Role needed, String action) {
    CustomerAccess a = customer(caller, customerId);
    if (caller.bound() && needed.atLeast(Role.MEMBER)) {
      throw ApiException.forbidden(
          "an API key bound to project '"
              + caller.boundProjectId()
              + "' may not "
              + action
              + " (expected an unbound credential: an OIDC token or an operator key)");
    }
    if (a.role() == null || !a.role().atLeast(needed)) {
      throw ApiException.forbidden(
          roleName(a.role())
              + " on customer '"
              + customerId
              + "' may not "
              + action
              + " (expected "
              + needed.dbName()
              + " or higher)");
    }
    return a.customer();
  }

  public ProjectAccess project(Caller caller, UUID customerId, UUID projectId) {
    if (caller.bound()
        && (!customerId.equals(caller.boundCustomerId())
            || !projectId.equals(caller.boundProjectId()))) {
      throw ApiException.notFound("project", projectId);
    }
    ProjectRow row = store.project(projectId);
    if (row == null || !row.customerId().equals(customerId)) {
      throw ApiException.notFound("project", projectId);
    }
    if (caller.operator()) {
      return new ProjectAccess(row, Role.OWNER);
    }
    Role c = store.customerRole(customerId, caller.principalId());
    Role p = store.projectRole(projectId, caller.principalId());
    Role role = c == null ? p : p == null ? c : Role.max(c, p);
    if (role == null) {
      throw ApiException.notFound("project", projectId);
    }
    return new ProjectAccess(row, role);
  }

  public ProjectRow project(
      Caller caller, UUID customerId, UUID projectId, Role needed, String action) {
    ProjectAccess a = project(caller, customerId, projectId);
    require(a.role(), needed, "project '" + projectId + "'", action);
    return a.project();
  }

  /**
   * Like {@link #project(Caller, UUID, UUID, Role, String)} for ids as a request carries them:
   * parsed from the {@code customer_id} and {@code project_id} fields first.
   */
  public ProjectRow project(
      Caller caller, String customerId, String projectId, Role needed, String action) {
    return project(
        caller,
        Fields.uuid("customer_id", customerId),
        Fields.uuid("project_id", projectId),
        needed,
        action);
  }

  /** The project alone (customer deduced), for calls that name only a project. */
  public ProjectAccess projectById(Caller caller, UUID projectId) {
    ProjectRow row = store.project(projectId);
    if (row == null) {
      throw ApiException.notFound("project", projectId);
    }
    return project(caller, row.customerId(), projectId);
  }

  public static void require(Role have, Role needed, String object, String action) {
    if (!have.atLeast(needed)) {
      throw ApiException.forbidden(
          roleName(have)
              + " on "
              + object
              + " may not "
              + action
              + " (expected "
              + needed.dbName()
              + " or higher)");
    }
  }

  private static String roleName(@Nullable Role role) {
    return role == null ? "project-only access" : "role '" + role.dbName() + "'";
  }

  /** The customer and project a call falls back to when it names none (seed 000). */
  public record Defaults(@Nullable UUID customerId, @Nullable UUID projectId) {}

  /**
   * The credential's binding when it has one; otherwise the customer of the oldest membership, and
   * in it the oldest project membership (or, for a customer-level member, the oldest project).
   */
  public Defaults defaults(Caller caller) {
    if (caller.bound()) {
      return new Defaults(caller.boundCustomerId(), caller.boundProjectId());
    }
    List<MembershipRow> ms = store.memberships(caller.principalId());
    if (ms.isEmpty()) {
      return new Defaults(null, null);
    }
    UUID customer = ms.get(0).customerId();
    return new Defaults(customer, defaultProjectIn(caller, customer, ms));
  }

  /** The default project inside a given customer, or null when the caller has none there. */
  public @Nullable UUID defaultProjectIn(Caller caller, UUID customerId) {
    if (caller.bound()) {
      return customerId.equals(caller.boundCustomerId()) ? caller.boundProjectId() : null;
    }
    return defaultProjectIn(caller, customerId, store.memberships(caller.principalId()));
  }

  private @Nullable UUID defaultProjectIn(Caller caller, UUID customerId, List<MembershipRow> ms) {
    for (MembershipRow m : ms) {
      if (m.customerId().equals(customerId) && m.projectId() != null) {
        return m.projectId();
      }
    }
    boolean customerLevel =
        caller.operator()
            || ms.stream()
                .anyMatch(m -> m.customerId().equals(customerId) && m.projectId() == null);
    if (customerLevel) {
      List<ProjectRow> all = store.projects(customerId, null, null, 0, 1);
      return all.isEmpty() ? null : all.get(0).id();
    }
    return null;
  }

  public TenancyStore store() {
    return store;
  }
}
