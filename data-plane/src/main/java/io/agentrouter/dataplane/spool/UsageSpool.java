package io.agentrouter.dataplane.spool;

import static java.util.Objects.requireNonNull;

import io.agentrouter.common.usage.UsageRecord;
import io.agentrouter.dataplane.usage.UsageSink;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable usage spool: every usage record is appended to a local file before it is shipped to
 * the control plane, and leaves only when the control plane has acked it, so records survive a
 * control-plane outage and a data-plane restart.
 *
 * <pre>
 *  event loop ──accept()──▶ queue ──writer thread──▶ segment files ──fsync──▶ pending ──▶ shipper
 *                                                      ▲ deleted when every record in it is acked
 * </pre>
 *
 * <ul>
 *   <li><b>fsync policy: group commit.</b> One writer thread (never an event loop) takes whatever
 *       records have queued, appends them all, and forces the file once; records that arrive while
 *       it forces form the next group. A record is durable, and only then handed to the shipper,
 *       once its group is forced, normally within a few milliseconds of the request's end; a crash
 *       before that loses at most the group in progress.
 *   <li><b>Segments.</b> Append-only files {@code usage-<seq>.seg} of length-prefixed, CRC-32C
 *       checked records, rotated at a size; a segment is deleted when all its records are acked. A
 *       torn tail (a crash mid-write) is cut off on start.
 *   <li><b>Restart.</b> Records of segments still on disk are shipped again; acks are not written
 *       down, so a partly acked segment is resent in full and the control plane deduplicates by
 *       request id.
 *   <li><b>Bound.</b> At most {@code maxBytes} on disk (and the same in memory). Past 80% it warns;
 *       full, new records are dropped and counted ({@code agentrouter_usage_spool_dropped_total}).
 * </ul>
 */
