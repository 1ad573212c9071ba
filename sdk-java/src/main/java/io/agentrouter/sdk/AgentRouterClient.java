package io.agentrouter.sdk;

import static java.util.Objects.requireNonNull;

import com.linecorp.armeria.client.ClientFactory;
import com.linecorp.armeria.client.ClientFactoryBuilder;
import com.linecorp.armeria.client.grpc.GrpcClientBuilder;
import com.linecorp.armeria.client.grpc.GrpcClients;
import io.agentrouter.proto.admin.v1.CustomerServiceGrpc;
import io.agentrouter.proto.admin.v1.DataplaneServiceGrpc;
import io.agentrouter.proto.admin.v1.IdentityServiceGrpc;
import io.agentrouter.proto.admin.v1.KeyServiceGrpc;
import io.agentrouter.proto.admin.v1.ProjectServiceGrpc;
import io.agentrouter.proto.admin.v1.ProviderKeyServiceGrpc;
import io.agentrouter.proto.admin.v1.RouteServiceGrpc;
import io.agentrouter.proto.admin.v1.UsageServiceGrpc;
import io.agentrouter.proto.inference.v1.InferenceIngressServiceGrpc;
import io.grpc.stub.AbstractStub;
import java.io.File;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The typed client of the AgentRouter control plane, over its gRPC API.
 *
 * <pre>{@code
 * try (var client = AgentRouterClient.builder().build()) {   // AGENTROUTER_BASE_URL, _API_KEY
 *   PromptResponse r = client.inference().prompt("", "", "Say hello", PromptOption.model("gpt-4o"));
 * }
 * }</pre>
 *
 * <p>Reads, and writes carrying an idempotency key, are retried on UNAVAILABLE with exponential
 * backoff; other writes never are. Failures are {@link AgentRouterException}s. Thread-safe; close
 * it to release its connections.
 */
public final class AgentRouterClient implements AutoCloseable {
  /** The environment variable naming the control plane's base URL. */
  public static final String BASE_URL_ENV = "AGENTROUTER_BASE_URL";

  /** The environment variable holding the API key. */
  public static final String API_KEY_ENV = "AGENTROUTER_API_KEY";

  private final ClientFactory factory;
  private final URI baseUrl;
  private final InferenceClient inference;
  private final IdentityClient identity;
  private final CustomersClient customers;
  private final ProjectsClient projects;
  private final MembersClient members;
  private final KeysClient keys;
  private final ProviderKeysClient providerKeys;
  private final RoutesClient routes;
  private final DataplanesClient dataplanes;
  private final UsageClient usage;

  private AgentRouterClient(Builder b, URI baseUrl, @Nullable String token) {
    this.baseUrl = baseUrl;
    ClientFactoryBuilder fb = ClientFactory.builder();
    if (b.insecureTrustAll) {
      fb.tlsNoVerify();
    }
    if (b.trustedCertificates != null) {
      File pem = b.trustedCertificates.toFile();
      fb.tlsCustomizer(ssl -> ssl.trustManager(pem));
    }
    this.factory = fb.build();
    Calls calls = new Calls(b.maxRetries, b.initialBackoff, b.maxBackoff, Thread::sleep);
    Stubs stubs = new Stubs(factory, baseUrl, token, b.deadline);
    var customerStub = stubs.of(CustomerServiceGrpc.CustomerServiceBlockingStub.class);
    var projectStub = stubs.of(ProjectServiceGrpc.ProjectServiceBlockingStub.class);
    this.inference =
        new InferenceClient(
            stubs.of(InferenceIngressServiceGrpc.InferenceIngressServiceBlockingStub.class), calls);
    this.identity =
        new IdentityClient(stubs.of(IdentityServiceGrpc.IdentityServiceBlockingStub.class), calls);
    this.customers = new CustomersClient(customerStub, calls);
    this.projects = new ProjectsClient(projectStub, calls);
    this.members = new MembersClient(customerStub, projectStub, calls);
    this.keys = new KeysClient(stubs.of(KeyServiceGrpc.KeyServiceBlockingStub.class), calls);
    this.providerKeys =
        new ProviderKeysClient(
            stubs.of(ProviderKeyServiceGrpc.ProviderKeyServiceBlockingStub.class), calls);
    this.routes =
        new RoutesClient(stubs.of(RouteServiceGrpc.RouteServiceBlockingStub.class), calls);
    this.dataplanes =
        new DataplanesClient(
            stubs.of(DataplaneServiceGrpc.DataplaneServiceBlockingStub.class), calls);
    this.usage = new UsageClient(stubs.of(UsageServiceGrpc.UsageServiceBlockingStub.class), calls);
  }

  /** A builder that starts from {@code AGENTROUTER_BASE_URL} and {@code AGENTROUTER_API_KEY}. */
  public static Builder builder() {
    return new Builder(System.getenv());
  }

  /** The control plane this client talks to. */
  public URI baseUrl() {
    return baseUrl;
  }

  /** Prompts and data plane URLs. */
  public InferenceClient inference() {
    return inference;
  }

  /** Who am I. */
  public IdentityClient identity() {
    return identity;
  }

