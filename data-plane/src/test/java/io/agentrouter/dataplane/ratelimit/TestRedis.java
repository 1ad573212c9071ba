package io.agentrouter.dataplane.ratelimit;

import static org.awaitility.Awaitility.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * The Redis the integration tests use: {@code AGENTROUTER_TEST_REDIS_URL} when set (CI sets the
 * machine's Redis), otherwise a {@code redis-server} from the PATH on a free port, started and
 * stopped by the test. With neither, the tests fail and say so.
 */
final class TestRedis implements AutoCloseable {
  private final String url;
  private final @Nullable Process process;
  private final RedisClient client;
  private final StatefulRedisConnection<String, String> conn;

  private TestRedis(String url, @Nullable Process process) {
    this.url = url;
    this.process = process;
    this.client = RedisClient.create(url);
    this.conn =
        await()
            .atMost(Duration.ofSeconds(20))
            .ignoreExceptions()
            .until(() -> client.connect(), c -> c.sync().ping().equals("PONG"));
  }

  static TestRedis start() {
    String url = System.getenv("AGENTROUTER_TEST_REDIS_URL");
    if (url != null && !url.isBlank()) {
      return new TestRedis(url.strip(), null);
    }
    Path server = onPath("redis-server");
    if (server == null) {
      throw new IllegalStateException(
          "no Redis for the shared-limit tests: set AGENTROUTER_TEST_REDIS_URL (e.g."
              + " redis://127.0.0.1:6379) or put redis-server on the PATH");
    }
    int port = freePort();
    try {
      Process p =
          new ProcessBuilder(
                  server.toString(),
                  "--port",
                  Integer.toString(port),
                  "--bind",
                  "127.0.0.1",
                  "--save",
                  "",
                  "--appendonly",
                  "no")
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      return new TestRedis("redis://127.0.0.1:" + port, p);
    } catch (IOException e) {
      throw new IllegalStateException("could not start " + server + ": " + e.getMessage(), e);
    }
  }

  private static @Nullable Path onPath(String name) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String dir : path.split(File.pathSeparator)) {
      Path p = Path.of(dir, name);
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException("no free port: " + e.getMessage(), e);
    }
  }

  String url() {
    return url;
  }

  int port() {
    return io.lettuce.core.RedisURI.create(url).getPort();
  }

  String host() {
    return io.lettuce.core.RedisURI.create(url).getHost();
  }

  RedisCommands<String, String> sync() {
    return conn.sync();
  }

  @Override
  public void close() {
    conn.close();
    client.shutdown();
    if (process != null) {
      process.destroy();
    }
  }
}
