package io.agentrouter.dataplane.sync;

import static java.util.Objects.requireNonNull;

import io.agentrouter.dataplane.spool.UsageSpool;
import io.agentrouter.proto.dataplane.v1.RejectedRecord;
import io.agentrouter.proto.dataplane.v1.UsageAck;
import io.agentrouter.proto.dataplane.v1.UsageBatch;
import io.agentrouter.proto.dataplane.v1.UsageRecord;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ships the spool's durable records over {@code StreamUsage} in batches of up to 500, at most four
 * batches unacked at once, and drops records from the spool only when the control plane acks (or
 * rejects for good) their request ids. A broken stream hands its unacked batches back to the spool
 * and reconnects with backoff, to the next control-plane replica if there are several.
 *
 * <p>Confined to the sync executor: the stream's callbacks hop onto it.
 */
final class UsageShipper {
  private static final Logger log = LoggerFactory.getLogger(UsageShipper.class);
  static final int BATCH = 500;
  static final int WINDOW = 4;

  private final ControlPlaneLink link;
  private final UsageSpool spool;
  private final ScheduledExecutorService executor;
  private final AtomicBoolean pumpQueued = new AtomicBoolean();
  private final Map<String, List<String>> inFlight = new HashMap<>();
  private @Nullable StreamObserver<UsageBatch> out;
  private @Nullable String streamUrl;
  private long generation;
  private long batches;
  private int attempts;
  private boolean closed;

  UsageShipper(ControlPlaneLink link, UsageSpool spool, ScheduledExecutorService executor) {
    this.link = requireNonNull(link, "link");
    this.spool = requireNonNull(spool, "spool");
    this.executor = requireNonNull(executor, "executor");
  }

  /** Opens the stream; call on the executor once the credential is known. */
  void start() {
    spool.onDurable(this::requestPump);
    executor.scheduleWithFixedDelay(this::pump, 1, 1, TimeUnit.SECONDS);
    open();
  }

  private void requestPump() {
    if (pumpQueued.compareAndSet(false, true)) {
      ControlPlaneConfigSource.post(
          executor,
          () -> {
            pumpQueued.set(false);
            pump();
          });
    }
  }

  private void open() {
    if (closed) {
      return;
    }
    long gen = ++generation;
    String url = link.url();
    streamUrl = url;
    out =
        link.stub(url)
            .streamUsage(
                new StreamObserver<>() {
                  @Override
                  public void onNext(UsageAck ack) {
                    ControlPlaneConfigSource.post(executor, () -> acked(gen, ack));
                  }

                  @Override
                  public void onError(Throwable t) {
                    ControlPlaneConfigSource.post(executor, () -> broken(gen, url, t));
                  }

                  @Override
                  public void onCompleted() {
                    ControlPlaneConfigSource.post(
                        executor,
                        () ->
                            broken(
                                gen,
                                url,
                                io.grpc.Status.UNAVAILABLE
                                    .withDescription("the control plane ended the usage stream")
                                    .asRuntimeException()));
                  }
                });
    pump();
  }

  private void pump() {
    if (closed || out == null) {
      return;
    }
    while (inFlight.size() < WINDOW) {
      List<UsageRecord> records = spool.take(BATCH);
      if (records.isEmpty()) {
        return;
      }
      String batchId = "b" + generation + "-" + (++batches);
      List<String> ids = new ArrayList<>(records.size());
      records.forEach(r -> ids.add(r.getRequestId()));
      inFlight.put(batchId, ids);
      out.onNext(UsageBatch.newBuilder().setBatchId(batchId).addAllRecords(records).build());
    }
  }

  private void acked(long gen, UsageAck ack) {
    if (gen != generation) {
      return;
    }
    attempts = 0;
    List<String> done = new ArrayList<>(ack.getAckedRequestIdsList());
    for (RejectedRecord r : ack.getRejectedList()) {
      log.error(
          "control plane refused usage record {} for good: {}", r.getRequestId(), r.getReason());
      done.add(r.getRequestId());
    }
    spool.ack(done);
    List<String> sent = inFlight.remove(ack.getBatchId());
    if (sent != null) {
      // Ids of the batch the ack did not name go back for another try.
      List<String> rest = new ArrayList<>(sent);
      rest.removeAll(done);
      spool.release(rest);
    }
    pump();
  }

  private void broken(long gen, String url, Throwable t) {
    if (gen != generation || closed) {
      return;
    }
    out = null;
    inFlight.values().forEach(spool::release);
    inFlight.clear();
    attempts++;
    link.failed(url, t);
    long delay = link.delayMillis(attempts);
    log.warn(
        "usage stream to {} broke ({}); {} records wait in the spool; retrying in {} ms",
        url,
        ControlPlaneLink.describe(t),
        spool.pending(),
        delay);
    executor.schedule(this::open, delay, TimeUnit.MILLISECONDS);
  }

  /** Ends the stream; unacked records stay in the spool for the next start. */
  void close() {
    closed = true;
    StreamObserver<UsageBatch> o = out;
    out = null;
    if (o != null) {
      try {
        o.onCompleted();
      } catch (RuntimeException e) {
        log.debug("usage stream close to {} failed", streamUrl, e);
      }
    }
  }
}