  /** Customers. */
  public CustomersClient customers() {
    return customers;
  }

  /** Projects. */
  public ProjectsClient projects() {
    return projects;
  }

  /** Customer and project memberships. */
  public MembersClient members() {
    return members;
  }

  /** API keys. */
  public KeysClient keys() {
    return keys;
  }

  /** BYOK provider keys. */
  public ProviderKeysClient providerKeys() {
    return providerKeys;
  }

  /** Routes. */
  public RoutesClient routes() {
    return routes;
  }

  /** The data plane registry. */
  public DataplanesClient dataplanes() {
    return dataplanes;
  }

  /** Request logs and usage. */
  public UsageClient usage() {
    return usage;
  }

  @Override
  public void close() {
    factory.close();
  }

  private record Stubs(
      ClientFactory factory, URI baseUrl, @Nullable String token, Duration deadline) {
    <T extends AbstractStub<T>> T of(Class<T> type) {
      GrpcClientBuilder b =
          GrpcClients.builder("gproto+" + baseUrl).factory(factory).responseTimeout(deadline);
      if (token != null) {
        b.addHeader("authorization", "Bearer " + token);
      }
      return b.build(type);
    }
  }

  /**
   * Configures an {@link AgentRouterClient}. Base URL and API key default to the environment
   * variables {@value #BASE_URL_ENV} and {@value #API_KEY_ENV}; anything set here wins.
   */
  public static final class Builder {
    private @Nullable String baseUrl;
    private @Nullable String token;
    private Duration deadline = Duration.ofSeconds(30);
    private int maxRetries = 3;
    private Duration initialBackoff = Duration.ofMillis(200);
    private Duration maxBackoff = Duration.ofSeconds(5);
    private boolean insecureTrustAll;
    private @Nullable Path trustedCertificates;

    Builder(Map<String, String> env) {
      String url = env.get(BASE_URL_ENV);
      if (url != null && !url.isBlank()) {
        baseUrl = url.strip();
      }
      String key = env.get(API_KEY_ENV);
      if (key != null && !key.isBlank()) {
        token = key.strip();
      }
    }

    /** The control plane's base URL, {@code http://host:8080} or {@code https://…}. */
    public Builder baseUrl(String baseUrl) {
      this.baseUrl = requireNonNull(baseUrl, "baseUrl");
      return this;
    }

    /** Authenticates with an AgentRouter API key ({@code sk-ar-…}). */
    public Builder apiKey(String apiKey) {
      this.token = requireNonNull(apiKey, "apiKey");
      return this;
    }

    /** Authenticates with an OIDC bearer token from a trusted issuer. */
    public Builder bearerToken(String token) {
      this.token = requireNonNull(token, "token");
      return this;
    }

    /** How long one attempt of a call may take (default 30 s). */
    public Builder deadline(Duration deadline) {
      requireNonNull(deadline, "deadline");
      if (deadline.isNegative() || deadline.isZero()) {
        throw new IllegalArgumentException("deadline: " + deadline + " (expected: > 0)");
      }
      this.deadline = deadline;
      return this;
    }

    /** How often an idempotent call is retried on UNAVAILABLE (default 3; 0 turns retries off). */
    public Builder maxRetries(int maxRetries) {
      if (maxRetries < 0) {
        throw new IllegalArgumentException("maxRetries: " + maxRetries + " (expected: >= 0)");
      }
      this.maxRetries = maxRetries;
      return this;
    }

    /** The first and the largest backoff between retries (defaults 200 ms and 5 s). */
    public Builder backoff(Duration initial, Duration max) {
      requireNonNull(initial, "initial");
      requireNonNull(max, "max");
      if (initial.isNegative() || max.compareTo(initial) < 0) {
        throw new IllegalArgumentException(
            "backoff: " + initial + ".." + max + " (expected: 0 <= initial <= max)");
      }
      this.initialBackoff = initial;
      this.maxBackoff = max;
      return this;
    }

    /** Trusts the PEM certificates in {@code pemFile} for an {@code https} base URL. */
    public Builder trustedCertificates(Path pemFile) {
      this.trustedCertificates = requireNonNull(pemFile, "pemFile");
      return this;
    }

    /** Accepts any server certificate. For local development only. */
    public Builder insecureTrustAll() {
      this.insecureTrustAll = true;
      return this;
    }

    /** Builds the client; fails when no base URL was given or the URL is not http(s). */
    public AgentRouterClient build() {
      if (baseUrl == null || baseUrl.isBlank()) {
        throw new IllegalStateException(
            "no control plane URL: call baseUrl(...) or set " + BASE_URL_ENV);
      }
      URI uri;
      try {
        uri =
            URI.create(
                baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "baseUrl: '" + baseUrl + "' (expected: http://host:port or https://host:port)", e);
      }
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if (!scheme.equals("http") && !scheme.equals("https") || uri.getHost() == null) {
        throw new IllegalArgumentException(
            "baseUrl: '" + baseUrl + "' (expected: http://host:port or https://host:port)");
      }
      return new AgentRouterClient(this, uri, token);
    }
  }
}
