package io.agentrouter.cli;

import io.agentrouter.proto.admin.v1.Membership;
import io.agentrouter.proto.admin.v1.WhoAmIResponse;
import java.util.List;
import picocli.CommandLine.Command;

/** {@code agentrouter whoami}: the principal behind the credential and its memberships. */
@Command(name = "whoami", description = "Show who the current credential belongs to.")
final class WhoamiCommand implements Runnable {
  private final RootCommand root;

  WhoamiCommand(RootCommand root) {
    this.root = root;
  }

  @Override
  public void run() {
    WhoAmIResponse me = root.me();
    Output out = root.out();
    out.print(
        me,
        () -> {
          var p = me.getPrincipal();
          out.fields(
              "principal",
              p.getPrincipalId(),
              "name",
              Output.orDash(p.getDisplayName()),
              "kind",
              Output.name(p.getKind(), "PRINCIPAL_KIND_"),
              "platform role",
              Output.name(p.getPlatformRole(), "PLATFORM_ROLE_"),
              "credential",
              Output.name(me.getCredential().getKind(), "CREDENTIAL_KIND_")
                  + (me.getCredential().getKeyId().isEmpty()
                      ? ""
                      : " " + me.getCredential().getKeyId()),
              "default customer",
              Output.orDash(me.getDefaultCustomerId()),
              "default project",
              Output.orDash(me.getDefaultProjectId()),
              "control plane",
              root.resolvedBaseUrl());
          if (me.getMembershipsCount() > 0) {
            out.line("");
            out.table(
                List.of("customer", "project", "role"),
                me.getMembershipsList().stream().map(WhoamiCommand::row).toList());
          }
        });
  }

  private static List<String> row(Membership m) {
    String customer =
        m.getCustomerName().isEmpty()
            ? m.getCustomerId()
            : m.getCustomerName() + " (" + m.getCustomerId() + ")";
    String project =
        m.getProjectId().isEmpty()
            ? "*"
            : m.getProjectName().isEmpty()
                ? m.getProjectId()
                : m.getProjectName() + " (" + m.getProjectId() + ")";
    return List.of(customer, project, Output.name(m.getRole(), "ROLE_"));
  }
}
