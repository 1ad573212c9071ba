package io.agentrouter.dataplane.upstream;

import static java.util.Objects.requireNonNull;

import com.linecorp.armeria.client.Endpoint;
import com.linecorp.armeria.client.EventLoopScheduler;
import com.linecorp.armeria.client.endpoint.EndpointGroup;
import com.linecorp.armeria.common.SessionProtocol;
import com.linecorp.armeria.common.util.ReleasableHolder;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.EventExecutor;

/**
 * Runs an upstream call on the event loop that is serving the client's request, when the server and
 * the client share one worker group (the default). The whole exchange then stays on one thread: no
 * hand-off between event loops, no wake-ups, and a connection pool per event loop.
 */
public final class SameEventLoopScheduler implements EventLoopScheduler {
  private final EventLoopGroup group;

  public SameEventLoopScheduler(EventLoopGroup group) {
    this.group = requireNonNull(group, "group");
  }

  @Override
  public ReleasableHolder<EventLoop> acquire(
      SessionProtocol sessionProtocol, EndpointGroup endpointGroup, Endpoint endpoint) {
    EventLoop chosen = null;
    for (EventExecutor e : group) {
      if (e.inEventLoop()) {
        chosen = (EventLoop) e;
        break;
      }
    }
    EventLoop loop = chosen != null ? chosen : (EventLoop) group.next();
    return new ReleasableHolder<>() {
      @Override
      public EventLoop get() {
        return loop;
      }

      @Override
      public void release() {}
    };
  }
}
