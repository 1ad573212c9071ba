package io.agentrouter.sdk;

import static java.util.Objects.requireNonNull;

import io.agentrouter.proto.admin.v1.Dataplane;
import io.agentrouter.proto.admin.v1.DataplaneServiceGrpc.DataplaneServiceBlockingStub;
import io.agentrouter.proto.admin.v1.DeleteDataplaneRequest;
import io.agentrouter.proto.admin.v1.DrainDataplaneRequest;
import io.agentrouter.proto.admin.v1.GetDataplaneRequest;
import io.agentrouter.proto.admin.v1.ListDataplanesRequest;
import io.agentrouter.proto.admin.v1.RegisterDataplaneRequest;
import io.agentrouter.proto.admin.v1.RegisterDataplaneResponse;
import java.util.List;

/**
 * The data plane registry (operators only). {@link #register} returns a one-time registration token
 * the data plane exchanges for its credential.
 */
public final class DataplanesClient {
  private final DataplaneServiceBlockingStub stub;
  private final Calls calls;

  DataplanesClient(DataplaneServiceBlockingStub stub, Calls calls) {
    this.stub = stub;
    this.calls = calls;
  }

  /** Registers a data plane. Not retried. */
  public RegisterDataplaneResponse register(String name, String region, String publicUrl) {
    return register(name, region, publicUrl, 1);
  }

  /**
   * Registers a data plane whose token {@code maxInstances} instances (pods) may use, each
   * registering as its own instance. Not retried.
   */
  public RegisterDataplaneResponse register(
      String name, String region, String publicUrl, int maxInstances) {
    var request =
        RegisterDataplaneRequest.newBuilder()
            .setName(requireNonNull(name, "name"))
            .setRegion(requireNonNull(region, "region"))
            .setPublicUrl(requireNonNull(publicUrl, "publicUrl"))
            .setMaxInstances(maxInstances)
            .build();
    return calls.write(() -> stub.registerDataplane(request));
  }

  /** Every registered data plane. */
  public List<Dataplane> list() {
    return calls.read(
        () -> stub.listDataplanes(ListDataplanesRequest.getDefaultInstance()).getDataplanesList());
  }

  /** A data plane by id. */
  public Dataplane get(String dataplaneId) {
    var request =
        GetDataplaneRequest.newBuilder()
            .setDataplaneId(requireNonNull(dataplaneId, "dataplaneId"))
            .build();
    return calls.read(() -> stub.getDataplane(request));
  }

  /** Drains a data plane: it stops being handed out for new traffic. */
  public Dataplane drain(String dataplaneId) {
    var request =
        DrainDataplaneRequest.newBuilder()
            .setDataplaneId(requireNonNull(dataplaneId, "dataplaneId"))
            .build();
    return calls.write(() -> stub.drainDataplane(request));
  }

  /** Deletes a data plane. */
  public void delete(String dataplaneId) {
    var request =
        DeleteDataplaneRequest.newBuilder()
            .setDataplaneId(requireNonNull(dataplaneId, "dataplaneId"))
            .build();
    calls.write(() -> stub.deleteDataplane(request));
  }
}
