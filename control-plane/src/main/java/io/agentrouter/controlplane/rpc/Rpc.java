package io.agentrouter.controlplane.rpc;

import io.agentrouter.controlplane.identity.Authenticator;
import io.grpc.stub.StreamObserver;
import java.util.function.Supplier;

/**
 * Runs a unary call: authenticates the caller first (so an anonymous request learns nothing from
 * validation), then the body, and completes the observer; failures go through {@link ErrorMapping}.
 */
public final class Rpc {
  private Rpc() {}

  public static <T> void unary(Authenticator auth, StreamObserver<T> observer, Supplier<T> body) {
    T result;
    try {
      auth.current();
      result = body.get();
    } catch (Throwable t) {
      observer.onError(t);
      return;
    }
    observer.onNext(result);
    observer.onCompleted();
  }
}
