package io.agentrouter.controlplane.tenancy;

import static io.agentrouter.controlplane.db.Tables.CUSTOMERS;
import static io.agentrouter.controlplane.db.Tables.CUSTOMER_MEMBERS;
import static io.agentrouter.controlplane.db.Tables.PRINCIPALS;
import static io.agentrouter.controlplane.db.Tables.PROJECTS;
import static io.agentrouter.controlplane.db.Tables.PROJECT_MEMBERS;
import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.db.tables.records.CustomersRecord;
import io.agentrouter.controlplane.db.tables.records.ProjectsRecord;
import io.agentrouter.controlplane.rpc.ApiException;
import java.time.Clock;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.UUID;
import org.jooq.Condition;
import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.jspecify.annotations.Nullable;

/** Customers, projects and memberships in PostgreSQL. Multi-row writes run in one transaction. */
public final class TenancyStore {
  private final DSLContext dsl;
  private final Clock clock;

  public TenancyStore(DSLContext dsl, Clock clock) {
    this.dsl = requireNonNull(dsl, "dsl");
    this.clock = requireNonNull(clock, "clock");
  }

  public record CustomerRow(UUID id, String name, Instant createdAt, Instant updatedAt) {}

  public record ProjectRow(
      UUID id,
      UUID customerId,
      String name,
      String region,
      String defaultModel,
      @Nullable Long monthlyBudgetMicros,
      List<String> allowedRegions,
      Instant createdAt,
      Instant updatedAt) {
    public ProjectRow {
      allowedRegions = List.copyOf(allowedRegions);
    }

    /** The home region first, then the allowed ones: where the project may be served. */
    public List<String> servingRegions() {
      List<String> all = new ArrayList<>(1 + allowedRegions.size());
      all.add(region);
      allowedRegions.stream().filter(r -> !r.equals(region)).forEach(all::add);
      return all;
    }
  }

  /** One membership of a principal; projectId is null for customer-level ones. */
  public record MembershipRow(
      UUID customerId,
      @Nullable UUID projectId,
      Role role,
      Instant createdAt,
      String customerName,
      @Nullable String projectName) {}

  /** One member of a customer or project. */
  public record MemberRow(
      UUID principalId,
      Role role,
      Instant createdAt,
      String displayName,
      UUID customerId,
      @Nullable UUID projectId) {}

  OffsetDateTime now() {
    return clock.instant().truncatedTo(ChronoUnit.MICROS).atOffset(ZoneOffset.UTC);
  }

  // ---- customers

  /** Creates the customer and makes {@code owner} its owner, atomically. */
  public CustomerRow createCustomer(String name, UUID owner) {
    return dsl.transactionResult(
        cfg -> {
          DSLContext tx = cfg.dsl();
          OffsetDateTime now = now();
          UUID id = UUID.randomUUID();
          tx.insertInto(CUSTOMERS)
              .set(CUSTOMERS.ID, id)
              .set(CUSTOMERS.NAME, name)
              .set(CUSTOMERS.CREATED_AT, now)
              .set(CUSTOMERS.UPDATED_AT, now)
              .execute();
          tx.insertInto(CUSTOMER_MEMBERS)
              .set(CUSTOMER_MEMBERS.CUSTOMER_ID, id)
              .set(CUSTOMER_MEMBERS.PRINCIPAL_ID, owner)
              .set(CUSTOMER_MEMBERS.ROLE, Role.OWNER.dbName())
              .set(CUSTOMER_MEMBERS.CREATED_AT, now)
              .execute();
          return new CustomerRow(id, name, now.toInstant(), now.toInstant());
        });
  }

  public @Nullable CustomerRow customer(UUID id) {
    CustomersRecord r = dsl.selectFrom(CUSTOMERS).where(CUSTOMERS.ID.eq(id)).fetchOne();
    return r == null ? null : map(r);
  }

