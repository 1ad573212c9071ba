package io.agentrouter.controlplane.idempotency;

import static io.agentrouter.controlplane.db.Tables.PROMPT_IDEMPOTENCY;
import static java.util.Objects.requireNonNull;

import io.agentrouter.controlplane.db.tables.records.PromptIdempotencyRecord;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.jooq.DSLContext;
import org.jspecify.annotations.Nullable;

/**
 * Idempotency keys of Prompt, in PostgreSQL so every control-plane replica agrees. The first
 * caller's {@code INSERT … ON CONFLICT DO NOTHING} wins and runs the request; later callers with
 * the same key see it running, see its stored response, or (with another request) a mismatch. Rows
 * expire after {@link #RETENTION}; expired rows are purged at most once a minute, on the way.
 */
public final class IdempotencyStore {
  /** How long a response is kept for replay. */
  public static final Duration RETENTION = Duration.ofHours(24);

  /**
   * A claim still running after this long belongs to a request that can no longer finish (its
   * control plane died mid-call, past any upstream timeout): the next caller takes it over.
   */
  public static final Duration STALE_RUNNING = Duration.ofMinutes(2);

  private static final Duration PURGE_EVERY = Duration.ofMinutes(1);

  private final DSLContext dsl;
  private final Clock clock;
  private final AtomicReference<Instant> lastPurge = new AtomicReference<>(Instant.EPOCH);

  public IdempotencyStore(DSLContext dsl, Clock clock) {
    this.dsl = requireNonNull(dsl, "dsl");
    this.clock = requireNonNull(clock, "clock");
  }

  /** What a claim found. */
  public sealed interface Claim {
    /** This caller owns the key now and must {@link #complete} or {@link #release} it. */
    record Won() implements Claim {}

    /** The same request finished earlier; here is its response. */
    record Done(byte[] response) implements Claim {}

    /** The same key is in use by a request still running. */
    record Running() implements Claim {}

    /** The key was used for a different request. */
    record Mismatch() implements Claim {}
  }

  public Claim claim(UUID projectId, String key, String requestHash) {
    Instant now = clock.instant();
    purgeExpired(now);
    for (int attempt = 0; attempt < 2; attempt++) {
      int n =
          dsl.insertInto(PROMPT_IDEMPOTENCY)
              .set(PROMPT_IDEMPOTENCY.PROJECT_ID, projectId)
              .set(PROMPT_IDEMPOTENCY.IDEMPOTENCY_KEY, key)
              .set(PROMPT_IDEMPOTENCY.REQUEST_HASH, requestHash)
              .set(PROMPT_IDEMPOTENCY.STATUS, "running")
              .set(PROMPT_IDEMPOTENCY.CREATED_AT, now.atOffset(ZoneOffset.UTC))
              .set(PROMPT_IDEMPOTENCY.EXPIRES_AT, now.plus(RETENTION).atOffset(ZoneOffset.UTC))
              .onConflictDoNothing()
              .execute();
      if (n == 1) {
        return new Claim.Won();
      }
      PromptIdempotencyRecord r = find(projectId, key);
      if (r == null) {
        continue; // released between our insert and our read: try again
      }
      if (!r.getExpiresAt().toInstant().isAfter(now)) {
        dsl.deleteFrom(PROMPT_IDEMPOTENCY)
            .where(PROMPT_IDEMPOTENCY.PROJECT_ID.eq(projectId))
            .and(PROMPT_IDEMPOTENCY.IDEMPOTENCY_KEY.eq(key))
            .and(PROMPT_IDEMPOTENCY.EXPIRES_AT.le(now.atOffset(ZoneOffset.UTC)))
            .execute();
        continue;
      }
      if (!r.getRequestHash().equals(requestHash)) {
        return new Claim.Mismatch();
      }
      if (r.getStatus().equals("done") && r.getResponse() != null) {
        return new Claim.Done(r.getResponse());
      }
      if (!r.getCreatedAt().toInstant().isAfter(now.minus(STALE_RUNNING))) {
        // Only one caller's update matches the old created_at: it alone takes the claim over.
        int taken =
            dsl.update(PROMPT_IDEMPOTENCY)
                .set(PROMPT_IDEMPOTENCY.CREATED_AT, now.atOffset(ZoneOffset.UTC))
                .where(PROMPT_IDEMPOTENCY.PROJECT_ID.eq(projectId))
                .and(PROMPT_IDEMPOTENCY.IDEMPOTENCY_KEY.eq(key))
                .and(PROMPT_IDEMPOTENCY.STATUS.eq("running"))
                .and(PROMPT_IDEMPOTENCY.CREATED_AT.eq(r.getCreatedAt()))
                .execute();
        if (taken == 1) {
          return new Claim.Won();
        }
      }
      return new Claim.Running();
    }
    return new Claim.Running();
  }

  /** Stores the response of a won claim for replay. */
  public void complete(UUID projectId, String key, byte[] response) {
    dsl.update(PROMPT_IDEMPOTENCY)
        .set(PROMPT_IDEMPOTENCY.STATUS, "done")
        .set(PROMPT_IDEMPOTENCY.RESPONSE, response)
        .where(PROMPT_IDEMPOTENCY.PROJECT_ID.eq(projectId))
        .and(PROMPT_IDEMPOTENCY.IDEMPOTENCY_KEY.eq(key))
        .execute();
  }

  /** Gives a won claim up (the request failed), so a retry with the same key runs again. */
  public void release(UUID projectId, String key) {
    dsl.deleteFrom(PROMPT_IDEMPOTENCY)
        .where(PROMPT_IDEMPOTENCY.PROJECT_ID.eq(projectId))
        .and(PROMPT_IDEMPOTENCY.IDEMPOTENCY_KEY.eq(key))
        .and(PROMPT_IDEMPOTENCY.STATUS.eq("running"))
        .execute();
  }

  /** Deletes expired rows; returns how many. Runs at most once a minute unless forced. */
  public int purgeExpired(Instant now) {
    Instant last = lastPurge.get();
    if (now.isBefore(last.plus(PURGE_EVERY)) || !lastPurge.compareAndSet(last, now)) {
      return 0;
    }
    return dsl.deleteFrom(PROMPT_IDEMPOTENCY)
        .where(PROMPT_IDEMPOTENCY.EXPIRES_AT.le(now.atOffset(ZoneOffset.UTC)))
        .execute();
  }

  private @Nullable PromptIdempotencyRecord find(UUID projectId, String key) {
    return dsl.selectFrom(PROMPT_IDEMPOTENCY)
        .where(PROMPT_IDEMPOTENCY.PROJECT_ID.eq(projectId))
        .and(PROMPT_IDEMPOTENCY.IDEMPOTENCY_KEY.eq(key))
        .fetchOne();
  }
}
