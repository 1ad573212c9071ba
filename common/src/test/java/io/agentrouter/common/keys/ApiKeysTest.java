package io.agentrouter.common.keys;

import static org.assertj.core.api.Assertions.assertThat;

import java.security.SecureRandom;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class ApiKeysTest {
  private final SecureRandom random = new SecureRandom();

  @Test
  void generatedKeyParsesBackToItsIdAndSecret() {
    UUID id = UUID.randomUUID();
    ApiKeys.Generated key = ApiKeys.generate(id, random);

    assertThat(key.token()).startsWith("sk-ar-").hasSize(ApiKeys.LENGTH);
    ApiKeys.Parsed parsed = ApiKeys.parse(key.token());
    assertThat(parsed).isNotNull();
    assertThat(parsed.keyId()).isEqualTo(id);
    assertThat(parsed.secret()).isEqualTo(key.secret());
  }

  @Test
  void everySingleCharacterTypoIsRejectedByTheChecksum() {
    ApiKeys.Generated key = ApiKeys.generate(UUID.randomUUID(), random);
    String token = key.token();
    int rejected = 0;
    int tried = 0;
    for (int i = ApiKeys.PREFIX.length(); i < token.length(); i++) {
      if (token.charAt(i) == '.') {
        continue;
      }
      char replacement = token.charAt(i) == 'x' ? 'y' : 'x';
      String typo = token.substring(0, i) + replacement + token.substring(i + 1);
      tried++;
      if (ApiKeys.parse(typo) == null) {
        rejected++;
      }
    }
    assertThat(rejected).isEqualTo(tried);
  }

  @Test
  void malformedInputIsRejectedWithoutThrowing() {
    assertThat(ApiKeys.parse(null)).isNull();
    assertThat(ApiKeys.parse("")).isNull();
    assertThat(ApiKeys.parse("sk-ar-")).isNull();
    assertThat(ApiKeys.parse("sk-proj-abc")).isNull();
    String valid = ApiKeys.generate(UUID.randomUUID(), random).token();
    assertThat(ApiKeys.parse(valid.replace('.', '-'))).isNull();
    assertThat(ApiKeys.parse(valid + "0")).isNull();
    assertThat(ApiKeys.parse(valid.substring(0, valid.length() - 1) + "!")).isNull();
  }

  @Test
  void digestDependsOnPepperAndComparesByValue() {
    String secret = ApiKeys.generate(UUID.randomUUID(), random).secret();
    String a = ApiKeys.digest(new byte[] {1, 2, 3}, secret);
    String b = ApiKeys.digest(new byte[] {1, 2, 4}, secret);

    assertThat(a).hasSize(64).isNotEqualTo(b).doesNotContain(secret);
    assertThat(ApiKeys.digestMatches(a, ApiKeys.digest(new byte[] {1, 2, 3}, secret))).isTrue();
    assertThat(ApiKeys.digestMatches(a, b)).isFalse();
  }

  @Test
  void toStringNeverShowsTheSecret() {
    ApiKeys.Generated key = ApiKeys.generate(UUID.randomUUID(), random);
    assertThat(key.toString()).doesNotContain(key.secret());
    assertThat(ApiKeys.parse(key.token()).toString()).doesNotContain(key.secret());
  }
}