  /** All customers (for operators), or those a principal belongs to at any level. */
  public List<CustomerRow> customers(
      @Nullable UUID visibleTo, @Nullable UUID only, int offset, int limit) {
    Condition cond = DSL.trueCondition();
    if (only != null) {
      cond = cond.and(CUSTOMERS.ID.eq(only));
    }
    if (visibleTo != null) {
      cond =
          cond.and(
              CUSTOMERS
                  .ID
                  .in(
                      DSL.select(CUSTOMER_MEMBERS.CUSTOMER_ID)
                          .from(CUSTOMER_MEMBERS)
                          .where(CUSTOMER_MEMBERS.PRINCIPAL_ID.eq(visibleTo)))
                  .or(
                      CUSTOMERS.ID.in(
                          DSL.select(PROJECTS.CUSTOMER_ID)
                              .from(PROJECTS)
                              .join(PROJECT_MEMBERS)
                              .on(PROJECT_MEMBERS.PROJECT_ID.eq(PROJECTS.ID))
                              .where(PROJECT_MEMBERS.PRINCIPAL_ID.eq(visibleTo)))));
    }
    return dsl.selectFrom(CUSTOMERS)
        .where(cond)
        .orderBy(CUSTOMERS.CREATED_AT, CUSTOMERS.ID)
        .offset(offset)
        .limit(limit)
        .fetch(TenancyStore::map);
  }

  public CustomerRow renameCustomer(UUID id, String name) {
    CustomersRecord r =
        dsl.update(CUSTOMERS)
            .set(CUSTOMERS.NAME, name)
            .set(CUSTOMERS.UPDATED_AT, now())
            .where(CUSTOMERS.ID.eq(id))
            .returning()
            .fetchOne();
    if (r == null) {
      throw ApiException.notFound("customer", id);
    }
    return map(r);
  }

  // ---- projects

  public ProjectRow createProject(
      UUID customerId,
      String name,
      String region,
      String defaultModel,
      @Nullable Long monthlyBudgetMicros,
      List<String> allowedRegions) {
    OffsetDateTime now = now();
    UUID id = UUID.randomUUID();
    dsl.insertInto(PROJECTS)
        .set(PROJECTS.ID, id)
        .set(PROJECTS.CUSTOMER_ID, customerId)
        .set(PROJECTS.NAME, name)
        .set(PROJECTS.REGION, region)
        .set(PROJECTS.DEFAULT_MODEL, defaultModel)
        .set(PROJECTS.MONTHLY_BUDGET_MICROS, monthlyBudgetMicros)
        .set(PROJECTS.ALLOWED_REGIONS, allowedRegions.toArray(String[]::new))
        .set(PROJECTS.CREATED_AT, now)
        .set(PROJECTS.UPDATED_AT, now)
        .execute();
    return new ProjectRow(
        id,
        customerId,
        name,
        region,
        defaultModel,
        monthlyBudgetMicros,
        allowedRegions,
        now.toInstant(),
        now.toInstant());
  }

  public @Nullable ProjectRow project(UUID id) {
    ProjectsRecord r = dsl.selectFrom(PROJECTS).where(PROJECTS.ID.eq(id)).fetchOne();
    return r == null ? null : map(r);
  }

  /**
   * Projects of a customer: all of them, or only those {@code memberOf} holds a project-level
   * membership in, or only {@code only}.
   */
  public List<ProjectRow> projects(
      UUID customerId, @Nullable UUID memberOf, @Nullable UUID only, int offset, int limit) {
    Condition cond = PROJECTS.CUSTOMER_ID.eq(customerId);
    if (only != null) {
      cond = cond.and(PROJECTS.ID.eq(only));
    }
    if (memberOf != null) {
      cond =
          cond.and(
              PROJECTS.ID.in(
                  DSL.select(PROJECT_MEMBERS.PROJECT_ID)
                      .from(PROJECT_MEMBERS)
                      .where(PROJECT_MEMBERS.PRINCIPAL_ID.eq(memberOf))));
    }
    return dsl.selectFrom(PROJECTS)
        .where(cond)
        .orderBy(PROJECTS.CREATED_AT, PROJECTS.ID)
        .offset(offset)
        .limit(limit)
        .fetch(TenancyStore::map);
  }

  /** The budget to set on an update: unchanged, removed (null micros) or a new amount. */
  public record BudgetChange(@Nullable Long micros) {
    public static final @Nullable BudgetChange UNCHANGED = null;
  }

