package io.agentrouter.controlplane.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import com.linecorp.armeria.common.HttpMethod;
import com.linecorp.armeria.common.HttpRequest;
import com.linecorp.armeria.common.util.SafeCloseable;
import com.linecorp.armeria.server.ServiceRequestContext;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;

class NotOnEventLoopTest {
  private final ServiceRequestContext ctx =
      ServiceRequestContext.of(HttpRequest.of(HttpMethod.GET, "/v1/me"));

  @Test
  void refusesStatementsOnTheRequestsEventLoop() throws Exception {
    Throwable onLoop = ctx.eventLoop().submit(attempt()).get();
    assertThat(onLoop)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("expected the blocking task executor");
  }

  @Test
  void allowsTheBlockingExecutor() throws Exception {
    assertThat(ctx.blockingTaskExecutor().submit(attempt()).get()).isNull();
  }

  private Callable<Throwable> attempt() {
    return () -> {
      try (SafeCloseable ignored = ctx.push()) {
        new Database.NotOnEventLoop().executeStart(null);
        return null;
      } catch (IllegalStateException e) {
        return e;
      }
    };
  }
}
