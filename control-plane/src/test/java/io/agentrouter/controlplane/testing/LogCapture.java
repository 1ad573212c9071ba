package io.agentrouter.controlplane.testing;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import java.util.stream.Collectors;
import org.slf4j.LoggerFactory;

/** Captures every log event of the process (root logger) while installed. */
public final class LogCapture implements AutoCloseable {
  private final ListAppender<ILoggingEvent> appender = new ListAppender<>();
  private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);

  public LogCapture() {
    appender.start();
    root.addAppender(appender);
  }

  /** All captured lines: formatted messages plus stack traces. */
  public String text() {
    List<ILoggingEvent> events;
    synchronized (appender) {
      events = List.copyOf(appender.list);
    }
    return events.stream()
        .map(
            e -> {
              IThrowableProxy t = e.getThrowableProxy();
              return e.getFormattedMessage()
                  + (t == null ? "" : "\n" + ThrowableProxyUtil.asString(t));
            })
        .collect(Collectors.joining("\n"));
  }

  public int size() {
    return appender.list.size();
  }

  @Override
  public void close() {
    root.detachAppender(appender);
    appender.stop();
  }
}