  public ProjectRow updateProject(
      UUID id,
      @Nullable String name,
      @Nullable String region,
      @Nullable String defaultModel,
      @Nullable BudgetChange budget,
      @Nullable List<String> allowedRegions) {
    var update = dsl.update(PROJECTS).set(PROJECTS.UPDATED_AT, now());
    if (name != null) {
      update = update.set(PROJECTS.NAME, name);
    }
    if (region != null) {
      update = update.set(PROJECTS.REGION, region);
    }
    if (defaultModel != null) {
      update = update.set(PROJECTS.DEFAULT_MODEL, defaultModel);
    }
    if (budget != null) {
      update = update.set(PROJECTS.MONTHLY_BUDGET_MICROS, budget.micros());
    }
    if (allowedRegions != null) {
      update = update.set(PROJECTS.ALLOWED_REGIONS, allowedRegions.toArray(String[]::new));
    }
    ProjectsRecord r = update.where(PROJECTS.ID.eq(id)).returning().fetchOne();
    if (r == null) {
      throw ApiException.notFound("project", id);
    }
    return map(r);
  }

  // ---- roles and memberships

  public @Nullable Role customerRole(UUID customerId, UUID principalId) {
    String r =
        dsl.select(CUSTOMER_MEMBERS.ROLE)
            .from(CUSTOMER_MEMBERS)
            .where(CUSTOMER_MEMBERS.CUSTOMER_ID.eq(customerId))
            .and(CUSTOMER_MEMBERS.PRINCIPAL_ID.eq(principalId))
            .fetchOne(CUSTOMER_MEMBERS.ROLE);
    return r == null ? null : Role.fromDb(r);
  }

  public @Nullable Role projectRole(UUID projectId, UUID principalId) {
    String r =
        dsl.select(PROJECT_MEMBERS.ROLE)
            .from(PROJECT_MEMBERS)
            .where(PROJECT_MEMBERS.PROJECT_ID.eq(projectId))
            .and(PROJECT_MEMBERS.PRINCIPAL_ID.eq(principalId))
            .fetchOne(PROJECT_MEMBERS.ROLE);
    return r == null ? null : Role.fromDb(r);
  }

  public boolean hasProjectMembershipIn(UUID customerId, UUID principalId) {
    return dsl.fetchExists(
        DSL.selectOne()
            .from(PROJECT_MEMBERS)
            .join(PROJECTS)
            .on(PROJECTS.ID.eq(PROJECT_MEMBERS.PROJECT_ID))
            .where(PROJECTS.CUSTOMER_ID.eq(customerId))
            .and(PROJECT_MEMBERS.PRINCIPAL_ID.eq(principalId)));
  }

  /** Every membership of a principal, customer- and project-level, oldest first. */
  public List<MembershipRow> memberships(UUID principalId) {
    List<MembershipRow> out = new ArrayList<>();
    dsl.select(
            CUSTOMER_MEMBERS.CUSTOMER_ID,
            CUSTOMER_MEMBERS.ROLE,
            CUSTOMER_MEMBERS.CREATED_AT,
            CUSTOMERS.NAME)
        .from(CUSTOMER_MEMBERS)
        .join(CUSTOMERS)
        .on(CUSTOMERS.ID.eq(CUSTOMER_MEMBERS.CUSTOMER_ID))
        .where(CUSTOMER_MEMBERS.PRINCIPAL_ID.eq(principalId))
        .forEach(
            r ->
                out.add(
                    new MembershipRow(
                        r.value1(),
                        null,
                        Role.fromDb(r.value2()),
                        r.value3().toInstant(),
                        r.value4(),
                        null)));
    dsl.select(
            PROJECTS.CUSTOMER_ID,
            PROJECT_MEMBERS.PROJECT_ID,
            PROJECT_MEMBERS.ROLE,
            PROJECT_MEMBERS.CREATED_AT,
            CUSTOMERS.NAME,
            PROJECTS.NAME)
        .from(PROJECT_MEMBERS)
        .join(PROJECTS)
        .on(PROJECTS.ID.eq(PROJECT_MEMBERS.PROJECT_ID))
        .join(CUSTOMERS)
        .on(CUSTOMERS.ID.eq(PROJECTS.CUSTOMER_ID))
        .where(PROJECT_MEMBERS.PRINCIPAL_ID.eq(principalId))
        .forEach(
            r ->
                out.add(
                    new MembershipRow(
                        r.value1(),
                        r.value2(),
                        Role.fromDb(r.value3()),
                        r.value4().toInstant(),
                        r.value5(),
                        r.value6())));
    out.sort(
        Comparator.comparing(MembershipRow::createdAt)
            // A customer-level membership granted in the same instant as a project one comes first.
            .thenComparing(m -> m.projectId() == null ? 0 : 1));
    return out;
  }

