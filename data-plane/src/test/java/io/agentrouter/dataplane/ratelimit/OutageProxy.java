package io.agentrouter.dataplane.ratelimit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A TCP proxy in front of Redis that can fail the way a network does: {@link Mode#FORWARD}, {@link
 * Mode#BLACKHOLE} (connections are accepted and bytes swallowed, nothing ever answers) and {@link
 * Mode#DOWN} (connections are closed and the port refuses new ones). Works the same on the
 * machine's shared Redis as on a private one.
 */
final class OutageProxy implements AutoCloseable {
  enum Mode {
    FORWARD,
    BLACKHOLE,
    DOWN
  }

  private final String upstreamHost;
  private final int upstreamPort;
  private final int port;
  private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private volatile Mode mode = Mode.FORWARD;
  private volatile ServerSocket listener;

  OutageProxy(String upstreamHost, int upstreamPort) throws IOException {
    this.upstreamHost = upstreamHost;
    this.upstreamPort = upstreamPort;
    this.listener = listen(0);
    this.port = listener.getLocalPort();
  }

  int port() {
    return port;
  }

  private ServerSocket listen(int p) throws IOException {
    ServerSocket s = new ServerSocket();
    s.setReuseAddress(true);
    s.bind(new InetSocketAddress("127.0.0.1", p));
    threads.execute(() -> accept(s));
    return s;
  }

  synchronized void mode(Mode next) throws IOException {
    Mode was = mode;
    mode = next;
    if (next == Mode.DOWN && was != Mode.DOWN) {
      listener.close();
      for (Socket s : open) {
        closeQuietly(s);
      }
    } else if (next != Mode.DOWN && was == Mode.DOWN) {
      listener = listen(port);
    }
  }

  private void accept(ServerSocket s) {
    while (!s.isClosed()) {
      try {
        Socket client = s.accept();
        open.add(client);
        threads.execute(() -> connect(client));
      } catch (IOException e) {
        return;
      }
    }
  }

  private void connect(Socket client) {
    try {
      Socket upstream = new Socket(upstreamHost, upstreamPort);
      open.add(upstream);
      threads.execute(() -> pump(client, upstream));
      threads.execute(() -> pump(upstream, client));
    } catch (IOException e) {
      closeQuietly(client);
    }
  }

  private void pump(Socket from, Socket to) {
    byte[] buf = new byte[16 * 1024];
    try (InputStream in = from.getInputStream()) {
      OutputStream out = to.getOutputStream();
      int n;
      while ((n = in.read(buf)) >= 0) {
        if (mode == Mode.FORWARD) {
          out.write(buf, 0, n);
          out.flush();
        }
      }
    } catch (IOException e) {
      // The other side went away.
    } finally {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private void closeQuietly(Socket s) {
    open.remove(s);
    try {
      s.close();
    } catch (IOException e) {
      // Already closed.
    }
  }

  @Override
  public void close() throws IOException {
    mode(Mode.DOWN);
    threads.shutdownNow();
  }
}
