package io.agentrouter.common.net;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UpstreamAddressPolicyTest {
  /** A resolver with a fixed table, so the test needs no DNS. */
  private static final UpstreamAddressPolicy.Resolver DNS =
      host -> {
        Map<String, List<String>> table =
            Map.of(
                "api.example.com", List.of("93.184.216.34"),
                "rebind.example.com", List.of("93.184.216.34", "127.0.0.1"),
                "internal.example.com", List.of("10.1.2.3"),
                "metadata-alias.example.com", List.of("169.254.169.254"));
        List<String> addrs = table.get(host);
        if (addrs == null) {
          throw new UnknownHostException(host);
        }
        return addrs.stream()
            .map(
                a -> {
                  try {
                    return InetAddress.getByName(a);
                  } catch (UnknownHostException e) {
                    throw new IllegalStateException(e);
                  }
                })
            .toList();
      };

  /** Refused without the operator flag and still refused with it. */
  static final List<String> ALWAYS_REFUSED =
      List.of(
          "http://169.254.169.254/latest/meta-data/",
          "http://169.254.169.254:80/",
          "http://[fd00:ec2::254]/",
          "http://metadata.google.internal/computeMetadata/v1/",
          "http://metadata.google.internal./",
          "http://METADATA.GOOGLE.INTERNAL/",
          "http://metadata/",
          "http://100.100.100.200/latest/meta-data/",
          "http://169.254.170.2/v2/credentials",
          "http://2852039166/",
          "http://0xa9fea9fe/",
          "http://0251.0376.0251.0376/",
          "http://0xa9.0xfe.0xa9.0xfe/",
          "http://169.254.43518/",
          "http://[::ffff:169.254.169.254]/",
          "http://[::ffff:a9fe:a9fe]/",
          "http://[64:ff9b::a9fe:a9fe]/",
          "http://[2002:a9fe:a9fe::1]/",
          "http://metadata-alias.example.com/",
          "http://169.254.1.1/",
          "http://[fe80::1]/",
          "http://[fe80::1%25eth0]/",
          "http://0.0.0.0/",
          "http://0/",
          "http://[::]/",
          "http://224.0.0.1/",
          "http://255.255.255.255/",
          "http://[ff02::1]/",
          "http://192.0.2.10/",
          "http://[2001:db8::1]/",
          "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
          "ftp://api.example.com/",
          "file:///etc/passwd",
          "gopher://api.example.com/",
          "http://user:pass@api.example.com/",
          "http://1.2.3.4.5/",
          "http://0x1g.1/",
          "http://256.1.1.1/",
          "http://unresolvable.example.com/");

  /** Refused by default, allowed with AGENTROUTER_ALLOW_PRIVATE_UPSTREAMS=true. */
  static final List<String> PRIVATE =
      List.of(
          "http://127.0.0.1:11434/",
          "http://127.000.000.001/",
          "http://localhost:8000/v1",
          "http://api.localhost/",
          "http://[::1]/",
          "http://[0:0:0:0:0:0:0:1]/",
          "http://[::ffff:127.0.0.1]/",
          "http://[::ffff:7f00:1]/",
          "http://[::127.0.0.2]/",
          "http://[64:ff9b::7f00:1]/",
          "http://[64:ff9b::10.0.0.1]/",
          "http://[2002:7f00:1::]/",
          "http://10.0.0.1/",
          "http://10.255.255.255/",
          "http://172.16.0.1/",
          "http://172.31.255.254/",
          "http://192.168.1.10:8000/",
          "http://100.64.0.1/",
          "http://198.18.0.1/",
          "http://[fc00::1]/",
          "http://[fd12:3456:789a::1]/",
          "http://[fec0::1]/",
          "http://internal.example.com/",
          "http://rebind.example.com/");

  /**
   * Private addresses in notations java.net.URI does not accept as a host: refused by default as
   * loopback/private; with the flag either allowed or refused as malformed where the URL parser
   * rejects the notation (an operator writes the dotted-decimal form).
   */
  static final List<String> PRIVATE_ODD_NOTATION =
      List.of(
          "http://127.1/",
          "http://0x7f.1/",
          "http://0177.0.0.1/",
          "http://0x7f000001/",
          "http://2130706433/",
          "http://017700000001/",
          "http://0xc0.0xa8.1.1/",
          "http://0300.0250.1.1/",
          "http://10.1/",
          "http://0xa.0.0.1/");

  static final List<String> PUBLIC =
      List.of(
          "https://api.openai.com.example/",
          "https://93.184.216.34/v1",
          "https://api.example.com/v1",
          "http://8.8.8.8:8080/",
          "https://[2606:4700:4700::1111]/",
          "https://172.32.0.1/",
          "https://100.128.0.1/");

  private final UpstreamAddressPolicy strict = new UpstreamAddressPolicy(false, DNS);
  private final UpstreamAddressPolicy lenient = new UpstreamAddressPolicy(true, DNS);

  @Test
  void refusesEveryDangerousVectorByDefault() {
    List<String> all = concat(concat(ALWAYS_REFUSED, PRIVATE), PRIVATE_ODD_NOTATION);
    assertThat(all).hasSizeGreaterThanOrEqualTo(40);
    for (String url : all) {
      UpstreamAddressPolicy.Verdict v = strict.check(URI.create(url));
      assertThat(v.allowed()).as(url + " -> " + v.reason()).isFalse();
      assertThat(v.reason()).as(url).isNotBlank();
    }
    for (String url : PRIVATE_ODD_NOTATION) {
      assertThat(strict.check(URI.create(url)).reason())
          .as(url)
          .containsAnyOf("loopback", "private");
    }
  }

  @Test
  void theOperatorFlagAllowsPrivateRangesButNeverMetadata() {
    for (String url : PRIVATE) {
      assertThat(lenient.check(URI.create(url)).allowed()).as(url).isTrue();
    }
    for (String url : ALWAYS_REFUSED) {
      assertThat(lenient.check(URI.create(url)).allowed()).as(url).isFalse();
    }
    for (String url : PRIVATE_ODD_NOTATION) {
      UpstreamAddressPolicy.Verdict v = lenient.check(URI.create(url));
      assertThat(v.allowed() || v.reason().contains("malformed")).as(url + " -> " + v).isTrue();
    }
  }

  @Test
  void publicUpstreamsPass() {
    UpstreamAddressPolicy.Resolver dns =
        h -> h.equals("api.openai.com.example") ? DNS.resolve("api.example.com") : DNS.resolve(h);
    UpstreamAddressPolicy p = new UpstreamAddressPolicy(false, dns);
    for (String url : PUBLIC) {
      assertThat(p.check(URI.create(url)).allowed()).as(url).isTrue();
    }
  }

  @Test
  void reasonsNameTheAddressAndTheRule() {
    assertThat(strict.check(URI.create("http://0x7f.1/")).reason())
        .contains("127.0.0.1")
        .contains("AGENTROUTER_ALLOW_PRIVATE_UPSTREAMS");
    assertThat(strict.check(URI.create("http://rebind.example.com/")).reason())
        .contains("rebind.example.com")
        .contains("127.0.0.1");
    assertThat(lenient.check(URI.create("http://[::ffff:169.254.169.254]/")).reason())
        .contains("metadata");
  }

  @Test
  void connectTimeChecksTakeResolvedAddresses() throws Exception {
    assertThat(strict.check(InetAddress.getByName("169.254.169.254")).allowed()).isFalse();
    assertThat(strict.check(InetAddress.getByName("10.0.0.8")).allowed()).isFalse();
    assertThat(lenient.check(InetAddress.getByName("10.0.0.8")).allowed()).isTrue();
    assertThat(lenient.check(InetAddress.getByName("fd00:ec2::254")).allowed()).isFalse();
    assertThat(strict.check(InetAddress.getByName("93.184.216.34")).allowed()).isTrue();
  }

  private static List<String> concat(List<String> a, List<String> b) {
    return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
  }
}