  public List<MemberRow> customerMembers(UUID customerId) {
    return dsl.select(
            CUSTOMER_MEMBERS.PRINCIPAL_ID,
            CUSTOMER_MEMBERS.ROLE,
            CUSTOMER_MEMBERS.CREATED_AT,
            PRINCIPALS.DISPLAY_NAME)
        .from(CUSTOMER_MEMBERS)
        .join(PRINCIPALS)
        .on(PRINCIPALS.ID.eq(CUSTOMER_MEMBERS.PRINCIPAL_ID))
        .where(CUSTOMER_MEMBERS.CUSTOMER_ID.eq(customerId))
        .orderBy(CUSTOMER_MEMBERS.CREATED_AT, CUSTOMER_MEMBERS.PRINCIPAL_ID)
        .fetch(
            r ->
                new MemberRow(
                    r.value1(),
                    Role.fromDb(r.value2()),
                    r.value3().toInstant(),
                    r.value4(),
                    customerId,
                    null));
  }

  public List<MemberRow> projectMembers(UUID customerId, UUID projectId) {
    return dsl.select(
            PROJECT_MEMBERS.PRINCIPAL_ID,
            PROJECT_MEMBERS.ROLE,
            PROJECT_MEMBERS.CREATED_AT,
            PRINCIPALS.DISPLAY_NAME)
        .from(PROJECT_MEMBERS)
        .join(PRINCIPALS)
        .on(PRINCIPALS.ID.eq(PROJECT_MEMBERS.PRINCIPAL_ID))
        .where(PROJECT_MEMBERS.PROJECT_ID.eq(projectId))
        .orderBy(PROJECT_MEMBERS.CREATED_AT, PROJECT_MEMBERS.PRINCIPAL_ID)
        .fetch(
            r ->
                new MemberRow(
                    r.value1(),
                    Role.fromDb(r.value2()),
                    r.value3().toInstant(),
                    r.value4(),
                    customerId,
                    projectId));
  }

  /** Adds a customer member; 409 when already a member. */
  public MemberRow addCustomerMember(
      UUID customerId, UUID principalId, Role role, String displayName) {
    OffsetDateTime now = now();
    int n =
        dsl.insertInto(CUSTOMER_MEMBERS)
            .set(CUSTOMER_MEMBERS.CUSTOMER_ID, customerId)
            .set(CUSTOMER_MEMBERS.PRINCIPAL_ID, principalId)
            .set(CUSTOMER_MEMBERS.ROLE, role.dbName())
            .set(CUSTOMER_MEMBERS.CREATED_AT, now)
            .onConflictDoNothing()
            .execute();
    if (n == 0) {
      throw ApiException.conflict(
          "principal '"
              + principalId
              + "' is already a member of customer '"
              + customerId
              + "' (use PATCH to change the role)");
    }
    return new MemberRow(principalId, role, now.toInstant(), displayName, customerId, null);
  }

  public MemberRow addProjectMember(
      UUID customerId, UUID projectId, UUID principalId, Role role, String displayName) {
    OffsetDateTime now = now();
    int n =
        dsl.insertInto(PROJECT_MEMBERS)
            .set(PROJECT_MEMBERS.PROJECT_ID, projectId)
            .set(PROJECT_MEMBERS.PRINCIPAL_ID, principalId)
            .set(PROJECT_MEMBERS.ROLE, role.dbName())
            .set(PROJECT_MEMBERS.CREATED_AT, now)
            .onConflictDoNothing()
            .execute();
    if (n == 0) {
      throw ApiException.conflict(
          "principal '"
              + principalId
              + "' is already a member of project '"
              + projectId
              + "' (use PATCH to change the role)");
    }
    return new MemberRow(principalId, role, now.toInstant(), displayName, customerId, projectId);
  }

