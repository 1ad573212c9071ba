package io.agentrouter.dataplane.route;

import com.linecorp.armeria.server.ServiceRequestContext;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.net.SocketAddress;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tells a relay at once that its HTTP/1 client hung up.
 *
 * <p>Armeria keeps an HTTP/1 connection half-open when the client closes its side (it ignores the
 * end of input), so a client that hangs up is only noticed when a write to it fails, and even then
 * the unfinished response is aborted a second later. Until then the gateway keeps reading, and the
 * provider keeps generating and billing, for a client that is gone: a stream cut while the provider
 * thinks stays open upstream until its first token and beyond. HTTP/1 carries one request at a
 * time, so the end of a connection's input while its request is in flight means the client is gone,
 * as nginx treats it (499); HTTP/2 resets a stream at once and needs none of this.
 *
 * <p>The handler {@link #customize adds} to every client connection reports the end of its input or
 * its close by the connection's remote address, which is what a request's context knows it by.
 */
public final class ClientHangups {
  private final Map<SocketAddress, Runnable> waiting = new ConcurrentHashMap<>();

  /**
   * Connections whose client has already hung up: a client that sends its request and closes at
   * once may do so before the request reaches the relay.
   */
  private final Set<SocketAddress> hungUp = ConcurrentHashMap.newKeySet();

  /** Adds the close listener to a client connection's pipeline. */
  public void customize(ChannelPipeline p) {
    p.addFirst("agentrouter-client-hangups", new Listener());
  }

  /**
   * Runs {@code onGone} on the request's event loop if its HTTP/1 connection closes before {@link
   * #forget} is called with the same context; no-op for HTTP/2.
   */
  void watch(ServiceRequestContext ctx, Runnable onGone) {
    if (ctx.sessionProtocol().isMultiplex()) {
      return;
    }
    SocketAddress a = ctx.remoteAddress();
    // Never inline: the caller is still setting up what onGone tears down.
    Runnable r = () -> ctx.eventLoop().execute(onGone);
    waiting.put(a, r);
    // Registered first, checked second, as the listener marks first and looks second: one of the
    // two sees the other, and remove() lets only one of them run it.
    if (hungUp.contains(a) && waiting.remove(a, r)) {
      r.run();
    }
  }

  /** Stops watching the connection of {@code ctx}; its request has finished. */
  void forget(ServiceRequestContext ctx) {
    if (!ctx.sessionProtocol().isMultiplex()) {
      waiting.remove(ctx.remoteAddress());
    }
  }

  private final class Listener extends ChannelInboundHandlerAdapter {
    private SocketAddress remote;

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      if (ctx.channel().isActive()) {
        remote = ctx.channel().remoteAddress();
      }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
      remote = ctx.channel().remoteAddress();
      super.channelActive(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (evt instanceof ChannelInputShutdownEvent) {
        SocketAddress a = address(ctx);
        if (a != null) {
          hungUp.add(a);
          gone(a);
        }
      }
      super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
      SocketAddress a = address(ctx);
      if (a != null) {
        gone(a);
        hungUp.remove(a);
      }
      super.channelInactive(ctx);
    }

    private SocketAddress address(ChannelHandlerContext ctx) {
      return remote != null ? remote : ctx.channel().remoteAddress();
    }

    private void gone(SocketAddress a) {
      Runnable r = waiting.remove(a);
      if (r != null) {
        r.run();
      }
    }
  }
}
