package io.agentrouter.dataplane.logging;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import ch.qos.logback.core.encoder.Encoder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Writes log lines to standard output from one background thread, a batch at a time.
 *
 * <p>The data plane logs a line per request from its event loops. Logback's {@code AsyncAppender}
 * in front of a {@code ConsoleAppender} wakes its worker for every line and writes every line with
 * its own system call; on a gateway pinned to one core that is a context switch and a write per
 * request, and the woken worker can hold the core while a request waits. Here the caller only
 * queues the event (never blocks: a full queue drops the line and counts it), and the writer wakes
 * every {@code flushIntervalMillis}, encodes everything queued and writes it with one call. A line
 * therefore reaches the output at most one interval late; on {@link #stop()} the rest is written.
 */
public final class BatchingConsoleAppender extends UnsynchronizedAppenderBase<ILoggingEvent> {
  private Encoder<ILoggingEvent> encoder;
  private int queueSize = 8192;
  private long flushIntervalMillis = 20;
  private ArrayBlockingQueue<ILoggingEvent> queue;
  private final AtomicLong dropped = new AtomicLong();
  private volatile boolean running;
  private Thread writer;

  public void setEncoder(Encoder<ILoggingEvent> encoder) {
    this.encoder = encoder;
  }

  public void setQueueSize(int queueSize) {
    this.queueSize = queueSize;
  }

  public void setFlushIntervalMillis(long flushIntervalMillis) {
    this.flushIntervalMillis = flushIntervalMillis;
  }

  /** Lines dropped because the queue was full. */
  public long dropped() {
    return dropped.get();
  }

  @Override
  public void start() {
    if (encoder == null) {
      addError("no encoder set for the appender named [" + name + "]");
      return;
    }
    if (queueSize < 1 || flushIntervalMillis < 1) {
      addError("queueSize and flushIntervalMillis must be positive");
      return;
    }
    queue = new ArrayBlockingQueue<>(queueSize);
    running = true;
    writer = new Thread(this::run, "agentrouter-log-writer");
    writer.setDaemon(true);
    writer.start();
    super.start();
  }

  @Override
  public void stop() {
    if (!isStarted()) {
      return;
    }
    super.stop();
    running = false;
    LockSupport.unpark(writer);
    try {
      writer.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  protected void append(ILoggingEvent event) {
    // Thread name, MDC and the formatted message are taken now, on the caller's thread.
    event.prepareForDeferredProcessing();
    if (!queue.offer(event)) {
      dropped.incrementAndGet();
    }
  }

  private void run() {
    List<ILoggingEvent> batch = new ArrayList<>();
    ByteArrayOutputStream out = new ByteArrayOutputStream(64 * 1024);
    long reportedDrops = 0;
    while (true) {
      boolean last = !running;
      queue.drainTo(batch);
      long drops = dropped.get();
      if (drops != reportedDrops) {
        out.writeBytes(
            ("log queue full: " + (drops - reportedDrops) + " lines dropped\n")
                .getBytes(StandardCharsets.UTF_8));
        reportedDrops = drops;
      }
      for (ILoggingEvent e : batch) {
        try {
          out.writeBytes(encoder.encode(e));
        } catch (RuntimeException ex) {
          addError("cannot encode a log event", ex);
        }
      }
      batch.clear();
      if (out.size() > 0) {
        write(out);
        if (out.size() > 1 << 20) {
          out = new ByteArrayOutputStream(64 * 1024); // a burst grew it: do not keep a large one
        } else {
          out.reset();
        }
      }
      if (last) {
        return;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(flushIntervalMillis));
    }
  }

  private void write(ByteArrayOutputStream out) {
    PrintStream stdout = System.out;
    try {
      out.writeTo(stdout);
    } catch (IOException e) {
      addError("cannot write log lines", e);
    }
    stdout.flush();
  }
}
