package io.agentrouter.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A listener that only counts: every connection it accepts is one the system under test should
 * never have made (a fetched {@code jku}, a followed redirect, an SSRF that got through). It
 * answers nothing and closes each connection at once.
 */
final class Canary implements AutoCloseable {
  private final ServerSocket socket;
  private final AtomicInteger accepted = new AtomicInteger();
  private final Thread acceptor;

  private Canary(InetAddress bind) {
    try {
      socket = new ServerSocket();
      socket.bind(new InetSocketAddress(bind, 0));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    acceptor = Thread.ofPlatform().daemon().name("canary-" + port()).start(this::accept);
  }

  /** A canary on 127.0.0.1 and a free port. */
  static Canary onLoopback() {
    return new Canary(InetAddress.getLoopbackAddress());
  }

  /** A canary on every local address (the wildcard), so {@code [::1]} and 127.x reach it too. */
  static Canary onAllAddresses() {
    try {
      return new Canary(InetAddress.getByName("::"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  int port() {
    return socket.getLocalPort();
  }

  /** Connections accepted so far. */
  int connections() {
    return accepted.get();
  }

  private void accept() {
    while (!socket.isClosed()) {
      try (Socket s = socket.accept()) {
        accepted.incrementAndGet();
        Planes.log.warn("it: canary on port {} accepted a connection from {}", port(), s);
      } catch (IOException e) {
        // closed
      }
    }
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
