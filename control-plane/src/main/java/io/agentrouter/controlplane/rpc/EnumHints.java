package io.agentrouter.controlplane.rpc;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Rewrites the JSON parser's "Invalid enum value … for enum type X" into a message that names the
 * request field(s) of that type and the accepted values.
 */
final class EnumHints {
  private static final Pattern INVALID_ENUM =
      Pattern.compile("Invalid enum value: .* for enum type: ([A-Za-z0-9_.]+)");
  private static final Map<String, Hint> HINTS = build();

  private record Hint(Set<String> fields, List<String> values) {}

  private EnumHints() {}

  static String rewrite(String message) {
    Matcher m = INVALID_ENUM.matcher(message);
    if (!m.find()) {
      return message;
    }
    Hint hint = HINTS.get(m.group(1));
    if (hint == null) {
      return message;
    }
    return String.join("/", hint.fields())
        + ": unknown value (expected one of "
        + String.join(", ", hint.values())
        + ")";
  }

  private static Map<String, Hint> build() {
    Map<String, Set<String>> fields = new LinkedHashMap<>();
    Map<String, EnumDescriptor> enums = new LinkedHashMap<>();
    for (FileDescriptor f :
        List.of(
            io.agentrouter.proto.admin.v1.IdentityProto.getDescriptor(),
            io.agentrouter.proto.admin.v1.CustomersProto.getDescriptor(),
            io.agentrouter.proto.admin.v1.ProjectsProto.getDescriptor(),
            io.agentrouter.proto.admin.v1.KeysProto.getDescriptor(),
            io.agentrouter.proto.admin.v1.DataplanesProto.getDescriptor(),
            io.agentrouter.proto.admin.v1.UsageProto.getDescriptor())) {
      for (Descriptor d : f.getMessageTypes()) {
        collect(d, fields, enums);
      }
    }
    Map<String, Hint> out = new LinkedHashMap<>();
    enums.forEach(
        (name, e) ->
            out.put(
                name,
                new Hint(
                    fields.get(name),
                    e.getValues().stream()
                        .filter(v -> v.getNumber() != 0)
                        .map(EnumValueDescriptor::getName)
                        .collect(Collectors.toList()))));
    return Map.copyOf(out);
  }

  private static void collect(
      Descriptor d, Map<String, Set<String>> fields, Map<String, EnumDescriptor> enums) {
    for (FieldDescriptor fd : d.getFields()) {
      if (fd.getType() == FieldDescriptor.Type.ENUM) {
        String name = fd.getEnumType().getFullName();
        enums.put(name, fd.getEnumType());
        fields.computeIfAbsent(name, k -> new LinkedHashSet<>()).add(fd.getName());
      }
    }
    for (Descriptor nested : d.getNestedTypes()) {
      collect(nested, fields, enums);
    }
  }
}
