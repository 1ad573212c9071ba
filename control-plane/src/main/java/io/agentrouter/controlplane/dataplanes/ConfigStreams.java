package io.agentrouter.controlplane.dataplanes;

import io.agentrouter.controlplane.dataplanes.DataplaneStore.DataplaneRow;
import io.agentrouter.proto.dataplane.v1.ConfigRequest;
import io.agentrouter.proto.dataplane.v1.ConfigResponse;
import io.grpc.stub.StreamObserver;

/** Serves one authenticated data plane's StreamConfig call (see {@code sync}). */
@FunctionalInterface
public interface ConfigStreams {
  StreamObserver<ConfigRequest> open(DataplaneRow dataplane, StreamObserver<ConfigResponse> out);
}