  /**
   * Changes or removes (role null) a customer membership in one transaction that keeps at least one
   * owner.
   */
  public void changeCustomerMember(UUID customerId, UUID principalId, @Nullable Role role) {
    dsl.transaction(
        cfg -> {
          DSLContext tx = cfg.dsl();
          // Serialise owner changes of this customer.
          tx.selectFrom(CUSTOMERS).where(CUSTOMERS.ID.eq(customerId)).forUpdate().fetch();
          String current =
              tx.select(CUSTOMER_MEMBERS.ROLE)
                  .from(CUSTOMER_MEMBERS)
                  .where(CUSTOMER_MEMBERS.CUSTOMER_ID.eq(customerId))
                  .and(CUSTOMER_MEMBERS.PRINCIPAL_ID.eq(principalId))
                  .fetchOne(CUSTOMER_MEMBERS.ROLE);
          if (current == null) {
            throw ApiException.notFound("member", principalId);
          }
          if (Role.fromDb(current) == Role.OWNER && role != Role.OWNER) {
            int owners =
                tx.fetchCount(
                    CUSTOMER_MEMBERS,
                    CUSTOMER_MEMBERS
                        .CUSTOMER_ID
                        .eq(customerId)
                        .and(CUSTOMER_MEMBERS.ROLE.eq(Role.OWNER.dbName())));
            if (owners <= 1) {
              throw ApiException.unprocessable(
                  "principal '"
                      + principalId
                      + "' is the last owner of customer '"
                      + customerId
                      + "' (expected another owner first)");
            }
          }
          if (role == null) {
            tx.deleteFrom(CUSTOMER_MEMBERS)
                .where(CUSTOMER_MEMBERS.CUSTOMER_ID.eq(customerId))
                .and(CUSTOMER_MEMBERS.PRINCIPAL_ID.eq(principalId))
                .execute();
          } else {
            tx.update(CUSTOMER_MEMBERS)
                .set(CUSTOMER_MEMBERS.ROLE, role.dbName())
                .where(CUSTOMER_MEMBERS.CUSTOMER_ID.eq(customerId))
                .and(CUSTOMER_MEMBERS.PRINCIPAL_ID.eq(principalId))
                .execute();
          }
        });
  }

  /** Changes or removes (role null) a project membership. */
  public void changeProjectMember(UUID projectId, UUID principalId, @Nullable Role role) {
    int n =
        role == null
            ? dsl.deleteFrom(PROJECT_MEMBERS)
                .where(PROJECT_MEMBERS.PROJECT_ID.eq(projectId))
                .and(PROJECT_MEMBERS.PRINCIPAL_ID.eq(principalId))
                .execute()
            : dsl.update(PROJECT_MEMBERS)
                .set(PROJECT_MEMBERS.ROLE, role.dbName())
                .where(PROJECT_MEMBERS.PROJECT_ID.eq(projectId))
                .and(PROJECT_MEMBERS.PRINCIPAL_ID.eq(principalId))
                .execute();
    if (n == 0) {
      throw ApiException.notFound("member", principalId);
    }
  }

  public @Nullable MemberRow customerMember(UUID customerId, UUID principalId) {
    return customerMembers(customerId).stream()
        .filter(m -> m.principalId().equals(principalId))
        .findFirst()
        .orElse(null);
  }

  public @Nullable MemberRow projectMember(UUID customerId, UUID projectId, UUID principalId) {
    return projectMembers(customerId, projectId).stream()
        .filter(m -> m.principalId().equals(principalId))
        .findFirst()
        .orElse(null);
  }

  static CustomerRow map(CustomersRecord r) {
    return new CustomerRow(
        r.getId(), r.getName(), r.getCreatedAt().toInstant(), r.getUpdatedAt().toInstant());
  }

  static ProjectRow map(ProjectsRecord r) {
    return new ProjectRow(
        r.getId(),
        r.getCustomerId(),
        r.getName(),
        r.getRegion(),
        r.getDefaultModel(),
        r.getMonthlyBudgetMicros(),
        r.getAllowedRegions() == null ? List.of() : List.of(r.getAllowedRegions()),
        r.getCreatedAt().toInstant(),
        r.getUpdatedAt().toInstant());
  }
}
