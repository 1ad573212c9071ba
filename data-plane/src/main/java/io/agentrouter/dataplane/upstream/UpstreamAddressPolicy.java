package io.agentrouter.dataplane.upstream;

import io.agentrouter.common.net.UpstreamAddressPolicy.Verdict;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which addresses upstream connections may reach, checked at connect time on the address DNS
 * actually returned (so a tenant's base URL that resolves, or later re-resolves, to an internal
 * address is refused). Plugged into the upstream {@code ClientFactory} as its IP address filter.
 *
 * <p>The classification is the control plane's ({@link
 * io.agentrouter.common.net.UpstreamAddressPolicy}, also used when a base URL is saved), so both
 * planes refuse exactly the same addresses; this adds only the standalone loopback allowance.
 *
 * <ul>
 *   <li>cloud metadata endpoints (169.254.169.254, fd00:ec2::254, 100.100.100.200, …): always
 *       refused;
 *   <li>link-local, private (RFC 1918, CGNAT, IPv6 ULA), loopback: refused unless {@code
 *       AGENTROUTER_ALLOW_PRIVATE_UPSTREAMS=true}; loopback is allowed by default in standalone
 *       mode, where the operator writes the config;
 *   <li>unspecified, multicast and broadcast addresses: always refused.
 * </ul>
 *
 * @param allowLoopback whether 127.0.0.0/8 and ::1 may be reached
 * @param allowPrivate whether private, link-local and loopback ranges may be reached
 */
public record UpstreamAddressPolicy(boolean allowLoopback, boolean allowPrivate)
    implements Predicate<InetSocketAddress> {
  private static final Logger log = LoggerFactory.getLogger(UpstreamAddressPolicy.class);

  // Only addresses are checked here (the name was resolved already), so no resolver is needed.
  private static final io.agentrouter.common.net.UpstreamAddressPolicy.Resolver NO_RESOLVER =
      host -> {
        throw new UnknownHostException("connect-time checks take addresses, not names: " + host);
      };
  private static final io.agentrouter.common.net.UpstreamAddressPolicy PUBLIC_ONLY =
      new io.agentrouter.common.net.UpstreamAddressPolicy(false, NO_RESOLVER);
  private static final io.agentrouter.common.net.UpstreamAddressPolicy PRIVATE_ALLOWED =
      new io.agentrouter.common.net.UpstreamAddressPolicy(true, NO_RESOLVER);

  /** Standalone mode: the operator owns the config, so local servers are reachable. */
  public static UpstreamAddressPolicy standalone(boolean allowPrivate) {
    return new UpstreamAddressPolicy(true, allowPrivate);
  }

  /**
   * Managed mode: tenants supply base URLs, so only public addresses unless the operator allows.
   */
  public static UpstreamAddressPolicy managed(boolean allowPrivate) {
    return new UpstreamAddressPolicy(allowPrivate, allowPrivate);
  }

  /** Whether a connection to {@code address} may be made; refusals are logged (no URL, no key). */
  @Override
  public boolean test(InetSocketAddress address) {
    InetAddress ip = address.getAddress();
    if (ip == null) {
      return false; // unresolved: nothing to vouch for
    }
    return verdict(ip).allowed();
  }

  /** The decision for {@code ip}, with the reason when refused. */
  public Verdict verdict(InetAddress ip) {
    Verdict v = (allowPrivate ? PRIVATE_ALLOWED : PUBLIC_ONLY).check(ip);
    if (!v.allowed() && allowLoopback && PRIVATE_ALLOWED.check(ip).allowed() && isLoopback(ip)) {
      return new Verdict(true, "allowed");
    }
    if (!v.allowed()) {
      log.warn("upstream connection refused: {}", v.reason());
    }
    return v;
  }

  // 127.0.0.0/8, ::1, and IPv4-mapped loopback.
  private static boolean isLoopback(InetAddress ip) {
    if (ip.isLoopbackAddress()) {
      return true;
    }
    byte[] b = ip.getAddress();
    if (b.length != 16) {
      return false;
    }
    for (int i = 0; i < 10; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff && (b[12] & 0xff) == 127;
  }
}
