package io.agentrouter.cli;

import picocli.CommandLine.IVersionProvider;

/** The version from the jar manifest (the build's), or "dev" when run from classes. */
final class Version implements IVersionProvider {
  @Override
  public String[] getVersion() {
    String v = Version.class.getPackage().getImplementationVersion();
    return new String[] {"agentrouter " + (v == null ? "dev" : v)};
  }
}
