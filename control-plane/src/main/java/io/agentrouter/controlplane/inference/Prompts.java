package io.agentrouter.controlplane.inference;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.InvalidProtocolBufferException;
import com.linecorp.armeria.client.WebClient;
import com.linecorp.armeria.common.util.TimeoutMode;
import com.linecorp.armeria.server.ServiceRequestContext;
import io.agentrouter.controlplane.dataplanes.DataplaneStore;
import io.agentrouter.controlplane.dataplanes.DataplaneStore.DataplaneRow;
import io.agentrouter.controlplane.idempotency.IdempotencyStore;
import io.agentrouter.controlplane.identity.Caller;
import io.agentrouter.controlplane.keys.KeyStore;
import io.agentrouter.controlplane.keys.KeyStore.KeyRow;
import io.agentrouter.controlplane.keys.Money;
import io.agentrouter.controlplane.rpc.ApiException;
import io.agentrouter.controlplane.tenancy.TenancyStore.ProjectRow;
import io.agentrouter.controlplane.tokens.MpJwtMinter;
import io.agentrouter.controlplane.usage.SpendReader;
import io.agentrouter.proto.inference.v1.PromptResponse;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.YearMonth;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;

/**
 * Prompt after the project is resolved and authorized: model, key, idempotency, quota, data plane,
 * MP JWT, then the data plane's chat completions without blocking a thread while it runs.
 *
 * <pre>
 * resolve model, key ─▶ claim idempotency key ─▶ quota ─▶ pick data plane ─▶ mint JWT ─▶ POST
 *                          │ done: stored answer                                          │
 *                          │ running: 409, other request: 422          store answer ◀─────┘
 * </pre>
 */
public final class Prompts {
  /** A data plane whose last heartbeat is older than this takes no Prompt traffic. */
  static final Duration HEARTBEAT_WINDOW = Duration.ofSeconds(60);

  private static final Duration TOKEN_TTL = Duration.ofMinutes(5);

  private final DataplaneStore dataplanes;
  private final KeyStore keys;
  private final ModelDirectory models;
  private final SpendReader spend;
  private final IdempotencyStore idempotency;
  private final MpJwtMinter minter;
  private final DataplaneClient client;
  private final Duration upstreamTimeout;
  private final Clock clock;

  public Prompts(
      DataplaneStore dataplanes,
      KeyStore keys,
      ModelDirectory models,
      SpendReader spend,
      IdempotencyStore idempotency,
      MpJwtMinter minter,
      WebClient webClient,
      Duration upstreamTimeout,
      Clock clock) {
    this.dataplanes = requireNonNull(dataplanes, "dataplanes");
    this.keys = requireNonNull(keys, "keys");
    this.models = requireNonNull(models, "models");
    this.spend = requireNonNull(spend, "spend");
    this.idempotency = requireNonNull(idempotency, "idempotency");
    this.minter = requireNonNull(minter, "minter");
    this.upstreamTimeout = requireNonNull(upstreamTimeout, "upstreamTimeout");
    this.client = new DataplaneClient(requireNonNull(webClient, "webClient"), upstreamTimeout);
    this.clock = requireNonNull(clock, "clock");
  }

  /**
   * Runs the prompt and completes {@code out}; called on a blocking thread of a request whose
   * project the caller may send prompts to.
   */
  void run(
      Caller caller,
      ProjectRow project,
      String selector,
      String prompt,
      @Nullable UUID keyId,
      String idempotencyKey,
      StreamObserver<PromptResponse> out) {
    String model =
        new ModelSelector(models.models(), models.aliases(project.id()))
            .resolve(selector, project.defaultModel());
    Instant now = clock.instant();
    KeyRow key = resolveKey(caller, project.id(), keyId, now);
    boolean idempotent = !idempotencyKey.isEmpty();
    if (idempotent) {
      String hash = hash(caller.principalId().toString(), key.id().toString(), model, prompt);
      switch (idempotency.claim(project.id(), idempotencyKey, hash)) {
        case IdempotencyStore.Claim.Done done -> {
          out.onNext(parse(done.response()));
          out.onCompleted();
          return;
        }
        case IdempotencyStore.Claim.Running r ->
            throw ApiException.aborted(
                "a prompt with idempotency_key '"
                    + idempotencyKey
                    + "' is still running (expected a retry after it finishes)");
        case IdempotencyStore.Claim.Mismatch m ->
            throw ApiException.unprocessable(
                "idempotency_key '"
                    + idempotencyKey
                    + "' was used for a different prompt in the last 24 h (expected the same"
                    + " request, or a new key)");
        case IdempotencyStore.Claim.Won w -> {}
      }
    }
    try {
      checkQuota(project, key, now);
      DataplaneRow dp = choose(project, now);
      String jwt =
          minter.mint(
              caller.principalId(),
              project.customerId(),
              project.id(),
              key.id(),
              dp.id(),
              TOKEN_TTL);
      ServiceRequestContext ctx = ServiceRequestContext.current();
      // The answer may take longer than the server's default request timeout.
      ctx.setRequestTimeout(TimeoutMode.SET_FROM_NOW, upstreamTimeout.plusSeconds(10));
      Executor blocking = ctx.blockingTaskExecutor();
      client
          .chat(dp.publicUrl(), dp.name(), jwt, model, prompt, idempotent ? idempotencyKey : null)
          .whenCompleteAsync(
              (completion, err) -> {
                if (err != null) {
                  Throwable cause =
                      err instanceof CompletionException && err.getCause() != null
                          ? err.getCause()
                          : err;
                  release(idempotent, project.id(), idempotencyKey);
                  out.onError(cause);
                  return;
                }
                PromptResponse response =
                    PromptResponse.newBuilder()
                        .setCompletion(completion.text())
                        .setModel(completion.model())
                        .setDataplaneId(dp.id().toString())
                        .setPromptTokens(completion.promptTokens())
                        .setCompletionTokens(completion.completionTokens())
                        .build();
                try {
                  if (idempotent) {
                    idempotency.complete(project.id(), idempotencyKey, response.toByteArray());
                  }
                } catch (RuntimeException e) {
                  out.onError(e);
                  return;
                }
                out.onNext(response);
                out.onCompleted();
              },
              blocking);
    } catch (RuntimeException e) {
      release(idempotent, project.id(), idempotencyKey);
      throw e;
    }
  }

