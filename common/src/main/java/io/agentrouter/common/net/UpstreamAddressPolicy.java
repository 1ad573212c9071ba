package io.agentrouter.common.net;

import static java.util.Objects.requireNonNull;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Decides whether a tenant-supplied upstream base URL may be called (SSRF protection). The control
 * plane checks when a URL is saved; the data plane checks again at connect time with the address it
 * is about to connect to ({@link #check(InetAddress)}), which also defeats DNS rebinding.
 *
 * <p>Always refused: schemes other than http(s), user info, cloud metadata endpoints (by name and
 * address), unspecified, link-local, multicast, documentation, reserved and broadcast addresses,
 * and Teredo tunnels. Refused unless {@code allowPrivate} (operators set {@code
 * AGENTROUTER_ALLOW_PRIVATE_UPSTREAMS=true} for Ollama, vLLM and the like): loopback, private (RFC
 * 1918, unique-local), carrier-grade NAT and benchmarking ranges.
 *
 * <p>Numeric hosts are read the way {@code inet_aton} and URL parsers read them (decimal, octal,
 * hexadecimal, 1-4 parts), so {@code http://0x7f.1/} is loopback here as it is for the HTTP client.
 * IPv6 addresses embedding IPv4 (mapped, compatible, NAT64, 6to4) are judged by the IPv4 address
 * inside. Every address a name resolves to must pass.
 */
public final class UpstreamAddressPolicy {
  /** What a check decided, and why when refused. */
  public record Verdict(boolean allowed, String reason) {
    static Verdict ok() {
      return new Verdict(true, "allowed");
    }

    static Verdict refused(String reason) {
      return new Verdict(false, reason);
    }
  }

  /** Resolves a host name to every address it has. */
  @FunctionalInterface
  public interface Resolver {
    List<InetAddress> resolve(String host) throws UnknownHostException;
  }

  /** Host names of cloud metadata services, refused whatever they resolve to. */
  private static final Set<String> METADATA_NAMES =
      Set.of(
          "metadata.google.internal",
          "metadata.goog",
          "metadata",
          "instance-data",
          "instance-data.ec2.internal",
          "metadata.azure.internal",
          "metadata.tencentyun.com",
          "100-100-100-200.metadata");

  private final boolean allowPrivate;
  private final Resolver resolver;

  public UpstreamAddressPolicy(boolean allowPrivate, Resolver resolver) {
    this.allowPrivate = allowPrivate;
    this.resolver = requireNonNull(resolver, "resolver");
  }

  /** With the system resolver. */
  public static UpstreamAddressPolicy withSystemResolver(boolean allowPrivate) {
    return new UpstreamAddressPolicy(allowPrivate, h -> List.of(InetAddress.getAllByName(h)));
  }

  public boolean allowPrivate() {
    return allowPrivate;
  }

  /** Checks a base URL: scheme, host syntax, and every address the host resolves to. */
  public Verdict check(URI uri) {
    requireNonNull(uri, "uri");
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      return Verdict.refused(
          "scheme '"
              + (scheme.isEmpty() ? "(none)" : scheme)
              + "' is not allowed (expected http or https)");
    }
    if (uri.getRawUserInfo() != null) {
      return Verdict.refused("user info in the URL is not allowed (expected http(s)://host/...)");
    }
    String host = uri.getHost();
    if (host == null) {
      // java.net.URI leaves host null for names it cannot parse ("0x7f.1", "a_b"): judge what
      // an HTTP client would connect to, and refuse the rest as malformed.
      String authority = uri.getRawAuthority();
      if (authority != null) {
        String candidate = authority.substring(authority.lastIndexOf('@') + 1);
        if (!candidate.startsWith("[") && candidate.lastIndexOf(':') > 0) {
          candidate = candidate.substring(0, candidate.lastIndexOf(':'));
        }
        Verdict v = checkHost(candidate);
        if (!v.allowed()) {
          return v;
        }
      }
      return Verdict.refused(
          "host '"
              + (authority == null ? "" : authority)
              + "' is missing or malformed (expected a host name or an IP address)");
    }
    return checkHost(host);
  }

  /** Checks a host as written in a URL (a name, an IPv4 form, or a bracketed IPv6 literal). */
  public Verdict checkHost(String rawHost) {
    String host = rawHost.toLowerCase(Locale.ROOT);
    if (host.startsWith("[") && host.endsWith("]")) {
      return checkIpv6Literal(host.substring(1, host.length() - 1));
    }
    if (host.contains(":")) {
      return checkIpv6Literal(host);
    }
    while (host.endsWith(".")) {
      host = host.substring(0, host.length() - 1);
    }
    if (host.isEmpty()) {
      return Verdict.refused("host is empty (expected a host name or an IP address)");
    }
    if (METADATA_NAMES.contains(host)) {
      return Verdict.refused("host '" + host + "' is a cloud metadata service (never allowed)");
    }
    if (looksNumeric(host)) {
      byte[] v4 = parseIpv4(host);
      if (v4 == null) {
        return Verdict.refused(
            "host '" + host + "' is a malformed numeric address (expected a valid IPv4 address)");
      }
      try {
        return check(InetAddress.getByAddress(v4));
      } catch (UnknownHostException e) {
        throw new IllegalStateException(e);
      }
    }
    if (host.equals("localhost") || host.endsWith(".localhost")) {
      return allowPrivate
          ? Verdict.ok()
          : Verdict.refused(
              "host '"
                  + host
                  + "' is loopback (allowed only with AGENTROUTER_ALLOW_PRIVATE_UPSTREAMS=true)");
    }
    List<InetAddress> addresses;
    try {
      addresses = resolver.resolve(host);
    } catch (UnknownHostException e) {
      return Verdict.refused(
          "host '" + host + "' does not resolve (expected a host name with public addresses)");
    }
    if (addresses.isEmpty()) {
      return Verdict.refused("host '" + host + "' has no addresses");
    }
    for (InetAddress a : addresses) {
      Verdict v = check(a);
      if (!v.allowed()) {
        return Verdict.refused("host '" + host + "' resolves to " + v.reason());
      }
    }
    return Verdict.ok();
  }

  private Verdict checkIpv6Literal(String literal) {
    String l = literal;
    int zone = l.indexOf('%');
    if (zone >= 0) {
      return Verdict.refused(
          "IPv6 address with a zone id '" + literal + "' is link-scoped (never allowed)");
    }
    if (!l.matches("[0-9a-f:.]+")) {
      return Verdict.refused("'" + literal + "' is not a valid IPv6 address");
    }
    try {
      return check(InetAddress.getByName("[" + l + "]"));
    } catch (UnknownHostException e) {
      return Verdict.refused("'" + literal + "' is not a valid IPv6 address");
    }
  }

  /** Checks an address about to be connected to (or that a name resolved to). */
  public Verdict check(InetAddress address) {
    requireNonNull(address, "address");
    if (address instanceof Inet4Address) {
      return check4(address.getAddress(), address.getHostAddress());
    }
    byte[] b = address.getAddress();
    String text = address.getHostAddress();
    int zone = text.indexOf('%');
    if (zone >= 0) {
      text = text.substring(0, zone);
    }
    // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible): the IPv4 address decides.
    if (allZero(b, 0, 10)
        && ((b[10] == (byte) 0xff && b[11] == (byte) 0xff) || allZero(b, 10, 12))) {
      if (allZero(b, 10, 16)) {
        return Verdict.refused(text + " is the unspecified address (never allowed)");
      }
      if (allZero(b, 10, 15) && b[15] == 1) {
        return privateRange(text, "loopback");
      }
      return embedded(text, b, 12);
    }
    int first = b[0] & 0xff;
    int second = b[1] & 0xff;
    // 64:ff9b::/96 (well-known NAT64) and 64:ff9b:1::/48 (local NAT64).
    if (first == 0x00 && second == 0x64 && (b[2] & 0xff) == 0xff && (b[3] & 0xff) == 0x9b) {
      return embedded(text, b, 12);
    }
    // 2002::/16: 6to4, the IPv4 address is in bits 16-48.
    if (first == 0x20 && second == 0x02) {
      return embedded(text, b, 2);
    }
    // 2001:0000::/32: Teredo hides the client address; refuse the tunnel outright.
    if (first == 0x20 && second == 0x01 && b[2] == 0 && b[3] == 0) {
      return Verdict.refused(text + " is a Teredo tunnel address (never allowed)");
    }
    if (first == 0x20 && second == 0x01 && (b[2] & 0xff) == 0x0d && (b[3] & 0xff) == 0xb8) {
      return Verdict.refused(text + " is a documentation address (never allowed)");
    }
    if (first == 0xfd
        && second == 0x00
        && (b[2] & 0xff) == 0x0e
        && (b[3] & 0xff) == 0xc2
        && allZero(b, 4, 14)
        && (b[14] & 0xff) == 0x02
        && (b[15] & 0xff) == 0x54) {
      return Verdict.refused(text + " is a cloud metadata address (never allowed)");
    }
    if (first == 0xff) {
      return Verdict.refused(text + " is multicast (never allowed)");
    }
    if (first == 0xfe && (second & 0xc0) == 0x80) {
      return Verdict.refused(text + " is link-local (never allowed)");
    }
    if (first == 0xfe && (second & 0xc0) == 0xc0) {
      return privateRange(text, "site-local");
    }
    if ((first & 0xfe) == 0xfc) {
      return privateRange(text, "unique-local (private)");
    }
    if (first == 0x01 && second == 0x00 && allZero(b, 2, 8)) {
      return Verdict.refused(text + " is a discard-only address (never allowed)");
    }
    return Verdict.ok();
  }

  private Verdict embedded(String text, byte[] b, int offset) {
    byte[] v4 = {b[offset], b[offset + 1], b[offset + 2], b[offset + 3]};
    Verdict inner = check4(v4, v4String(v4));
    return inner.allowed() ? inner : Verdict.refused(text + " embeds IPv4 " + inner.reason());
  }

  private Verdict check4(byte[] a, String text) {
    int o0 = a[0] & 0xff;
    int o1 = a[1] & 0xff;
    int o2 = a[2] & 0xff;
    int o3 = a[3] & 0xff;
    if ((o0 == 169 && o1 == 254 && o2 == 169 && o3 == 254)
        || (o0 == 169 && o1 == 254 && o2 == 170 && o3 == 2)
        || (o0 == 100 && o1 == 100 && o2 == 100 && o3 == 200)) {
      return Verdict.refused(text + " is a cloud metadata address (never allowed)");
    }
    if (o0 == 0) {
      return Verdict.refused(text + " is in 0.0.0.0/8, 'this network' (never allowed)");
    }
    if (o0 == 169 && o1 == 254) {
      return Verdict.refused(text + " is link-local (never allowed)");
    }
    if (o0 >= 224) {
      return Verdict.refused(
          text + (o0 < 240 ? " is multicast" : " is reserved or broadcast") + " (never allowed)");
    }
    if ((o0 == 192 && o1 == 0 && o2 == 2)
        || (o0 == 198 && o1 == 51 && o2 == 100)
        || (o0 == 203 && o1 == 0 && o2 == 113)) {
      return Verdict.refused(text + " is a documentation address (never allowed)");
    }
    if (o0 == 192 && o1 == 0 && o2 == 0) {
      return Verdict.refused(text + " is an IETF protocol assignment (never allowed)");
    }
    if (o0 == 127) {
      return privateRange(text, "loopback");
    }
    if (o0 == 10 || (o0 == 172 && (o1 & 0xf0) == 16) || (o0 == 192 && o1 == 168)) {
      return privateRange(text, "private");
    }
    if (o0 == 100 && (o1 & 0xc0) == 64) {
      return privateRange(text, "carrier-grade NAT (private)");
    }
    if (o0 == 198 && (o1 & 0xfe) == 18) {
      return privateRange(text, "benchmarking (private)");
    }
    return Verdict.ok();
  }

  private Verdict privateRange(String text, String kind) {
    return allowPrivate
        ? Verdict.ok()
        : Verdict.refused(
            text + " is " + kind + " (allowed only with AGENTROUTER_ALLOW_PRIVATE_UPSTREAMS=true)");
  }

  /**
   * True when a URL parser would read the host as an IPv4 address: its last label is a number
   * (decimal, or 0x hexadecimal), as the WHATWG URL standard decides.
   */
  static boolean looksNumeric(String host) {
    int dot = host.lastIndexOf('.');
    String last = dot < 0 ? host : host.substring(dot + 1);
    if (last.isEmpty()) {
      return false;
    }
    if (last.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return true;
    }
    return last.startsWith("0x")
        && last.substring(2).chars().allMatch(UpstreamAddressPolicy::isHex);
  }

  private static boolean isHex(int c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  }

  /**
   * Null when malformed. inet_aton: 1-4 parts, each decimal, 0-octal or 0x-hex; the last part fills
   * the rest.
   */
  static byte[] parseIpv4(String host) {
    String[] parts = host.split("\\.", -1);
    if (parts.length < 1 || parts.length > 4) {
      return null;
    }
    long[] values = new long[parts.length];
    for (int i = 0; i < parts.length; i++) {
      Long v = parsePart(parts[i]);
      if (v == null) {
        return null;
      }
      values[i] = v;
    }
    long result = 0;
    for (int i = 0; i < parts.length - 1; i++) {
      if (values[i] > 255) {
        return null;
      }
      result |= values[i] << (24 - 8 * i);
    }
    long last = values[parts.length - 1];
    int remainingBits = 8 * (5 - parts.length);
    if (last >= (1L << remainingBits)) {
      return null;
    }
    result |= last;
    return new byte[] {
      (byte) (result >>> 24), (byte) (result >>> 16), (byte) (result >>> 8), (byte) result
    };
  }

  private static Long parsePart(String p) {
    if (p.isEmpty()) {
      return null;
    }
    int radix = 10;
    String digits = p;
    if (p.startsWith("0x")) {
      radix = 16;
      digits = p.substring(2);
      if (digits.isEmpty()) {
        return 0L;
      }
    } else if (p.length() > 1 && p.startsWith("0")) {
      radix = 8;
      digits = p.substring(1);
    }
    if (digits.length() > 12) {
      return null;
    }
    try {
      return Long.parseLong(digits, radix);
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static boolean allZero(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }

  private static String v4String(byte[] a) {
    return (a[0] & 0xff) + "." + (a[1] & 0xff) + "." + (a[2] & 0xff) + "." + (a[3] & 0xff);
  }
}
