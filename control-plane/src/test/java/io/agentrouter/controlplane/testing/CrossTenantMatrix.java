package io.agentrouter.controlplane.testing;

import com.google.api.AnnotationsProto;
import com.google.api.HttpRule;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Generates the cross-tenant cases from the proto contracts: for every REST endpoint whose request
 * names a tenant-owned id (customer, project, key, member principal), one case per such id with the
 * other tenant's value in it (and one with all of them foreign), everything else valid. Each case
 * carries the request's fields too, so the same case can be sent over gRPC. Published in the test
 * jar for the evidence suite of {@code integration-tests}.
 */
public final class CrossTenantMatrix {
  public static final Set<String> TENANT_IDS =
      Set.of("customer_id", "project_id", "key_id", "principal_id");
  private static final Pattern VAR = Pattern.compile("\\{([a-z_]+)}");

  private CrossTenantMatrix() {}

  /** Ids (values) that belong to the calling tenant and to the foreign one. */
  public record Ids(Map<String, String> own, Map<String, String> foreign) {}

  /**
   * One request: method name ({@code Service.Method}), HTTP verb, path with query, JSON body (null
   * for none), the foreign field(s), the gRPC method and the request's fields as JSON (for gRPC).
   */
  public record Case(
      String method,
      String verb,
      String path,
      String body,
      String foreignField,
      MethodDescriptor grpcMethod,
      String grpcJson) {
    @Override
    public String toString() {
      return verb
          + " "
          + path
          + (body == null ? "" : " " + body)
          + " [foreign "
          + foreignField
          + "]";
    }
  }

  public static List<FileDescriptor> files() {
    return List.of(
        io.agentrouter.proto.inference.v1.InferenceProto.getDescriptor(),
        io.agentrouter.proto.admin.v1.IdentityProto.getDescriptor(),
        io.agentrouter.proto.admin.v1.CustomersProto.getDescriptor(),
        io.agentrouter.proto.admin.v1.ProjectsProto.getDescriptor(),
        io.agentrouter.proto.admin.v1.KeysProto.getDescriptor(),
        io.agentrouter.proto.admin.v1.ProviderKeysProto.getDescriptor(),
        io.agentrouter.proto.admin.v1.RoutesProto.getDescriptor(),
        io.agentrouter.proto.admin.v1.CatalogProto.getDescriptor(),
        io.agentrouter.proto.admin.v1.DataplanesProto.getDescriptor(),
        io.agentrouter.proto.admin.v1.TokensProto.getDescriptor(),
        io.agentrouter.proto.admin.v1.UsageProto.getDescriptor());
  }

  public static List<Case> generate(Ids ids) {
    List<Case> cases = new ArrayList<>();
    for (FileDescriptor f : files()) {
      for (ServiceDescriptor s : f.getServices()) {
        for (MethodDescriptor m : s.getMethods()) {
          cases.addAll(casesFor(s.getName() + "." + m.getName(), m, ids));
        }
      }
    }
    return cases;
  }

  public static List<Case> casesFor(String name, MethodDescriptor m, Ids ids) {
    if (!m.getOptions().hasExtension(AnnotationsProto.http)) {
      return List.of();
    }
    HttpRule rule = m.getOptions().getExtension(AnnotationsProto.http);
    String verb;
    String template;
    switch (rule.getPatternCase()) {
      case GET -> {
        verb = "GET";
        template = rule.getGet();
      }
      case POST -> {
        verb = "POST";
        template = rule.getPost();
      }
      case PUT -> {
        verb = "PUT";
        template = rule.getPut();
      }
      case PATCH -> {
        verb = "PATCH";
        template = rule.getPatch();
      }
      case DELETE -> {
        verb = "DELETE";
        template = rule.getDelete();
      }
      default -> {
        return List.of();
      }
    }
    List<String> pathVars = new ArrayList<>();
    Matcher vm = VAR.matcher(template);
    while (vm.find()) {
      pathVars.add(vm.group(1));
    }
    Descriptor req = m.getInputType();
    List<String> substitutable = new ArrayList<>();
    for (FieldDescriptor fd : req.getFields()) {
      String f = fd.getName();
      if (!TENANT_IDS.contains(f)) {
        continue;
      }
      boolean inPath = pathVars.contains(f);
      // A principal named in a body is the member to add, not an object of a tenant; a key_id in
      // a listing is a filter. Neither is a lookup of the other tenant's object.
      if (!inPath && f.equals("principal_id")) {
        continue;
      }
      if (name.equals("UsageService.ListRequestLogs") && f.equals("key_id")) {
        continue;
      }
      substitutable.add(f);
    }
    if (substitutable.isEmpty()) {
      return List.of();
    }
    List<List<String>> variants = new ArrayList<>();
    substitutable.forEach(f -> variants.add(List.of(f)));
    if (substitutable.size() > 1) {
      variants.add(substitutable);
    }
    List<Case> out = new ArrayList<>();
    for (List<String> foreignFields : variants) {
      Map<String, String> values = new LinkedHashMap<>();
      for (FieldDescriptor fd : req.getFields()) {
        String f = fd.getName();
        if (TENANT_IDS.contains(f)) {
          values.put(f, foreignFields.contains(f) ? ids.foreign().get(f) : ids.own().get(f));
        } else if (pathVars.contains(f)) {
          values.put(f, UUID.randomUUID().toString());
        }
      }
      String path = template;
      for (String v : pathVars) {
        path = path.replace("{" + v + "}", values.getOrDefault(v, "x"));
      }
      String body = null;
      StringBuilder query = new StringBuilder();
      Map<String, Object> json = new LinkedHashMap<>();
      Map<String, Object> grpc = new LinkedHashMap<>();
      for (FieldDescriptor fd : req.getFields()) {
        String f = fd.getName();
        Object v = values.containsKey(f) ? values.get(f) : filler(fd);
        if (v == null) {
          continue;
        }
        grpc.put(f, v);
        if (pathVars.contains(f)) {
          continue;
        }
        boolean inBody =
            rule.getBody().equals("*") && !verb.equals("GET") && !verb.equals("DELETE");
        if (inBody) {
          json.put(f, v);
        } else if (values.containsKey(f)) {
          query
              .append(query.length() == 0 ? "?" : "&")
              .append(f)
              .append('=')
              .append(URLEncoder.encode(v.toString(), StandardCharsets.UTF_8));
        }
      }
      if (!verb.equals("GET") && !verb.equals("DELETE")) {
        body = Rest.json(json);
      }
      out.add(
          new Case(
              name, verb, path + query, body, String.join("+", foreignFields), m, Rest.json(grpc)));
    }
    return out;
  }

  /** A valid value for the non-id fields a request needs, so only the foreign id can fail it. */
  private static Object filler(FieldDescriptor fd) {
    return switch (fd.getName()) {
      case "name" -> "matrix";
      case "region" -> "eu-west-1";
      case "prompt" -> "hello";
      case "role" -> "ROLE_VIEWER";
      case "public_url" -> "https://dp.example.com";
      default -> null;
    };
  }
}
