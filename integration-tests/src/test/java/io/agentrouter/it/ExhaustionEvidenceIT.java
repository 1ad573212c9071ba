package io.agentrouter.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.linecorp.armeria.client.ClientFactory;
import com.linecorp.armeria.client.WebClient;
import com.linecorp.armeria.common.AggregatedHttpResponse;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpHeaderNames;
import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.RequestHeaders;
import com.linecorp.armeria.common.util.EventLoopGroups;
import io.agentrouter.dataplane.TestGateway;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Exhaustion: the real data-plane jar, in its own process with a 256 MiB heap, under slow and idle
 * streaming clients on one tenant's key and slowloris connections, while another tenant sends
 * steady normal requests.
 *
 * <pre>
 *  test JVM                                         data-plane process (-Xmx256m)
 *  stream clients (never read) ──── attacked key ──►  cap: 16 concurrent ──► SlowUpstream
 *  slowloris (a header byte at a time) ────────────►  idle timeout            (slow-model: 4 chunks,
 *  steady tenant (100 req/s, WebClient) ───────────►                           then silence)
 *  /proc/net/tcp watch: when each client's connection was closed (CLOSE_WAIT)
 * </pre>
 *
 * <p>Asserted: the process is alive with no OutOfMemoryError, the attacked key never had more
 * upstream streams than its cap and the excess got 429, idle streams are ended at the provider's
 * {@code first_token_timeout_ms} with an error event, idle and slowloris connections are closed at
 * {@code AGENTROUTER_IDLE_TIMEOUT_MS}, and every request of the other tenant succeeds.
 *
 * <p>Reported, not asserted: the other tenant's p99 under attack against its p99 before and after
 * the attack (pooled), measured once both JVMs are warm, with each phase's CPU, JIT CPU and GC
 * pauses. On 2 shared cores the two unattacked phases of one run differ by more than the 20 % the
 * target allows, so the ratio measures the machine as much as the gateway.
 */
@ExtendWith(SecretWatch.class)
class ExhaustionEvidenceIT {
  private static final String CHECK = "Exhaustion";
  private static final Path DIR = Path.of("target", "exhaustion");

  /** The attacked key's concurrent-request cap. */
  private static final int CAP = 16;

  /** The provider's {@code first_token_timeout_ms}: also the longest silence within a stream. */
  private static final Duration STREAM_IDLE = Duration.ofSeconds(3);

  /** {@code AGENTROUTER_IDLE_TIMEOUT_MS}. */
  private static final Duration CONNECTION_IDLE = Duration.ofSeconds(5);

  private static final int SLOW_CHUNKS = 4;
  private static final Duration CHUNK_EVERY = Duration.ofMillis(500);

  /**
   * The steady tenant's rate, the same in every phase: 1,000 requests in a 10 s phase, so that its
   * p99 rests on 10 values rather than 3.
   */
  private static final int STEADY_RPS = 100;

  /**
   * A round of the warm-up after the rehearsal: the steady tenant, 64 stream clients (16 admitted)
   * and 16 slowloris, closed by the test at its end.
   */
  private static final Duration WARM_UP_ROUND = Duration.ofSeconds(5);

  /** Warm-up ends when both JVMs' JIT compilers used less than this in a round (5 % of 2 cores). */
  private static final double WARM_JIT_MS_PER_S = 100;

  private static final int WARM_UP_MAX_ROUNDS = 6;

  /** /proc/net/tcp polling period: the resolution of every "closed at" below. */
  private static final long WATCH_MILLIS = 200;

  @Test
  void slowClientsAndSlowlorisNeitherExhaustTheDataPlaneNorSlowOtherTenants() throws Exception {
    long began = System.nanoTime();
    int streamClients = Evidence.size(400, 2000);
    int slowlorisClients = Evidence.size(100, 500);
    Duration phase = Duration.ofSeconds(Evidence.size(10, 30));
    String attackKey = SecretWatch.secret(TestGateway.newKey());
    String steadyKey = SecretWatch.secret(TestGateway.newKey());
    String providerKey =
        SecretWatch.secret("sk-fake-" + UUID.randomUUID().toString().replace("-", ""));
    Files.createDirectories(DIR);
    Path gcLog = DIR.resolve("data-plane-gc.log").toAbsolutePath();
    Files.deleteIfExists(gcLog);

    try (SlowUpstream up = SlowUpstream.start(SLOW_CHUNKS, CHUNK_EVERY)) {
      Path config = DIR.resolve("data-plane.yaml");
      Files.writeString(config, config(up.baseUrl()));
      try (DataPlaneProcess dp =
          DataPlaneProcess.start(
              List.of("-Xmx256m", "-Xlog:gc:file=" + gcLog),
              Map.of(
                  "AGENTROUTER_CONFIG_FILE",
                  config.toAbsolutePath().toString(),
                  "AGENTROUTER_HTTP_PORT",
                  "0",
                  "AGENTROUTER_CONFIG_POLL_MS",
                  "0",
                  "AGENTROUTER_SHUTDOWN_QUIET_MS",
                  "0",
                  "AGENTROUTER_ALLOW_PRIVATE_UPSTREAMS",
                  "true",
                  "AGENTROUTER_IDLE_TIMEOUT_MS",
                  Long.toString(CONNECTION_IDLE.toMillis()),
                  // Every slow stream ends in a provider timeout by design; with the default
                  // breaker the target would open after 5 of them and turn the rest of the attack
                  // into fast 503s that hold no slot, testing the breaker instead of the cap.
                  "AGENTROUTER_BREAKER_FAILURES",
                  "1000000",
                  "ATTACK_KEY",
                  attackKey,
                  "STEADY_KEY",
                  steadyKey,
                  "FAKE_PROVIDER_KEY",
                  providerKey),
              DIR.resolve("data-plane.out"),
              Duration.ofSeconds(60))) {
        run(dp, up, attackKey, steadyKey, streamClients, slowlorisClients, phase, gcLog, began);
      }
    }
  }

