package io.agentrouter.dataplane.config;

import static java.util.Objects.requireNonNull;

import io.agentrouter.common.config.ConfigSnapshot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Standalone mode: one file holds the whole config. Read at start, then polled; a changed file is
 * parsed into a new snapshot (a broken edit is refused and the previous config stays active).
 */
public final class FileConfigSource implements ConfigSource {
  private static final Logger log = LoggerFactory.getLogger(FileConfigSource.class);

  private final Path file;
  private final StandaloneConfigParser parser;
  private final Duration pollInterval;
  private final Consumer<String> onFailure;
  private @Nullable ScheduledExecutorService poller;
  private @Nullable FileTime lastModified;
  private byte @Nullable [] lastContent;

  /**
   * @param onFailure told when the file cannot be read or parsed (the message names no secret)
   */
  public FileConfigSource(
      Path file, StandaloneConfigParser parser, Duration pollInterval, Consumer<String> onFailure) {
    this.file = requireNonNull(file, "file");
    this.parser = requireNonNull(parser, "parser");
    this.pollInterval = requireNonNull(pollInterval, "pollInterval");
    this.onFailure = requireNonNull(onFailure, "onFailure");
  }

  @Override
  public synchronized void start(Consumer<ConfigSnapshot> listener) {
    requireNonNull(listener, "listener");
    load(listener);
    if (!pollInterval.isZero()) {
      ScheduledExecutorService s =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "agentrouter-config-file");
                t.setDaemon(true);
                return t;
              });
      s.scheduleWithFixedDelay(
          () -> load(listener),
          pollInterval.toMillis(),
          pollInterval.toMillis(),
          TimeUnit.MILLISECONDS);
      poller = s;
    }
  }

  private synchronized void load(Consumer<ConfigSnapshot> listener) {
    try {
      FileTime modified = Files.getLastModifiedTime(file);
      if (modified.equals(lastModified)) {
        return;
      }
      byte[] content = Files.readAllBytes(file);
      lastModified = modified;
      if (Arrays.equals(content, lastContent)) {
        return;
      }
      lastContent = content;
      ConfigSnapshot snapshot = parser.parse(content, file.toString());
      listener.accept(snapshot);
    } catch (IOException e) {
      onFailure.accept("config file " + file + " cannot be read: " + e.getClass().getSimpleName());
    } catch (ConfigException e) {
      onFailure.accept(e.getMessage());
    } catch (RuntimeException e) {
      log.error("config file {} could not be loaded", file, e);
      onFailure.accept(
          "config file " + file + " could not be loaded: " + e.getClass().getSimpleName());
    }
  }

  @Override
  public synchronized void close() {
    if (poller != null) {
      poller.shutdownNow();
      poller = null;
    }
  }
}
