package io.agentrouter.cli;

import io.agentrouter.proto.admin.v1.Dataplane;
import io.agentrouter.proto.admin.v1.ListDataplanesResponse;
import io.agentrouter.proto.admin.v1.RegisterDataplaneResponse;
import io.agentrouter.proto.inference.v1.DataplaneURL;
import io.agentrouter.proto.inference.v1.GetDataplaneURLResponse;
import io.agentrouter.proto.inference.v1.ListDataplaneURLsResponse;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code dataplane-url}, {@code dataplane-urls} and {@code dataplanes register|list|drain}. */
final class DataplaneCommands {
  private DataplaneCommands() {}

  private static final List<String> URL_HEADERS =
      List.of("dataplane_id", "name", "region", "url", "customer_id", "project_id");

  private static List<String> row(DataplaneURL d) {
    return List.of(
        d.getDataplaneId(),
        Output.orDash(d.getDataplaneName()),
        d.getRegion(),
        d.getUrl(),
        d.getCustomerId(),
        d.getProjectId());
  }

  @Command(name = "dataplane-url", description = "The data plane URL of one project.")
  static final class Url implements Runnable {
    private final RootCommand root;

    @Option(names = "--project", paramLabel = "ID", description = "Project (default: yours).")
    String project = "";

    @Option(names = "--customer", paramLabel = "ID", description = "Customer (default: yours).")
    String customer = "";

    Url(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      DataplaneURL d = root.client().inference().getDataplaneUrl(customer, project);
      Output out = root.out();
      out.print(
          GetDataplaneURLResponse.newBuilder().setDataplane(d).build(), () -> out.line(d.getUrl()));
    }
  }

  @Command(name = "dataplane-urls", description = "Every data plane URL you can reach.")
  static final class Urls implements Runnable {
    private final RootCommand root;

    Urls(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      List<DataplaneURL> all = root.client().inference().listDataplaneUrls();
      Output out = root.out();
      out.print(
          ListDataplaneURLsResponse.newBuilder().addAllDataplanes(all).build(),
          () -> out.table(URL_HEADERS, all.stream().map(DataplaneCommands::row).toList()));
    }
  }

  @Command(name = "dataplanes", description = "Register, list and drain data planes (operators).")
  static final class Dataplanes extends Group {}

  @Command(
      name = "register",
      description = "Register a data plane; prints its one-time registration token.")
  static final class Register implements Runnable {
    private final RootCommand root;

    @Option(names = "--name", required = true, description = "Data plane name.")
    String name = "";

    @Option(names = "--region", required = true, description = "Region, e.g. eu-west-1.")
    String region = "";

    @Option(
        names = "--public-url",
        required = true,
        paramLabel = "URL",
        description = "URL applications use.")
    String publicUrl = "";

    @Option(
        names = "--max-instances",
        paramLabel = "N",
        description = "Pods that may register with the token, each as its own instance (1-1000).")
    int maxInstances = 1;

    Register(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      RegisterDataplaneResponse r =
          root.client().dataplanes().register(name, region, publicUrl, maxInstances);
      Output out = root.out();
      out.print(
          r,
          () ->
              out.fields(
                  "dataplane_id", r.getDataplane().getDataplaneId(),
                  "name", r.getDataplane().getName(),
                  "region", r.getDataplane().getRegion(),
                  "public_url", r.getDataplane().getPublicUrl(),
                  "status", Output.name(r.getDataplane().getStatus(), "DATAPLANE_STATUS_"),
                  "registrations_left", Integer.toString(r.getDataplane().getRegistrationsLeft()),
                  "registration_token", r.getRegistrationToken()));
      root.ctx
          .err()
          .println(
              "warning: the registration token is shown once; give it to the data plane as"
                  + " AGENTROUTER_DATAPLANE_TOKEN");
      root.ctx.err().flush();
    }
  }

  @Command(name = "list", description = "List registered data planes.")
  static final class ListDataplanes implements Runnable {
    private final RootCommand root;

    ListDataplanes(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      List<Dataplane> all = root.client().dataplanes().list();
      Output out = root.out();
      out.print(
          ListDataplanesResponse.newBuilder().addAllDataplanes(all).build(),
          () ->
              out.table(
                  List.of("dataplane_id", "name", "region", "public_url", "status", "heartbeat"),
                  all.stream()
                      .map(
                          d ->
                              List.of(
                                  d.getDataplaneId(),
                                  d.getName(),
                                  d.getRegion(),
                                  d.getPublicUrl(),
                                  Output.name(d.getStatus(), "DATAPLANE_STATUS_"),
                                  Output.time(d.getLastHeartbeatAt())))
                      .toList()));
    }
  }

  @Command(name = "drain", description = "Drain a data plane: no new traffic is sent to it.")
  static final class Drain implements Runnable {
    private final RootCommand root;

    @Parameters(paramLabel = "DATAPLANE_ID", description = "The data plane to drain.")
    String dataplaneId = "";

    Drain(RootCommand root) {
      this.root = root;
    }

    @Override
    public void run() {
      Dataplane d = root.client().dataplanes().drain(dataplaneId);
      Output out = root.out();
      out.print(
          d,
          () ->
              out.line(
                  "data plane "
                      + d.getDataplaneId()
                      + " ("
                      + d.getName()
                      + ") is "
                      + Output.name(d.getStatus(), "DATAPLANE_STATUS_")));
    }
  }
}
