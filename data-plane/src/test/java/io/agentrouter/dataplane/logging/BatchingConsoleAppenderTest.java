package io.agentrouter.dataplane.logging;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class BatchingConsoleAppenderTest {
  private final PrintStream original = System.out;
  private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
  private final LoggerContext context = new LoggerContext();

  @BeforeEach
  void captureStandardOutput() {
    context.setMDCAdapter(new LogbackMDCAdapter()); // what a configured context has
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
  }

  @AfterEach
  void restore() {
    context
        .getStatusManager()
        .getCopyOfStatusList()
        .forEach(st -> original.println("STATUS " + st));
    context.stop();
    System.setOut(original);
  }

  private BatchingConsoleAppender appender(int queueSize, long flushIntervalMillis) {
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern("[%thread] %msg%n");
    encoder.start();
    BatchingConsoleAppender a = new BatchingConsoleAppender();
    a.setContext(context);
    a.setEncoder(encoder);
    a.setQueueSize(queueSize);
    a.setFlushIntervalMillis(flushIntervalMillis);
    a.start();
    Logger logger = context.getLogger("test");
    logger.setAdditive(false);
    logger.addAppender(a);
    return a;
  }

  private List<String> lines() {
    String out = captured.toString(StandardCharsets.UTF_8);
    return out.isEmpty() ? List.of() : List.of(out.split("\n"));
  }

  @Test
  void everyLineFromConcurrentThreadsIsWrittenOnceAndInEachThreadsOrder() throws Exception {
    BatchingConsoleAppender a = appender(100_000, 5);
    Logger logger = context.getLogger("test");
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      Thread th =
          new Thread(
              () -> {
                for (int i = 0; i < 5_000; i++) {
                  logger.info("line {}", i);
                }
              },
              "writer-" + t);
      threads.add(th);
      th.start();
    }
    for (Thread th : threads) {
      th.join();
    }
    a.stop();

    Map<String, Integer> next = new HashMap<>();
    for (String line : lines()) {
      String thread = line.substring(1, line.indexOf(']'));
      int n = Integer.parseInt(line.substring(line.lastIndexOf(' ') + 1));
      assertThat(n).as("order within %s", thread).isEqualTo(next.getOrDefault(thread, 0));
      next.put(thread, n + 1);
    }
    assertThat(next).hasSize(4).allSatisfy((thread, count) -> assertThat(count).isEqualTo(5_000));
    assertThat(a.dropped()).isZero();
  }

  @Test
  void aLineAppearsWithinTheFlushIntervalWithoutMoreTraffic() {
    appender(1_000, 20);
    context.getLogger("test").info("alone");

    await()
        .atMost(Duration.ofSeconds(1))
        .untilAsserted(() -> assertThat(lines()).containsExactly("[main] alone"));
  }

  @Test
  void aFullQueueDropsLinesWithoutBlockingAndSaysHowMany() {
    // The writer sleeps an hour between batches: only the queue's 10 lines fit until stop().
    BatchingConsoleAppender a = appender(10, 3_600_000);
    Logger logger = context.getLogger("test");
    long start = System.nanoTime();
    for (int i = 0; i < 1_000; i++) {
      logger.info("line {}", i);
    }
    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    a.stop();

    List<String> lines = lines();
    long reported =
        lines.stream()
            .filter(l -> l.startsWith("log queue full: "))
            .mapToLong(l -> Long.parseLong(l.split(" ")[3]))
            .sum();
    long written = lines.stream().filter(l -> l.startsWith("[main] line")).count();
    assertThat(a.dropped()).isGreaterThanOrEqualTo(900);
    assertThat(reported).isEqualTo(a.dropped());
    assertThat(written + a.dropped()).isEqualTo(1_000);
  }
}