  private void release(boolean idempotent, UUID projectId, String idempotencyKey) {
    if (idempotent) {
      idempotency.release(projectId, idempotencyKey);
    }
  }

  /** Throws 404 when {@code keyId} is given and is not a key of the project. */
  void requireKeyIn(UUID projectId, @Nullable UUID keyId) {
    if (keyId != null) {
      KeyRow key = keys.find(keyId);
      if (key == null || !projectId.equals(key.projectId())) {
        throw ApiException.notFound("key", keyId);
      }
    }
  }

  private KeyRow resolveKey(Caller caller, UUID projectId, @Nullable UUID keyId, Instant now) {
    KeyRow key;
    if (keyId != null) {
      key = keys.find(keyId);
      if (key == null || !projectId.equals(key.projectId())) {
        throw ApiException.notFound("key", keyId);
      }
    } else if (caller.keyId() != null && projectId.equals(caller.boundProjectId())) {
      key = requireNonNull(keys.find(caller.keyId()), "caller's key");
    } else {
      key = keys.newestActive(projectId, now);
      if (key == null) {
        throw ApiException.unprocessable(
            "project '"
                + projectId
                + "' has no active API key to send the prompt with (expected one: create a key"
                + " first, or pass key_id)");
      }
    }
    if (key.revokedAt() != null || key.expired(now)) {
      throw ApiException.unprocessable(
          "key '" + key.id() + "' is revoked or expired (expected an active key of the project)");
    }
    return key;
  }

  private void checkQuota(ProjectRow project, KeyRow key, Instant now) {
    Duration untilReset =
        Duration.between(
            now,
            YearMonth.from(now.atOffset(ZoneOffset.UTC))
                .plusMonths(1)
                .atDay(1)
                .atStartOfDay()
                .toInstant(ZoneOffset.UTC));
    if (key.monthlyBudgetMicros() != null) {
      long spent =
          spend.monthToDateMicrosByKey(List.of(key.id().toString())).get(key.id().toString());
      if (spent >= key.monthlyBudgetMicros()) {
        throw ApiException.exhausted(
            "insufficient_quota: key '"
                + key.id()
                + "' has spent $"
                + Money.formatUsd(spent)
                + " of its monthly budget of $"
                + Money.formatUsd(key.monthlyBudgetMicros())
                + " (expected spend below the budget; it resets on the 1st, UTC)",
            untilReset);
      }
    }
    Long projectBudget = project.monthlyBudgetMicros();
    if (projectBudget != null) {
      long spent =
          spend
              .monthToDateMicrosByProject(List.of(project.id().toString()))
              .get(project.id().toString());
      if (spent >= projectBudget) {
        throw ApiException.exhausted(
            "insufficient_quota: project '"
                + project.id()
                + "' has spent $"
                + Money.formatUsd(spent)
                + " of its monthly budget of $"
                + Money.formatUsd(projectBudget)
                + " (expected spend below the budget; it resets on the 1st, UTC)",
            untilReset);
      }
    }
  }

  /** A healthy data plane of the home region, else of the first allowed region that has one. */
  private DataplaneRow choose(ProjectRow project, Instant now) {
    DataplaneRow dp =
        InferenceGrpcService.pickInRegions(
            project, region -> dataplanes.healthy(region, now.minus(HEARTBEAT_WINDOW)));
    if (dp != null) {
      return dp;
    }
    throw ApiException.unavailable(
        "no data plane is eligible for project '"
            + project.id()
            + "' in regions "
            + project.servingRegions()
            + " (expected an active, not drained data plane in its region or an allowed one with"
            + " a heartbeat in the last "
            + HEARTBEAT_WINDOW.toSeconds()
            + " s)",
        Duration.ofSeconds(30));
  }

  private static PromptResponse parse(byte[] stored) {
    try {
      return PromptResponse.parseFrom(stored);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("stored Prompt response does not parse", e);
    }
  }

  /** SHA-256 over length-prefixed parts, so no two different requests share a hash. */
  static String hash(String... parts) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (String p : parts) {
        byte[] b = p.getBytes(StandardCharsets.UTF_8);
        md.update(Integer.toString(b.length).getBytes(StandardCharsets.US_ASCII));
        md.update((byte) ':');
        md.update(b);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
