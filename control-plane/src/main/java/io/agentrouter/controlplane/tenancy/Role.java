package io.agentrouter.controlplane.tenancy;

import io.agentrouter.controlplane.rpc.ApiException;
import java.util.Locale;

/** A tenant role; each includes the rights of those below it. */
public enum Role {
  VIEWER,
  MEMBER,
  ADMIN,
  OWNER;

  /** Name in the database and in messages. */
  public String dbName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Role fromDb(String s) {
    return valueOf(s.toUpperCase(Locale.ROOT));
  }

  public boolean atLeast(Role other) {
    return compareTo(other) >= 0;
  }

  public static Role max(Role a, Role b) {
    return a.compareTo(b) >= 0 ? a : b;
  }

  public io.agentrouter.proto.admin.v1.Role toProto() {
    return switch (this) {
      case VIEWER -> io.agentrouter.proto.admin.v1.Role.ROLE_VIEWER;
      case MEMBER -> io.agentrouter.proto.admin.v1.Role.ROLE_MEMBER;
      case ADMIN -> io.agentrouter.proto.admin.v1.Role.ROLE_ADMIN;
      case OWNER -> io.agentrouter.proto.admin.v1.Role.ROLE_OWNER;
    };
  }

  public static Role fromProto(String field, io.agentrouter.proto.admin.v1.Role role) {
    return switch (role) {
      case ROLE_VIEWER -> VIEWER;
      case ROLE_MEMBER -> MEMBER;
      case ROLE_ADMIN -> ADMIN;
      case ROLE_OWNER -> OWNER;
      default ->
          throw ApiException.invalid(
              field,
              "is required (expected one of ROLE_VIEWER, ROLE_MEMBER, ROLE_ADMIN, ROLE_OWNER)");
    };
  }
}
