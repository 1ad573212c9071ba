package io.agentrouter.controlplane.tenancy;

import io.agentrouter.controlplane.keys.Money;
import io.agentrouter.controlplane.rpc.Fields;
import io.agentrouter.controlplane.tenancy.TenancyStore.CustomerRow;
import io.agentrouter.controlplane.tenancy.TenancyStore.MemberRow;
import io.agentrouter.controlplane.tenancy.TenancyStore.ProjectRow;
import io.agentrouter.proto.admin.v1.Customer;
import io.agentrouter.proto.admin.v1.Member;
import io.agentrouter.proto.admin.v1.Project;

/** Domain rows to wire messages. */
final class TenancyProtos {
  private TenancyProtos() {}

  static Customer customer(CustomerRow r) {
    return Customer.newBuilder()
        .setCustomerId(r.id().toString())
        .setName(r.name())
        .setCreatedAt(Fields.timestamp(r.createdAt()))
        .setUpdatedAt(Fields.timestamp(r.updatedAt()))
        .build();
  }

  static Project project(ProjectRow r) {
    return Project.newBuilder()
        .setProjectId(r.id().toString())
        .setCustomerId(r.customerId().toString())
        .setName(r.name())
        .setRegion(r.region())
        .setDefaultModel(r.defaultModel())
        .setMonthlyBudgetUsd(Money.formatUsd(r.monthlyBudgetMicros()))
        .addAllAllowedRegions(r.allowedRegions())
        .setCreatedAt(Fields.timestamp(r.createdAt()))
        .setUpdatedAt(Fields.timestamp(r.updatedAt()))
        .build();
  }

  static Member member(MemberRow m) {
    Member.Builder b =
        Member.newBuilder()
            .setPrincipalId(m.principalId().toString())
            .setRole(m.role().toProto())
            .setCreatedAt(Fields.timestamp(m.createdAt()))
            .setDisplayName(m.displayName())
            .setCustomerId(m.customerId().toString());
    if (m.projectId() != null) {
      b.setProjectId(m.projectId().toString());
    }
    return b.build();
  }
}
