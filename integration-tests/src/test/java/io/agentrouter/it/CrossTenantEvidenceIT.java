package io.agentrouter.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import com.linecorp.armeria.client.grpc.GrpcClients;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.server.Server;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.agentrouter.controlplane.testing.ControlPlaneExtension;
import io.agentrouter.controlplane.testing.CrossTenantMatrix;
import io.agentrouter.controlplane.testing.Rest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Cross-tenant isolation over every control-plane endpoint, id type and role. The matrix is
 * generated from the protos ({@link CrossTenantMatrix}: every REST-mapped method whose request
 * names a tenant-owned id, one variant per such id with the victim's value in it, plus one with all
 * of them). Each variant is sent by every kind of caller the other tenant can have (customer-level
 * owner, admin, member and viewer; project-level admin, member and viewer; API keys made by its
 * owner and by its member) over REST and over gRPC. None may succeed, and each must answer 404 in
 * the protocol's error shape, naming nothing of the victim.
 */
@ExtendWith(SecretWatch.class)
class CrossTenantEvidenceIT {
  static final String CHECK = "Cross-tenant matrix";
  static final Issuer oidc = Issuer.start();

  @RegisterExtension
  static final ControlPlaneExtension cp = new ControlPlaneExtension(() -> List.of(oidc.uri()));

  static URI issuer() {
    return oidc.uri();
  }

  static String oidc(String subject) {
    return SecretWatch.secret(oidc.token(subject));
  }

  @AfterAll
  static void stopIssuer() {
    oidc.close();
  }

  /**
   * A minimal OIDC issuer: discovery document, JWKS and RS256 tokens, on 127.0.0.1. (The mock
   * server the control plane's own tests use brings an OkHttp that clashes with the OpenAI SDK's.)
   */
  record Issuer(Server server, RSAKey key) implements AutoCloseable {
    static Issuer start() {
      try {
        RSAKey key = new RSAKeyGenerator(2048).keyID("it").generate();
        String[] self = new String[1];
        Server server =
            Server.builder()
                .http(0)
                .service(
                    "/.well-known/openid-configuration",
                    (ctx, req) ->
                        HttpResponse.of(
                            MediaType.JSON,
                            "{\"issuer\":\"%s\",\"jwks_uri\":\"%s/jwks\"}",
                            self[0],
                            self[0]))
                .service(
                    "/jwks",
                    (ctx, req) ->
                        HttpResponse.of(MediaType.JSON, new JWKSet(key.toPublicJWK()).toString()))
                .build();
        server.start().join();
        self[0] = "http://127.0.0.1:" + server.activeLocalPort();
        return new Issuer(server, key);
      } catch (JOSEException e) {
        throw new IllegalStateException(e);
      }
    }

    URI uri() {
      return URI.create("http://127.0.0.1:" + server.activeLocalPort());
    }

    String token(String subject) {
      try {
        SignedJWT jwt =
            new SignedJWT(
                new JWSHeader.Builder(JWSAlgorithm.RS256)
                    .keyID(key.getKeyID())
                    .type(JOSEObjectType.JWT)
                    .build(),
                new JWTClaimsSet.Builder()
                    .issuer(uri().toString())
                    .subject(subject)
                    .audience("agentrouter")
                    .claim("email", subject + "@example.com")
                    .issueTime(new Date())
                    .expirationTime(Date.from(Instant.now().plusSeconds(3600)))
                    .build());
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
      } catch (JOSEException e) {
        throw new IllegalStateException(e);
      }
    }

    @Override
    public void close() {
      server.stop().join();
    }
  }

  static Rest.Response ok(Rest.Response r) {
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    return r;
  }

  /** One failure, kept for the assertion message. */
  record Failure(String caller, String protocol, CrossTenantMatrix.Case c, String answer) {
    @Override
    public String toString() {
      return caller + " " + protocol + " " + c + " -> " + answer;
    }
  }