  private void run(
      DataPlaneProcess dp,
      SlowUpstream up,
      String attackKey,
      String steadyKey,
      int streamClients,
      int slowlorisClients,
      Duration phase,
      Path gcLog,
      long began)
      throws Exception {
    InetSocketAddress addr = new InetSocketAddress("127.0.0.1", dp.port());
    ScheduledExecutorService timers = Executors.newScheduledThreadPool(2);
    // The steady tenant's sends have a thread of their own: the /proc poll and the slowloris
    // writes on the other timers would otherwise delay them under attack only.
    ScheduledExecutorService steadyTimer = Executors.newSingleThreadScheduledExecutor();
    // The steady tenant's client drops idle connections before the gateway's idle timeout would,
    // so a request never races a connection the gateway is closing.
    ClientFactory factory =
        ClientFactory.builder()
            .workerGroup(EventLoopGroups.newEventLoopGroup(1), true)
            .idleTimeout(Duration.ofSeconds(2))
            .build();
    List<Conn> streams = new ArrayList<>();
    List<Conn> slowloris = new ArrayList<>();
    try (TcpWatch watch = new TcpWatch(dp.port(), timers)) {
      Steady steady =
          new Steady(
              WebClient.builder("h1c://127.0.0.1:" + dp.port())
                  .factory(factory)
                  .responseTimeout(Duration.ofSeconds(10))
                  .build(),
              steadyKey,
              steadyTimer);
      String warmUp =
          warmUp(
              steady,
              up,
              dp,
              gcLog,
              addr,
              attackKey,
              streamClients,
              slowlorisClients,
              phase,
              watch);

      // Baseline, attack, baseline again once every attacking connection is closed: a drift of the
      // machine's load or of the JIT over the run shows as a difference between the two baselines
      // instead of being charged to the attack.
      Usage atStart = Usage.now(dp, gcLog);
      Steady.Result before = steady.run(phase, STEADY_RPS);
      Usage afterBefore = Usage.now(dp, gcLog);

      // The attack: stream clients paced over the phase, slowloris opened during its first 2 s,
      // and the steady tenant measured over the same phase.
      CompletableFuture<Steady.Result> underAttack =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return steady.run(phase, STEADY_RPS);
                } catch (InterruptedException e) {
                  throw new IllegalStateException(e);
                }
              });
      ScheduledFuture<?> trickle =
          timers.scheduleAtFixedRate(() -> trickle(slowloris), 500, 500, TimeUnit.MILLISECONDS);
      long attackStart = System.nanoTime();
      openAttack(
          addr,
          attackKey,
          "",
          streamClients,
          slowlorisClients,
          phase,
          streams,
          slowloris,
          watch::track);
      Steady.Result attacked = underAttack.get(phase.toSeconds() + 60, TimeUnit.SECONDS);
      Usage afterAttack = Usage.now(dp, gcLog);
      long rssAfterAttackKb = dp.procStatusKb("VmRSS");

      // Drain: every connection must be closed by the gateway within its timeouts.
      try {
        awaitClosedByGateway("every connection closed by the gateway", streams, slowloris);
      } catch (ConditionTimeoutException e) {
        // The figure and the assertions below count and report what stayed open.
      }
      trickle.cancel(false);
      Usage drained = Usage.now(dp, gcLog);
      Steady.Result after = steady.run(phase, STEADY_RPS);
      Usage atEnd = Usage.now(dp, gcLog);

      // What each stream client got, read only now that the gateway has closed its connection.
      Map<Integer, Integer> statuses = new TreeMap<>();
      int admitted = 0;
      int admittedWithErrorEvent = 0;
      List<Long> streamIdleEnd = new ArrayList<>();
      List<Long> closeAfter429 = new ArrayList<>();
      List<Long> closeAfterStream = new ArrayList<>();
      List<Long> closeAfterSlowloris = new ArrayList<>();
      int unclosed = 0;
      for (Conn c : streams) {
        if (c.closedNanos == 0) {
          unclosed++;
          continue;
        }
        String answer = c.readAll();
        int status = status(answer);
        statuses.merge(status, 1, Integer::sum);
        if (status == 200) {
          admitted++;
          if (answer.contains("The response was interrupted")) {
            admittedWithErrorEvent++;
          }
          SlowUpstream.Stream u = up.streams().get(c.tag);
          if (u != null && u.endedNanos != 0) {
            streamIdleEnd.add(millis(u.endedNanos - u.lastChunkNanos));
            closeAfterStream.add(millis(c.closedNanos - u.endedNanos));
          }
        } else if (status == 429) {
          closeAfter429.add(millis(c.closedNanos - c.sentNanos));
        }
      }
      for (Conn c : slowloris) {
        if (c.closedNanos == 0) {
          unclosed++;
        } else {
          closeAfterSlowloris.add(millis(c.closedNanos - c.sentNanos));
        }
      }
      streams.forEach(Conn::close);
      slowloris.forEach(Conn::close);
      writeTimeline(up, attackStart);

      // ---- figures ----
      String output = dp.output();
      SecretWatch.scan("data-plane output", output);
      boolean alive = dp.alive();
      boolean oom = output.contains("OutOfMemoryError");
      long peakRssKb = dp.procStatusKb("VmHWM");
      long[] heap = heapFromGcLog(gcLog);
      Evidence.figure(
          CHECK,
          String.format(
              Locale.ROOT,
              "process %s, %s; %d stream clients + %d slowloris; peak RSS %s, RSS after the"
                  + " attack %s; heap before GC max %d MiB, after GC max %d MiB (of 256)",
              alive ? "alive" : "DEAD",
              oom ? "OutOfMemoryError in its output" : "no OutOfMemoryError",
              streamClients,
              slowlorisClients,
              mib(peakRssKb),
              mib(rssAfterAttackKb),
              heap[0],
              heap[1]),
          "alive, no OOM at -Xmx256m",
          alive && !oom);
      int others =
          streams.size() - unclosed - statuses.getOrDefault(200, 0) - statuses.getOrDefault(429, 0);
      Evidence.figure(
          CHECK + ": per-key concurrency",
          String.format(
              Locale.ROOT,
              "max %d upstream streams at once for the attacked key (cap %d); %d admitted, %d"
                  + " got 429, %d other answers %s",
              up.maxInFlight(),
              CAP,
              admitted,
              statuses.getOrDefault(429, 0),
              others,
              statuses),
          "<= " + CAP + ", the excess 429",
          up.maxInFlight() <= CAP && others == 0 && statuses.getOrDefault(429, 0) > 0);
      Steady.Result baseline = Steady.Result.merge(before, after);
      long p99Base = baseline.percentile(0.99);
      long p99Attack = attacked.percentile(0.99);
      boolean latencyMet = p99Attack <= p99Base * 1.2;
      Evidence.figure(
          CHECK + ": other tenant p99",
          String.format(
              Locale.ROOT,
              "p99 %.1f ms under attack vs %.1f ms baseline (%+.0f%%), %d/s throughout; p50/p99/max"
                  + " (n): before %s, under attack %s, after %s",
              p99Attack / 1000.0,
              p99Base / 1000.0,
              100.0 * (p99Attack - p99Base) / Math.max(1, p99Base),
              STEADY_RPS,
              before.summary(),
              attacked.summary(),
              after.summary()),
          "within 20% of baseline (before and after pooled)",
          latencyMet);
      Evidence.figure(
          CHECK + ": CPU and GC by phase",
          String.format(
              Locale.ROOT,
              "after %s: data plane CPU %s, of which JIT compiler threads %s; test JVM"
                  + " (attackers, steady client, fake upstream) CPU %s, of which JIT %s; data-plane"
                  + " GC pauses %s",
              warmUp,
              Usage.perSecond(atStart, afterBefore, afterAttack, drained, atEnd, Usage::dpCpuMs),
              Usage.perSecond(atStart, afterBefore, afterAttack, drained, atEnd, Usage::dpJitMs),
              Usage.perSecond(atStart, afterBefore, afterAttack, drained, atEnd, Usage::testCpuMs),
              Usage.perSecond(atStart, afterBefore, afterAttack, drained, atEnd, Usage::testJitMs),
              Usage.pauses(atStart, afterBefore, afterAttack, drained, atEnd)),
          "reported",
          true);
      Evidence.figure(
          CHECK + ": other tenant success",
          String.format(
              Locale.ROOT,
              "%d/%d before, %d/%d under attack and %d/%d after answered 200",
              before.ok.get(),
              before.sent,
              attacked.ok.get(),
              attacked.sent,
              after.ok.get(),
              after.sent),
          "all 200",
          baseline.failed().isEmpty() && attacked.failed().isEmpty());
      long idleLo = STREAM_IDLE.toMillis() - 100;
      long idleHi = STREAM_IDLE.plusSeconds(2).toMillis();
      Evidence.figure(
          CHECK + ": idle streams ended",
          String.format(
              Locale.ROOT,
              "%d/%d admitted streams ended %s ms after the upstream went silent (configured"
                  + " %d ms), %d with an error event",
              streamIdleEnd.size(),
              admitted,
              spread(streamIdleEnd),
              STREAM_IDLE.toMillis(),
              admittedWithErrorEvent),
          "all, in " + idleLo + "-" + idleHi + " ms, with an error event",
          streamIdleEnd.size() == admitted
              && admittedWithErrorEvent == admitted
              && within(streamIdleEnd, idleLo, idleHi));
      long connLo = CONNECTION_IDLE.toMillis() - 300;
      long connHi = CONNECTION_IDLE.plusSeconds(3).toMillis();
      Evidence.figure(
          CHECK + ": idle connections closed",
          String.format(
              Locale.ROOT,
              "closed %s ms after a 429 (%d), %s ms after an ended stream (%d), %s ms after a"
                  + " slowloris connected (%d); %d never closed; configured %d ms, measured to"
                  + " %d ms",
              spread(closeAfter429),
              closeAfter429.size(),
              spread(closeAfterStream),
              closeAfterStream.size(),
              spread(closeAfterSlowloris),
              closeAfterSlowloris.size(),
              unclosed,
              CONNECTION_IDLE.toMillis(),
              WATCH_MILLIS),
          "all, in " + connLo + "-" + connHi + " ms",
          unclosed == 0
              && within(closeAfter429, connLo, connHi)
              && within(closeAfterStream, connLo, connHi)
              && within(closeAfterSlowloris, connLo, connHi));
      Planes.log.info(
          "EXHAUSTION | wall time {} s; output in {}",
          millis(System.nanoTime() - began) / 1000,
          DIR.toAbsolutePath());

      // ---- the correctness properties ----
      assertThat(alive).as("data plane alive").isTrue();
      assertThat(oom).as("OutOfMemoryError in the data plane's output").isFalse();
      assertThat(up.maxInFlight())
          .as("upstream streams at once for the attacked key")
          .isLessThanOrEqualTo(CAP);
      assertThat(statuses).as("stream clients' answers").containsOnlyKeys(200, 429);
      assertThat(statuses.get(429)).as("stream clients refused with 429").isPositive();
      assertThat(before.failed()).as("steady tenant failures, baseline before").isEmpty();
      assertThat(after.failed()).as("steady tenant failures, baseline after").isEmpty();
      assertThat(attacked.failed()).as("steady tenant failures, under attack").isEmpty();
      assertThat(unclosed).as("connections the gateway never closed").isZero();
      assertThat(streamIdleEnd).as("idle streams seen ending upstream").hasSize(admitted);
      assertThat(admittedWithErrorEvent)
          .as("idle streams ended with an error event")
          .isEqualTo(admitted);
      assertThat(streamIdleEnd)
          .as("ms from upstream silence to the stream's end")
          .allMatch(v -> v >= idleLo && v <= idleHi);
      assertThat(closeAfter429)
          .as("ms from a 429 to the connection's close")
          .allMatch(v -> v >= connLo && v <= connHi);
      assertThat(closeAfterStream)
          .as("ms from a stream's end to the connection's close")
          .allMatch(v -> v >= connLo && v <= connHi);
      assertThat(closeAfterSlowloris)
          .as("ms from a slowloris connect to its close")
          .allMatch(v -> v >= connLo && v <= connHi);
    } finally {
      streams.forEach(Conn::close);
      synchronized (slowloris) {
        slowloris.forEach(Conn::close);
      }
      factory.closeAsync();
      timers.shutdownNow();
      steadyTimer.shutdownNow();
    }
  }

  /**
   * Runs every path the measured phases take before any of them is measured. Measured cold, the JIT
   * compiler threads of the two JVMs took 340-435 ms of CPU per second during the first baseline
   * and the attack and 75 ms/s afterwards, on 2 cores: the attack's code paths (429s, idle streams,
   * partial headers, the attackers' own sockets) were compiled during the attack, and that
   * compilation was charged to it. So: a rehearsal of the attack at its full size and pace with the
   * steady tenant running, left to the gateway to close as the attack is, then rounds of the steady
   * tenant alone until both JVMs' JIT threads are quiet.
   *
   * @return the number of rounds and the last round's JIT CPU, for the report
   */
  private static String warmUp(
      Steady steady,
      SlowUpstream up,
      DataPlaneProcess dp,
      Path gcLog,
      InetSocketAddress addr,
      String key,
      int streamClients,
      int slowlorisClients,
      Duration phase,
      TcpWatch watch)
      throws Exception {
    List<Conn> streams = new ArrayList<>();
    List<Conn> slowloris = new ArrayList<>();
    try {
      CompletableFuture<Steady.Result> steadyDuring =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return steady.run(phase, STEADY_RPS);
                } catch (InterruptedException e) {
                  throw new IllegalStateException(e);
                }
              });
      openAttack(
          addr,
          key,
          "rehearsal-",
          streamClients,
          slowlorisClients,
          phase,
          streams,
          slowloris,
          watch::track);
      slowloris.forEach(Conn::trickle);
      steadyDuring.get(phase.toSeconds() + 60, TimeUnit.SECONDS);
      // The gateway closes them first, as in the attack: closed by the test while the gateway
      // still held them, thousands of connections left behind half-closed pairs, and a later
      // connect was refused.
      awaitClosedByGateway("rehearsal connections closed by the gateway", streams, slowloris);
    } finally {
      streams.forEach(Conn::close);
      slowloris.forEach(Conn::close);
    }
    int round = 0;
    double jit = Double.NaN;
    while (round < WARM_UP_MAX_ROUNDS && (round < 1 || !(jit < WARM_JIT_MS_PER_S))) {
      Usage start = Usage.now(dp, gcLog);
      // Some of the attack in every round: rounds of the steady tenant alone let the JIT recompile
      // the shared code without the attack's branches (no 429 taken), and the measured attack then
      // deoptimized it: the data plane's JIT CPU went from 48 to 226 ms/s under attack.
      List<Conn> conns = new ArrayList<>();
      try {
        for (int i = 0; i < CAP * 4; i++) {
          conns.add(Conn.stream(addr, key, "warm-up-" + round + "-" + i));
        }
        for (int i = 0; i < CAP; i++) {
          conns.add(Conn.slowloris(addr, "warm-up-slowloris-" + round + "-" + i));
        }
        conns.forEach(Conn::trickle);
        steady.run(WARM_UP_ROUND, STEADY_RPS);
      } finally {
        conns.forEach(Conn::close);
      }
      await("warm-up streams gone upstream")
          .atMost(Duration.ofSeconds(10))
          .until(() -> up.inFlight() == 0);
      Usage end = Usage.now(dp, gcLog);
      jit =
          (end.dpJitMs + end.testJitMs - start.dpJitMs - start.testJitMs)
              / ((end.nanos - start.nanos) / 1e9);
      round++;
    }
    return String.format(
        Locale.ROOT,
        "a rehearsal and %d rounds of %d s, JIT %.0f ms/s in the last",
        round,
        WARM_UP_ROUND.toSeconds(),
        jit);
  }

  /**
   * Opens the attack's clients, paced over {@code phase}: stream clients evenly, slowloris during
   * its first 2 s.
   */
  private static void openAttack(
      InetSocketAddress addr,
      String key,
      String tagPrefix,
      int streamClients,
      int slowlorisClients,
      Duration phase,
      List<Conn> streams,
      List<Conn> slowloris,
      java.util.function.Consumer<Conn> onStream)
      throws IOException, InterruptedException {
    long start = System.nanoTime();
    long slowlorisEvery = Duration.ofSeconds(2).toNanos() / slowlorisClients;
    long streamEvery = phase.toNanos() / streamClients;
    int s = 0;
    for (int i = 0; i < streamClients; i++) {
      long due = start + i * streamEvery;
      while (s < slowlorisClients && start + s * slowlorisEvery <= due) {
        Conn c = Conn.slowloris(addr, tagPrefix + "slowloris-" + s++);
        synchronized (slowloris) {
          slowloris.add(c);
        }
      }
      sleepUntil(due);
      Conn c = Conn.stream(addr, key, tagPrefix + "attacker-" + i);
      streams.add(c);
      onStream.accept(c);
    }
    while (s < slowlorisClients) {
      Conn c = Conn.slowloris(addr, tagPrefix + "slowloris-" + s++);
      synchronized (slowloris) {
        slowloris.add(c);
      }
    }
  }

  /**
   * CPU time of both processes and the data plane's GC pauses up to a moment, to say where the
   * cores went in each phase.
   */
  private record Usage(
      long nanos,
      long dpCpuMs,
      long dpJitMs,
      long testCpuMs,
      long testJitMs,
      int gcPauses,
      double gcPauseMs) {
    private static final Pattern PAUSE = Pattern.compile("Pause [^\\n]*? ([0-9.]+)ms");

    static Usage now(DataPlaneProcess dp, Path gcLog) throws IOException {
      int pauses = 0;
      double pauseMs = 0;
      if (Files.exists(gcLog)) {
        Matcher m = PAUSE.matcher(Files.readString(gcLog));
        while (m.find()) {
          pauses++;
          pauseMs += Double.parseDouble(m.group(1));
        }
      }
      long[] dpCpu = cpu(dp.pid());
      long[] testCpu = cpu(ProcessHandle.current().pid());
      return new Usage(
          System.nanoTime(), dpCpu[0], dpCpu[1], testCpu[0], testCpu[1], pauses, pauseMs);
    }

    /**
     * User and system CPU ms of a process so far, in all its threads and in its JIT compiler
     * threads, from {@code /proc/<pid>/task/<tid>/stat} (clock ticks of 10 ms); zeros where there
     * is no /proc. A thread that ended takes its time with it; the JVMs here keep theirs.
     */
    private static long[] cpu(long pid) {
      long all = 0;
      long jit = 0;
      try (java.util.stream.Stream<Path> tasks =
          Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
        for (Path t : tasks.toList()) {
          try {
            String stat = Files.readString(t.resolve("stat"));
            // utime and stime are the 12th and 13th fields after the name, which may hold spaces.
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ms = (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10;
            all += ms;
            if (stat.contains("CompilerThre")) {
              jit += ms;
            }
          } catch (IOException | RuntimeException gone) {
            // The thread ended between the listing and the read.
          }
        }
      } catch (IOException | RuntimeException e) {
        return new long[] {0, 0};
      }
      return new long[] {all, jit};
    }

    /** CPU ms per second in the phases before, attack, drain and after. */
    static String perSecond(
        Usage start,
        Usage before,
        Usage attack,
        Usage drained,
        Usage end,
        java.util.function.ToLongFunction<Usage> cpu) {
      Usage[] u = {start, before, attack, drained, end};
      String[] names = {"before", "under attack", "drain", "after"};
      List<String> parts = new ArrayList<>();
      for (int i = 0; i < names.length; i++) {
        double seconds = (u[i + 1].nanos - u[i].nanos) / 1e9;
        parts.add(
            String.format(
                Locale.ROOT,
                "%s %.0f",
                names[i],
                (cpu.applyAsLong(u[i + 1]) - cpu.applyAsLong(u[i])) / seconds));
      }
      return String.join(", ", parts) + " ms/s";
    }

    /** Pause count and total ms in the same phases. */
    static String pauses(Usage start, Usage before, Usage attack, Usage drained, Usage end) {
      Usage[] u = {start, before, attack, drained, end};
      String[] names = {"before", "under attack", "drain", "after"};
      List<String> parts = new ArrayList<>();
      for (int i = 0; i < names.length; i++) {
        parts.add(
            String.format(
                Locale.ROOT,
                "%s %d (%.0f ms)",
                names[i],
                u[i + 1].gcPauses - u[i].gcPauses,
                u[i + 1].gcPauseMs - u[i].gcPauseMs));
      }
      return String.join(", ", parts);
    }
  }

  private static String config(String upstream) {
    return """
        dataplane_id: dp-exhaustion
        providers:
          - name: fake
            type: openai
            base_url: "%s"
            api_key_env: FAKE_PROVIDER_KEY
            timeout_ms: 10000
            first_token_timeout_ms: %d
        models:
          - {provider: fake, model: %s}
          - {provider: fake, model: %s}
        projects:
          - {id: attacked, customer: tenant-a}
          - {id: steady, customer: tenant-b}
        keys:
          - token_env: ATTACK_KEY
            project: attacked
            name: attacker
            allowed_models: [%3$s]
            limits: {concurrent_requests: %d}
          - token_env: STEADY_KEY
            project: steady
            name: steady
            allowed_models: [%4$s]
        """
        .formatted(
            upstream,
            STREAM_IDLE.toMillis(),
            SlowUpstream.SLOW_MODEL,
            SlowUpstream.STEADY_MODEL,
            CAP);
  }

  /** Writes the next header byte to every open slowloris connection; never ends the headers. */
  private static void trickle(List<Conn> slowloris) {
    List<Conn> open;
    synchronized (slowloris) {
      open = List.copyOf(slowloris);
    }
    for (Conn c : open) {
      if (c.closedNanos == 0) {
        c.trickle();
      }
    }
  }

  /** Each slow stream as the upstream saw it, in ms from the attack's start, for forensics. */
  private static void writeTimeline(SlowUpstream up, long attackStart) throws IOException {
    StringBuilder sb = new StringBuilder("tag\tstart_ms\tlast_chunk_ms\tended_ms\n");
    up.streams()
        .forEach(
            (tag, st) ->
                sb.append(tag)
                    .append('\t')
                    .append(millis(st.startNanos - attackStart))
                    .append('\t')
                    .append(millis(st.lastChunkNanos - attackStart))
                    .append('\t')
                    .append(st.endedNanos == 0 ? "-" : millis(st.endedNanos - attackStart))
                    .append('\n'));
    Files.writeString(DIR.resolve("upstream-streams.tsv"), sb);
  }

  private static int status(String answer) {
    Matcher m = Pattern.compile("^HTTP/1\\.1 (\\d{3})").matcher(answer);
    return m.find() ? Integer.parseInt(m.group(1)) : -1;
  }

  /** The largest heap occupancy before and after a GC in the child's GC log, in MiB. */
  private static long[] heapFromGcLog(Path gcLog) throws IOException {
    long before = 0;
    long after = 0;
    if (Files.exists(gcLog)) {
      Matcher m = Pattern.compile("(\\d+)M->(\\d+)M\\(\\d+M\\)").matcher(Files.readString(gcLog));
      while (m.find()) {
        before = Math.max(before, Long.parseLong(m.group(1)));
        after = Math.max(after, Long.parseLong(m.group(2)));
      }
    }
    return new long[] {before, after};
  }

  private static void sleepUntil(long nanos) throws InterruptedException {
    long wait = nanos - System.nanoTime();
    if (wait > 0) {
      TimeUnit.NANOSECONDS.sleep(wait);
    }
  }

  private static long millis(long nanos) {
    return nanos / 1_000_000;
  }

  private static String mib(long kb) {
    return kb < 0 ? "n/a" : (kb / 1024) + " MiB";
  }

  /**
   * Waits until the gateway has closed every attacking connection: the slowest stream's chunks,
   * then its idle end, then the connection's idle timeout, with margin.
   */
  private static void awaitClosedByGateway(String alias, List<Conn> streams, List<Conn> slowloris) {
    await(alias)
        .atMost(
            CHUNK_EVERY
                .multipliedBy(SLOW_CHUNKS)
                .plus(STREAM_IDLE)
                .plus(CONNECTION_IDLE)
                .plusSeconds(10))
        .pollInterval(Duration.ofMillis(WATCH_MILLIS))
        .until(
            () ->
                streams.stream().allMatch(c -> c.closedNanos != 0)
                    && slowloris.stream().allMatch(c -> c.closedNanos != 0));
  }

  private static boolean within(List<Long> values, long lo, long hi) {
    return values.stream().allMatch(v -> v >= lo && v <= hi);
  }

  /** min/p50/max, or "-" for none. */
  private static String spread(List<Long> values) {
    if (values.isEmpty()) {
      return "-";
    }
    long[] v = values.stream().mapToLong(Long::longValue).sorted().toArray();
    return v[0] + "/" + v[v.length / 2] + "/" + v[v.length - 1] + " (min/p50/max)";
  }

  /** One raw client connection: an attacking stream client or a slowloris. */
  private static final class Conn {
    private static final byte[] SLOWLORIS_START =
        "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
            .getBytes(StandardCharsets.US_ASCII);

    final String tag;
    final Socket socket;
    final long sentNanos;
    volatile long closedNanos;

    private Conn(String tag, Socket socket, long sentNanos) {
      this.tag = tag;
      this.socket = socket;
      this.sentNanos = sentNanos;
    }

    /** Sends a whole streaming request and then never reads. */
    static Conn stream(InetSocketAddress addr, String key, String tag) throws IOException {
      byte[] body =
          ("{\"model\":\""
                  + SlowUpstream.SLOW_MODEL
                  + "\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\""
                  + tag
                  + "\"}]}")
              .getBytes(StandardCharsets.UTF_8);
      byte[] head =
          ("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                  + key
                  + "\r\nContent-Type: application/json\r\nContent-Length: "
                  + body.length
                  + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII);
      Socket s = new Socket();
      s.connect(addr, 5000);
      OutputStream out = s.getOutputStream();
      out.write(head);
      out.write(body);
      out.flush();
      return new Conn(tag, s, System.nanoTime());
    }

    /**
     * Opens a connection and sends the request line and the start of a header, then one more byte
     * every tick ({@link #trickle}); a virtual thread notices the close (the server sends nothing
     * before it).
     */
    static Conn slowloris(InetSocketAddress addr, String tag) throws IOException {
      Socket s = new Socket();
      s.connect(addr, 5000);
      s.getOutputStream().write(SLOWLORIS_START);
      s.getOutputStream().flush();
      Conn c = new Conn(tag, s, System.nanoTime());
      Thread.ofVirtual()
          .start(
              () -> {
                try (InputStream in = s.getInputStream()) {
                  while (in.read() >= 0) {
                    // The gateway answers nothing to half a request; read until it closes.
                  }
                } catch (IOException closed) {
                  // Reset, or closed by us.
                }
                c.closed();
              });
      return c;
    }

    void trickle() {
      try {
        socket.getOutputStream().write('a');
        socket.getOutputStream().flush();
      } catch (IOException e) {
        closed();
      }
    }

    synchronized void closed() {
      if (closedNanos == 0) {
        closedNanos = System.nanoTime();
      }
    }

    /** Everything the gateway sent, once it has closed the connection. */
    String readAll() {
      ByteArrayOutputStream all = new ByteArrayOutputStream();
      try {
        socket.setSoTimeout(2000);
        InputStream in = socket.getInputStream();
        byte[] buf = new byte[8192];
        int n;
        while ((n = in.read(buf)) >= 0) {
          all.write(buf, 0, n);
        }
      } catch (IOException e) {
        // What arrived before the reset or the timeout is all there is.
      }
      return all.toString(StandardCharsets.UTF_8);
    }

    void close() {
      try {
        socket.close();
      } catch (IOException ignored) {
        // Closing.
      }
    }
  }

  /**
   * Notices when the gateway closes connections the test never reads from: their state in {@code
   * /proc/net/tcp(6)} turns to CLOSE_WAIT when the gateway's FIN arrives.
   */
  private static final class TcpWatch implements AutoCloseable {
    private static final int CLOSE_WAIT = 0x08;
    private final int serverPort;
    private final Map<Integer, Conn> byLocalPort = new ConcurrentHashMap<>();
    private final ScheduledFuture<?> poller;

    TcpWatch(int serverPort, ScheduledExecutorService timers) {
      this.serverPort = serverPort;
      this.poller =
          timers.scheduleWithFixedDelay(this::poll, 0, WATCH_MILLIS, TimeUnit.MILLISECONDS);
    }

    void track(Conn c) {
      byLocalPort.put(c.socket.getLocalPort(), c);
    }

    private void poll() {
      if (byLocalPort.isEmpty()) {
        return;
      }
      Map<Integer, Integer> states = new java.util.HashMap<>();
      for (String file : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
        try {
          // Hand-parsed: with thousands of sockets a split per line every 200 ms cost the
          // shared cores more than the gateway's own work.
          for (String line : Files.readAllLines(Path.of(file))) {
            // "  sl: local:port remote:port st ..." with hex ports and state.
            int local = line.indexOf(':', line.indexOf(':') + 1);
            int remote = line.indexOf(':', local + 1);
            if (local < 0 || remote < 0 || remote + 8 > line.length()) {
              continue;
            }
            if (Integer.parseInt(line, remote + 1, remote + 5, 16) == serverPort) {
              states.put(
                  Integer.parseInt(line, local + 1, local + 5, 16),
                  Integer.parseInt(line, remote + 6, remote + 8, 16));
            }
          }
        } catch (IOException | RuntimeException e) {
          // No such file (no IPv6), or a torn line: the next poll sees it.
        }
      }
      long now = System.nanoTime();
      byLocalPort.forEach(
          (port, c) -> {
            Integer st = states.get(port);
            if (st != null && st == CLOSE_WAIT && c.closedNanos == 0) {
              synchronized (c) {
                if (c.closedNanos == 0) {
                  c.closedNanos = now;
                }
              }
              byLocalPort.remove(port);
            }
          });
    }

    @Override
    public void close() {
      poller.cancel(false);
    }
  }

  /** The other tenant: normal, non-streamed chat completions at a fixed rate. */
  private static final class Steady {
    private final WebClient client;
    private final String key;
    private final ScheduledExecutorService timers;

    Steady(WebClient client, String key, ScheduledExecutorService timers) {
      this.client = client;
      this.key = key;
      this.timers = timers;
    }

    static final class Result {
      final ConcurrentLinkedQueue<Long> micros = new ConcurrentLinkedQueue<>();
      final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
      final AtomicInteger ok = new AtomicInteger();
      int sent;

      long percentile(double q) {
        long[] v = micros.stream().mapToLong(Long::longValue).sorted().toArray();
        if (v.length == 0) {
          return 0;
        }
        return v[Math.max(0, (int) Math.ceil(q * v.length) - 1)];
      }

      /** p50/p99/max in ms and the sample count, e.g. {@code 5.1/8.7/12.0 ms (1000)}. */
      String summary() {
        return String.format(
            Locale.ROOT,
            "%.1f/%.1f/%.1f ms (%d)",
            percentile(0.5) / 1000.0,
            percentile(0.99) / 1000.0,
            percentile(1.0) / 1000.0,
            micros.size());
      }

      /** All samples and failures of {@code results}, as one. */
      static Result merge(Result... results) {
        Result m = new Result();
        for (Result r : results) {
          m.micros.addAll(r.micros);
          m.failures.addAll(r.failures);
          m.ok.addAndGet(r.ok.get());
          m.sent += r.sent;
        }
        return m;
      }

      List<String> failed() {
        return List.copyOf(failures);
      }
    }

    Result run(Duration d, int rps) throws InterruptedException {
      Result r = new Result();
      ConcurrentLinkedQueue<CompletableFuture<?>> all = new ConcurrentLinkedQueue<>();
      long every = 1_000_000_000L / rps;
      int n = (int) (d.toNanos() / every);
      r.sent = n;
      AtomicInteger issued = new AtomicInteger();
      java.util.concurrent.CountDownLatch scheduled = new java.util.concurrent.CountDownLatch(1);
      ScheduledFuture<?> f =
          timers.scheduleAtFixedRate(
              () -> {
                if (issued.incrementAndGet() > n) {
                  scheduled.countDown();
                  return;
                }
                all.add(send(r));
              },
              0,
              every,
              TimeUnit.NANOSECONDS);
      scheduled.await(d.toSeconds() + 30, TimeUnit.SECONDS);
      f.cancel(false);
      try {
        CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
        r.failures.add("not all answered: " + e);
      }
      return r;
    }

    private CompletableFuture<?> send(Result r) {
      long t0 = System.nanoTime();
      HttpRequest req =
          HttpRequest.of(
              RequestHeaders.builder(HttpMethod.POST, "/v1/chat/completions")
                  .contentType(MediaType.JSON_UTF_8)
                  .add(HttpHeaderNames.AUTHORIZATION, "Bearer " + key)
                  .build(),
              HttpData.ofUtf8(
                  "{\"model\":\""
                      + SlowUpstream.STEADY_MODEL
                      + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"));
      return client
          .execute(req)
          .aggregate()
          .handle(
              (AggregatedHttpResponse res, Throwable cause) -> {
                long us = (System.nanoTime() - t0) / 1000;
                if (cause != null) {
                  r.failures.add(cause.toString());
                } else if (res.status().code() != 200) {
                  r.failures.add(res.status() + " " + res.contentUtf8());
                } else {
                  r.ok.incrementAndGet();
                  r.micros.add(us);
                }
                return null;
              });
    }
  }
}