public final class UsageSpool implements UsageSink, MeterBinder, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(UsageSpool.class);
  private static final int MAX_QUEUED = 100_000;
  private static final int MAX_RECORD = 1 << 20;

  private final Path dir;
  private final long maxBytes;
  private final long segmentBytes;
  private final LinkedBlockingQueue<UsageRecord> incoming = new LinkedBlockingQueue<>(MAX_QUEUED);
  private final Thread writer;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final AtomicLong dropped = new AtomicLong();
  private volatile boolean running = true;
  private volatile boolean compactRequested;
  private volatile Runnable listener = () -> {};

  // Guarded by this.
  private final LinkedHashMap<String, Entry> pending = new LinkedHashMap<>();
  private final Set<String> sending = new HashSet<>();
  private final TreeMap<Long, Segment> segments = new TreeMap<>();
  private long diskBytes;
  private boolean nearFull;

  // Writer thread only.
  private FileChannel active;
  private long activeSeq;

  private record Entry(long segment, io.agentrouter.proto.dataplane.v1.UsageRecord record) {}

  private static final class Segment {
    final Path path;
    long bytes;
    int live;

    Segment(Path path, long bytes) {
      this.path = path;
      this.bytes = bytes;
    }
  }

  private UsageSpool(Path dir, long maxBytes, long segmentBytes) throws IOException {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.segmentBytes = segmentBytes;
    Files.createDirectories(dir);
    recover();
    openSegment(segments.isEmpty() ? 1 : segments.lastKey() + 1);
    writer = new Thread(this::run, "agentrouter-usage-spool");
    writer.setDaemon(true);
    writer.start();
  }

  /**
   * Opens the spool in {@code dir}, recovering the records left by a previous run.
   *
   * @param maxBytes disk the spool may use
   * @param segmentBytes size at which a segment is closed and a new one started
   */
  public static UsageSpool open(Path dir, long maxBytes, long segmentBytes) throws IOException {
    requireNonNull(dir, "dir");
    if (segmentBytes < 1024 || segmentBytes > maxBytes) {
      throw new IllegalArgumentException(
          "segmentBytes: " + segmentBytes + " (expected: 1024 to maxBytes=" + maxBytes + ")");
    }
    return new UsageSpool(dir, maxBytes, segmentBytes);
  }

  /** Queues {@code record} for the writer. Never blocks: a full queue drops and counts it. */
  @Override
  public void accept(UsageRecord record) {
    if (!running || !incoming.offer(record)) {
      drop(record.requestId(), "the spool's write queue is full");
    }
  }

  /** Called (on the writer thread) whenever records become durable. */
  public void onDurable(Runnable listener) {
    this.listener = requireNonNull(listener, "listener");
  }

  /**
   * Up to {@code max} durable records not yet handed out, oldest first; they stay in the spool
   * until {@linkplain #ack acked} or {@linkplain #release released}.
   */
  public synchronized List<io.agentrouter.proto.dataplane.v1.UsageRecord> take(int max) {
    List<io.agentrouter.proto.dataplane.v1.UsageRecord> out = new ArrayList<>();
    for (Map.Entry<String, Entry> e : pending.entrySet()) {
      if (out.size() >= max) {
        break;
      }
      if (sending.add(e.getKey())) {
        out.add(e.getValue().record());
      }
    }
    return out;
  }

  /** Hands records back (their delivery failed); they will be taken again. */
  public synchronized void release(Collection<String> requestIds) {
    sending.removeAll(requestIds);
  }

  /** Drops acked records; their segments go once nothing in them is pending. */
  public synchronized void ack(Collection<String> requestIds) {
    for (String id : requestIds) {
      sending.remove(id);
      Entry e = pending.remove(id);
      if (e != null) {
        Segment s = segments.get(e.segment());
        if (s != null) {
          s.live--;
        }
        compactRequested = true;
      }
    }
  }

  /** Records not yet acked, queued ones included. */
  public synchronized long pending() {
    return pending.size() + incoming.size();
  }

  /** Bytes the spool's segments take on disk. */
  public synchronized long diskBytes() {
    return diskBytes;
  }

  public long dropped() {
    return dropped.get();
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    Gauge.builder("agentrouter.usage.spool.records", this, UsageSpool::pending)
        .description("usage records waiting for the control plane's ack")
        .register(registry);
    Gauge.builder("agentrouter.usage.spool.bytes", this, UsageSpool::diskBytes)
        .description("disk used by the usage spool")
        .register(registry);
    Gauge.builder("agentrouter.usage.spool.max.bytes", this, s -> s.maxBytes)
        .description("disk the usage spool may use")
        .register(registry);
    FunctionCounter.builder("agentrouter.usage.spool.dropped", dropped, AtomicLong::get)
        .description("usage records dropped because the spool was full")
        .register(registry);
  }

  private void run() {
    try {
      while (running || !incoming.isEmpty()) {
        UsageRecord first = incoming.poll(100, TimeUnit.MILLISECONDS);
        if (first != null) {
          List<UsageRecord> group = new ArrayList<>();
          group.add(first);
          incoming.drainTo(group, 4095);
          writeGroup(group);
        }
        if (compactRequested) {
          compactRequested = false;
          compact();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException | RuntimeException e) {
      log.error("usage spool writer stopped; new usage records are not recorded", e);
      running = false;
    } finally {
      try {
        active.close();
      } catch (IOException e) {
        log.warn("usage spool segment did not close cleanly", e);
      }
      stopped.countDown();
    }
  }

  private void writeGroup(List<UsageRecord> group) throws IOException {
    List<Entry> written = new ArrayList<>(group.size());
    for (UsageRecord r : group) {
      io.agentrouter.proto.dataplane.v1.UsageRecord proto = UsageRecords.toProto(r);
      byte[] payload = proto.toByteArray();
      if (payload.length > MAX_RECORD) {
        drop(r.requestId(), "the record is larger than " + MAX_RECORD + " bytes");
        continue;
      }
      int frame = payload.length + 8;
      synchronized (this) {
        if (diskBytes + frame > maxBytes) {
          drop(r.requestId(), "the spool is full (" + maxBytes + " bytes)");
          continue;
        }
      }
      Segment seg;
      synchronized (this) {
        seg = segments.get(activeSeq);
      }
      if (seg.bytes > 0 && seg.bytes + frame > segmentBytes) {
        rotate();
        synchronized (this) {
          seg = segments.get(activeSeq);
        }
      }
      CRC32C crc = new CRC32C();
      crc.update(payload);
      ByteBuffer buf = ByteBuffer.allocate(frame);
      buf.putInt(payload.length).putInt((int) crc.getValue()).put(payload).flip();
      while (buf.hasRemaining()) {
        active.write(buf);
      }
      synchronized (this) {
        seg.bytes += frame;
        diskBytes += frame;
      }
      written.add(new Entry(activeSeq, proto));
    }
    if (written.isEmpty()) {
      return;
    }
    active.force(false); // the group commit
    synchronized (this) {
      for (Entry e : written) {
        if (pending.putIfAbsent(e.record().getRequestId(), e) == null) {
          segments.get(e.segment()).live++;
        }
      }
      checkBound();
    }
    listener.run();
  }

  private void checkBound() {
    if (!nearFull && diskBytes > maxBytes / 10 * 8) {
      nearFull = true;
      log.warn(
          "usage spool at {} of {} bytes ({} records waiting for the control plane); at the bound"
              + " new usage records are dropped",
          diskBytes,
          maxBytes,
          pending.size());
    } else if (nearFull && diskBytes < maxBytes / 10 * 7) {
      nearFull = false;
      log.info("usage spool back to {} of {} bytes", diskBytes, maxBytes);
    }
  }

  private void drop(String requestId, String why) {
    long n = dropped.incrementAndGet();
    if (n == 1 || n % 1000 == 0) {
      log.error(
          "usage record {} dropped: {} ({} dropped so far; see agentrouter_usage_spool_*)",
          requestId,
          why,
          n);
    }
  }

  /** Deletes segments nothing pending lives in; restarts the active one when it is all acked. */
  private void compact() throws IOException {
    List<Path> delete = new ArrayList<>();
    boolean rotateActive;
    synchronized (this) {
      Iterator<Map.Entry<Long, Segment>> it = segments.entrySet().iterator();
      while (it.hasNext()) {
        Map.Entry<Long, Segment> e = it.next();
        if (e.getKey() != activeSeq && e.getValue().live <= 0) {
          delete.add(e.getValue().path);
          diskBytes -= e.getValue().bytes;
          it.remove();
        }
      }
      Segment a = segments.get(activeSeq);
      rotateActive = a.live <= 0 && a.bytes > 0;
    }
    for (Path p : delete) {
      Files.deleteIfExists(p);
    }
    if (rotateActive) {
      rotate();
      compact();
    }
  }

  private void rotate() throws IOException {
    active.force(false);
    active.close();
    openSegment(activeSeq + 1);
  }

  private void openSegment(long seq) throws IOException {
    Path p = dir.resolve(String.format("usage-%016d.seg", seq));
    active =
        FileChannel.open(
            p, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    synchronized (this) {
      activeSeq = seq;
      segments.put(seq, new Segment(p, active.size()));
    }
  }

  /** Loads the segments a previous run left; cuts a torn tail. */
  private void recover() throws IOException {
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "usage-*.seg")) {
      ds.forEach(files::add);
    }
    files.sort(null);
    for (Path p : files) {
      String name = p.getFileName().toString();
      long seq;
      try {
        seq = Long.parseLong(name.substring(6, name.length() - 4));
      } catch (NumberFormatException e) {
        log.warn("ignoring {} in the usage spool (expected usage-<number>.seg)", p);
        continue;
      }
      byte[] all = Files.readAllBytes(p);
      ByteBuffer buf = ByteBuffer.wrap(all);
      Segment seg = new Segment(p, 0);
      long good = 0;
      while (buf.remaining() >= 8) {
        int len = buf.getInt();
        int sum = buf.getInt();
        if (len < 0 || len > MAX_RECORD || len > buf.remaining()) {
          break;
        }
        byte[] payload = new byte[len];
        buf.get(payload);
        CRC32C crc = new CRC32C();
        crc.update(payload);
        if ((int) crc.getValue() != sum) {
          break;
        }
        io.agentrouter.proto.dataplane.v1.UsageRecord r;
        try {
          r = io.agentrouter.proto.dataplane.v1.UsageRecord.parseFrom(payload);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
          break;
        }
        good = buf.position();
        if (pending.putIfAbsent(r.getRequestId(), new Entry(seq, r)) == null) {
          seg.live++;
        }
      }
      if (good < all.length) {
        log.warn(
            "usage spool segment {} has a torn tail ({} of {} bytes readable); cutting it",
            p,
            good,
            all.length);
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
          ch.truncate(good);
          ch.force(true);
        }
      }
      seg.bytes = good;
      if (seg.live == 0) {
        Files.deleteIfExists(p);
        continue;
      }
      segments.put(seq, seg);
      diskBytes += good;
    }
    if (!pending.isEmpty()) {
      log.info(
          "usage spool: {} records from a previous run are waiting for the control plane",
          pending.size());
    }
  }

  /** Writes what is queued, then stops the writer. */
  @Override
  public void close() {
    running = false;
    try {
      if (!stopped.await(10, TimeUnit.SECONDS)) {
        log.warn("usage spool writer did not stop within 10 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UncheckedIOException(new java.io.InterruptedIOException("closing the spool"));
    }
  }
}