  @Test
  void noCallerOfAnotherTenantReachesAnythingOfTheVictim() throws Exception {
    long t0 = System.nanoTime();
    Rest rest = cp.rest();
    // The victim: Alice's customer, project, key and principal.
    String alice = oidc("alice");
    String victimCustomer =
        ok(rest.post("/v1/customers", alice, "{\"name\":\"Victim Corp\"}")).text("customer_id");
    String victimProject =
        ok(rest.post(
                "/v1/customers/" + victimCustomer + "/projects",
                alice,
                "{\"name\":\"victim-web\",\"region\":\"eu-west-1\"}"))
            .text("project_id");
    String victimKeyId =
        ok(rest.post(
                "/v1/customers/" + victimCustomer + "/projects/" + victimProject + "/keys",
                alice,
                "{\"name\":\"victim key\"}"))
            .json()
            .path("key")
            .path("key_id")
            .asText();
    String alicePrincipal =
        ok(rest.get("/v1/me", alice)).json().path("principal").path("principal_id").asText();

    // The other tenant: Bob owns it; every role it can grant, at customer and project level.
    String bob = oidc("bob");
    String customer =
        ok(rest.post("/v1/customers", bob, "{\"name\":\"Other Ltd\"}")).text("customer_id");
    String project =
        ok(rest.post(
                "/v1/customers/" + customer + "/projects",
                bob,
                "{\"name\":\"other-web\",\"region\":\"eu-west-1\","
                    + "\"default_model\":\"openai/gpt-4o\"}"))
            .text("project_id");
    String projectPath = "/v1/customers/" + customer + "/projects/" + project;
    Map<String, String> callers = new LinkedHashMap<>();
    callers.put("customer owner", bob);
    for (String role : List.of("ADMIN", "MEMBER", "VIEWER")) {
      String subject = "customer-" + role.toLowerCase(java.util.Locale.ROOT);
      ok(
          rest.post(
              "/v1/customers/" + customer + "/members",
              bob,
              Rest.json(
                  Map.of(
                      "oidc_issuer",
                      issuer().toString(),
                      "oidc_subject",
                      subject,
                      "role",
                      "ROLE_" + role))));
      callers.put("customer " + role.toLowerCase(java.util.Locale.ROOT), oidc(subject));
    }
    for (String role : List.of("ADMIN", "MEMBER", "VIEWER")) {
      String subject = "project-" + role.toLowerCase(java.util.Locale.ROOT);
      ok(
          rest.post(
              projectPath + "/members",
              bob,
              Rest.json(
                  Map.of(
                      "oidc_issuer",
                      issuer().toString(),
                      "oidc_subject",
                      subject,
                      "role",
                      "ROLE_" + role))));
      callers.put("project " + role.toLowerCase(java.util.Locale.ROOT), oidc(subject));
    }
    Rest.Response ownerKey = ok(rest.post(projectPath + "/keys", bob, "{\"name\":\"owner's\"}"));
    String ownKeyId = ownerKey.json().path("key").path("key_id").asText();
    callers.put("API key (owner's)", SecretWatch.secret(ownerKey.text("secret")));
    Rest.Response memberKey =
        ok(
            rest.post(
                projectPath + "/keys", callers.get("customer member"), "{\"name\":\"member's\"}"));
    callers.put("API key (member's)", SecretWatch.secret(memberKey.text("secret")));
    // Positive control: every caller is who we think, and sees its own project.
    for (Map.Entry<String, String> c : callers.entrySet()) {
      assertThat(rest.get(projectPath, c.getValue()).status()).as(c.getKey()).isEqualTo(200);
    }
    String ownPrincipal =
        ok(rest.get("/v1/me", callers.get("customer viewer")))
            .json()
            .path("principal")
            .path("principal_id")
            .asText();

    List<CrossTenantMatrix.Case> cases =
        CrossTenantMatrix.generate(
            new CrossTenantMatrix.Ids(
                Map.of(
                    "customer_id", customer,
                    "project_id", project,
                    "key_id", ownKeyId,
                    "principal_id", ownPrincipal),
                Map.of(
                    "customer_id", victimCustomer,
                    "project_id", victimProject,
                    "key_id", victimKeyId,
                    "principal_id", alicePrincipal)));
    List<String> victimMarks =
        List.of("Victim Corp", "victim-web", "victim key", "alice@example.com");

    Map<String, Object> stubs = new HashMap<>();
    List<Failure> failures = new ArrayList<>();
    int tried = 0;
    int succeeded = 0;
    int non404 = 0;
    int grpcSkipped = 0;
    for (Map.Entry<String, String> caller : callers.entrySet()) {
      String token = caller.getValue();
      for (CrossTenantMatrix.Case c : cases) {
        // REST: 404 with the error JSON {"error": {"code": 404, "status": "NOT_FOUND", ...}}.
        tried++;
        Rest.Response r = rest.send(c.verb(), c.path(), token, c.body());
        if (r.status() / 100 == 2) {
          succeeded++;
        }
        boolean restShape =
            r.status() == 404
                && r.json() != null
                && r.json().path("error").path("code").asInt() == 404
                && r.json().path("error").path("status").asText().equals("NOT_FOUND")
                && !r.json().path("error").path("message").asText().isEmpty();
        if (r.status() != 404) {
          non404++;
        }
        if (!restShape || victimMarks.stream().anyMatch(r.body()::contains)) {
          failures.add(new Failure(caller.getKey(), "REST", c, r.status() + " " + r.body()));
        }

        // gRPC: NOT_FOUND with a google.rpc.Status carrying the same code.
        MethodDescriptor m = c.grpcMethod();
        if (m.isClientStreaming() || m.isServerStreaming()) {
          grpcSkipped++;
          continue;
        }
        tried++;
        String answer;
        boolean grpcOk;
        try {
          Object response = callGrpc(stubs, caller.getKey(), token, m, c.grpcJson());
          succeeded++;
          non404++;
          grpcOk = false;
          answer = "OK " + response;
        } catch (StatusRuntimeException e) {
          com.google.rpc.Status details = StatusProto.fromThrowable(e);
          boolean notFound = e.getStatus().getCode() == Status.Code.NOT_FOUND;
          if (!notFound) {
            non404++;
          }
          String text = String.valueOf(e.getStatus().getDescription()) + " " + details;
          grpcOk =
              notFound
                  && details != null
                  && details.getCode() == Status.Code.NOT_FOUND.value()
                  && !details.getMessage().isEmpty()
                  && victimMarks.stream().noneMatch(text::contains);
          answer = e.getStatus().getCode() + " " + text;
        }
        if (!grpcOk) {
          failures.add(new Failure(caller.getKey(), "gRPC", c, answer));
        }
      }
    }
    long endpoints = cases.stream().map(CrossTenantMatrix.Case::method).distinct().count();
    long seconds = Duration.ofNanos(System.nanoTime() - t0).toSeconds();
    Evidence.figure(
        CHECK,
        tried
            + " cases ("
            + cases.size()
            + " endpoint variants of "
            + endpoints
            + " methods x "
            + callers.size()
            + " roles x REST+gRPC, "
            + grpcSkipped
            + " streaming gRPC skipped) in "
            + seconds
            + " s",
        ">= 500 cases",
        tried >= 500);
    Evidence.figure(CHECK + ": roles", String.join(", ", callers.keySet()), "every role", true);
    Evidence.figure(CHECK + ": succeeded", succeeded + "/" + tried, "0", succeeded == 0);
    Evidence.figure(
        CHECK + ": not 404 in the protocol's error shape",
        failures.size() + "/" + tried + " (" + non404 + " with another status)",
        "0",
        failures.isEmpty());
    assertThat(tried).isGreaterThanOrEqualTo(500);
    assertThat(endpoints).isGreaterThanOrEqualTo(30);
    assertThat(failures).as("failures (%s)", failures.size()).isEmpty();
    assertThat(succeeded).isZero();
  }

