package io.agentrouter.it;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.AppenderBase;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Secret hygiene for the whole integration suite: every log event of the JVM, at DEBUG, passes
 * through this appender (see {@code logback-test.xml}), which looks for every secret the tests
 * registered (API keys, provider keys, JWT signatures) and for anything shaped like a full
 * AgentRouter key. Metric pages and other text are checked with {@link #scan}.
 *
 * <p>As a JUnit extension it records a figure after each class and fails the class on a leak.
 */
public final class SecretWatch extends AppenderBase<ILoggingEvent> implements AfterAllCallback {
  private static final Set<String> SECRETS = ConcurrentHashMap.newKeySet();
  private static final List<String> LEAKS = new CopyOnWriteArrayList<>();
  private static final AtomicLong LINES = new AtomicLong();
  private static final Pattern TOKEN_SPLIT = Pattern.compile("[^A-Za-z0-9_\\-]+");
  private static final Pattern FULL_KEY =
      Pattern.compile("sk-ar-[0-9A-Za-z]{22}\\.[0-9A-Za-z]{49}");

  /** Registers a secret to look for; a JWT registers its signature, its one secret part. */
  public static String secret(String value) {
    String v = value.strip();
    int lastDot = v.lastIndexOf('.');
    if (v.startsWith("eyJ") && v.chars().filter(c -> c == '.').count() == 2) {
      SECRETS.add(v.substring(lastDot + 1));
    } else if (v.startsWith("sk-ar-") && lastDot > 0) {
      SECRETS.add(v.substring(lastDot + 1)); // the secret and checksum; the key id is public
    } else {
      SECRETS.add(v);
    }
    return value;
  }

  /** Checks {@code text} (a metrics page, a trace, a response) for registered secrets. */
  public static void scan(String source, String text) {
    LINES.incrementAndGet();
    String leak = find(text);
    if (leak != null) {
      LEAKS.add(source + ": " + leak);
    }
  }

  /** Leaks found so far, each as "source: the redacted secret". */
  public static List<String> leaks() {
    return List.copyOf(LEAKS);
  }

  /** Log lines and texts checked so far. */
  public static long checked() {
    return LINES.get();
  }

  /** Secrets registered so far. */
  public static int registered() {
    return SECRETS.size();
  }

  private static String find(String text) {
    if (text == null || text.isEmpty()) {
      return null;
    }
    if (FULL_KEY.matcher(text).find()) {
      return "an sk-ar- key";
    }
    if (SECRETS.isEmpty()) {
      return null;
    }
    for (String token : TOKEN_SPLIT.split(text)) {
      if (token.length() >= 8 && SECRETS.contains(token)) {
        return token.substring(0, 4) + "…";
      }
    }
    return null;
  }

  @Override
  protected void append(ILoggingEvent event) {
    LINES.incrementAndGet();
    String text = event.getFormattedMessage();
    IThrowableProxy t = event.getThrowableProxy();
    if (t != null) {
      text = text + "\n" + ThrowableProxyUtil.asString(t);
    }
    String leak = find(text);
    if (leak != null) {
      LEAKS.add("log " + event.getLoggerName() + ": " + leak);
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    String check = "Secret hygiene (" + context.getRequiredTestClass().getSimpleName() + ")";
    List<String> leaks = leaks();
    Evidence.figure(
        check,
        leaks.size()
            + " leaks in "
            + checked()
            + " DEBUG log lines and texts, "
            + registered()
            + " secrets watched",
        "0 leaks",
        leaks.isEmpty());
    if (!leaks.isEmpty()) {
      throw new AssertionError("secrets leaked: " + leaks);
    }
  }
}
