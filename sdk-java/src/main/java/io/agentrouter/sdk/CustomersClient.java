package io.agentrouter.sdk;

import static java.util.Objects.requireNonNull;

import io.agentrouter.proto.admin.v1.CreateCustomerRequest;
import io.agentrouter.proto.admin.v1.Customer;
import io.agentrouter.proto.admin.v1.CustomerServiceGrpc.CustomerServiceBlockingStub;
import io.agentrouter.proto.admin.v1.GetCustomerRequest;
import io.agentrouter.proto.admin.v1.ListCustomersRequest;
import io.agentrouter.proto.admin.v1.ListCustomersResponse;
import io.agentrouter.proto.admin.v1.UpdateCustomerRequest;

/** Customers (tenants): create, list, get, rename. */
public final class CustomersClient {
  private final CustomerServiceBlockingStub stub;
  private final Calls calls;

  CustomersClient(CustomerServiceBlockingStub stub, Calls calls) {
    this.stub = stub;
    this.calls = calls;
  }

  /** Creates a customer; the caller becomes its owner. Not retried. */
  public Customer create(String name) {
    requireNonNull(name, "name");
    return calls.write(
        () -> stub.createCustomer(CreateCustomerRequest.newBuilder().setName(name).build()));
  }

  /** One page of the customers the caller can see ({@code pageToken} "" for the first). */
  public ListCustomersResponse list(int pageSize, String pageToken) {
    requireNonNull(pageToken, "pageToken");
    var request =
        ListCustomersRequest.newBuilder().setPageSize(pageSize).setPageToken(pageToken).build();
    return calls.read(() -> stub.listCustomers(request));
  }

  /** A customer by id. */
  public Customer get(String customerId) {
    requireNonNull(customerId, "customerId");
    return calls.read(
        () -> stub.getCustomer(GetCustomerRequest.newBuilder().setCustomerId(customerId).build()));
  }

  /** Renames a customer. */
  public Customer rename(String customerId, String name) {
    requireNonNull(customerId, "customerId");
    requireNonNull(name, "name");
    return calls.write(
        () ->
            stub.updateCustomer(
                UpdateCustomerRequest.newBuilder()
                    .setCustomerId(customerId)
                    .setName(name)
                    .build()));
  }
}