  /** Calls {@code m} through its generated blocking stub, the request built from JSON. */
  private static Object callGrpc(
      Map<String, Object> stubs, String caller, String token, MethodDescriptor m, String json)
      throws Exception {
    String pkg = m.getFile().getOptions().getJavaPackage();
    String service = m.getService().getName();
    Object stub =
        stubs.computeIfAbsent(
            caller + "/" + service,
            k -> {
              try {
                Class<?> type =
                    Class.forName(pkg + "." + service + "Grpc$" + service + "BlockingStub");
                return GrpcClients.builder("gproto+" + cp.baseUrl())
                    .addHeader("authorization", "Bearer " + token)
                    .responseTimeout(Duration.ofSeconds(30))
                    .build(type);
              } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
              }
            });
    Class<?> requestType = Class.forName(pkg + "." + m.getInputType().getName());
    Message.Builder b = (Message.Builder) requestType.getMethod("newBuilder").invoke(null);
    JsonFormat.parser().merge(json, b);
    String name = Character.toLowerCase(m.getName().charAt(0)) + m.getName().substring(1);
    Method call = stub.getClass().getMethod(name, requestType);
    try {
      return call.invoke(stub, b.build());
    } catch (InvocationTargetException e) {
      if (e.getCause() instanceof StatusRuntimeException s) {
        throw s;
      }
      throw e;
    }
  }
}
