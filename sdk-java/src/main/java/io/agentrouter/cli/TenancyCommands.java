package io.agentrouter.cli;

import io.agentrouter.proto.admin.v1.CreateProjectRequest;
import io.agentrouter.proto.admin.v1.Customer;
import io.agentrouter.proto.admin.v1.ListCustomersResponse;
import io.agentrouter.proto.admin.v1.ListProjectsResponse;
import io.agentrouter.proto.admin.v1.Project;
import io.agentrouter.proto.admin.v1.Regions;
import io.agentrouter.proto.admin.v1.UpdateProjectRequest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code customers create|list} and {@code projects create|list|update}. */
final class TenancyCommands {
  private TenancyCommands() {}

  @Command(name = "customers", description = "Create and list customers (tenants).")
  static final class Customers extends Group {}

  @Command(name = "create", description = "Create a customer; you become its owner.")
  static final class CustomersCreate implements Runnable {
    private final RootCommand root;

    @Parameters(paramLabel = "NAME", description = "Customer name.")
    String name = "";

    CustomersCreate(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      Customer c = root.client().customers().create(name);
      Output out = root.out();
      out.print(c, () -> out.fields("customer_id", c.getCustomerId(), "name", c.getName()));
    }
  }

  @Command(name = "list", description = "List the customers you can see.")
  static final class CustomersList implements Runnable {
    private final RootCommand root;

    @Option(names = "--page-size", description = "Page size (server default when 0).")
    int pageSize;

    @Option(names = "--page-token", description = "Token from a previous page.")
    String pageToken = "";

    CustomersList(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      ListCustomersResponse r = root.client().customers().list(pageSize, pageToken);
      Output out = root.out();
      out.print(
          r,
          () -> {
            out.table(
                List.of("customer_id", "name", "created"),
                r.getCustomersList().stream()
                    .map(
                        c -> List.of(c.getCustomerId(), c.getName(), Output.time(c.getCreatedAt())))
                    .toList());
            if (!r.getNextPageToken().isEmpty()) {
              out.line("next page: --page-token " + r.getNextPageToken());
            }
          });
    }
  }

  @Command(name = "projects", description = "Create and list projects.")
  static final class Projects extends Group {}

  @Command(name = "create", description = "Create a project in a customer.")
  static final class ProjectsCreate implements Runnable {
    private final RootCommand root;

    @Parameters(paramLabel = "NAME", description = "Project name.")
    String name = "";

    @Option(names = "--customer", paramLabel = "ID", description = "Customer (default: yours).")
    @Nullable String customer;

    @Option(names = "--region", required = true, description = "Region, e.g. eu-west-1.")
    String region = "";

    @Option(names = "--default-model", description = "Model used when a prompt names none.")
    String defaultModel = "";

    @Option(
        names = "--monthly-budget-usd",
        paramLabel = "USD",
        description = "Spend cap for all the project's keys together, e.g. 500.")
    String budget = "";

    @Option(
        names = "--allowed-region",
        paramLabel = "REGION",
        description = "Another region whose data planes may serve the project (repeatable).")
    List<String> allowedRegions = new ArrayList<>();

    ProjectsCreate(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      Project p =
          root.client()
              .projects()
              .create(
                  CreateProjectRequest.newBuilder()
                      .setCustomerId(root.customer(customer))
                      .setName(name)
                      .setRegion(region)
                      .setDefaultModel(defaultModel)
                      .setMonthlyBudgetUsd(budget)
                      .addAllAllowedRegions(allowedRegions)
                      .build());
      printProject(root.out(), p);
    }
  }

  @Command(
      name = "update",
      description = "Change a project's name, region, default model or monthly budget.")
  static final class ProjectsUpdate implements Runnable {
    private final RootCommand root;

    @Parameters(paramLabel = "PROJECT_ID", description = "Project to change.")
    String projectId = "";

    @Option(names = "--customer", paramLabel = "ID", description = "Customer (default: yours).")
    @Nullable String customer;

    @Option(names = "--name", description = "New name.")
    @Nullable String name;

    @Option(names = "--region", description = "New region.")
    @Nullable String region;

    @Option(names = "--default-model", description = "New default model (\"\" clears it).")
    @Nullable String defaultModel;

    @Option(
        names = "--monthly-budget-usd",
        paramLabel = "USD",
        description = "New spend cap for the whole project (\"\" removes it).")
    @Nullable String budget;

    @Option(
        names = "--allowed-regions",
        paramLabel = "R1,R2",
        description = "Replace the allowed regions, comma-separated (\"\" removes them all).")
    @Nullable String allowedRegions;

    ProjectsUpdate(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      UpdateProjectRequest.Builder b =
          UpdateProjectRequest.newBuilder()
              .setCustomerId(root.customer(customer))
              .setProjectId(projectId);
      if (name != null) {
        b.setName(name);
      }
      if (region != null) {
        b.setRegion(region);
      }
      if (defaultModel != null) {
        b.setDefaultModel(defaultModel);
      }
      if (budget != null) {
        b.setMonthlyBudgetUsd(budget);
      }
      if (allowedRegions != null) {
        b.setAllowedRegions(
            Regions.newBuilder()
                .addAllRegions(
                    Arrays.stream(allowedRegions.split(","))
                        .map(String::strip)
                        .filter(r -> !r.isEmpty())
                        .toList()));
      }
      printProject(root.out(), root.client().projects().update(b.build()));
    }
  }

  private static void printProject(Output out, Project p) {
    out.print(
        p,
        () ->
            out.fields(
                "project_id", p.getProjectId(),
                "customer_id", p.getCustomerId(),
                "name", p.getName(),
                "region", p.getRegion(),
                "default_model", Output.orDash(p.getDefaultModel()),
                "monthly_budget_usd", Output.orDash(p.getMonthlyBudgetUsd()),
                "allowed_regions", Output.orDash(String.join(",", p.getAllowedRegionsList()))));
  }

  @Command(name = "list", description = "List a customer's projects.")
  static final class ProjectsList implements Runnable {
    private final RootCommand root;

    @Option(names = "--customer", paramLabel = "ID", description = "Customer (default: yours).")
    @Nullable String customer;

    ProjectsList(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      ListProjectsResponse r = root.client().projects().list(root.customer(customer), 0, "");
      Output out = root.out();
      out.print(
          r,
          () ->
              out.table(
                  List.of("project_id", "name", "region", "default_model"),
                  r.getProjectsList().stream()
                      .map(
                          p ->
                              List.of(
                                  p.getProjectId(),
                                  p.getName(),
                                  p.getRegion(),
                                  Output.orDash(p.getDefaultModel())))
                      .toList()));
    }
  }
}
