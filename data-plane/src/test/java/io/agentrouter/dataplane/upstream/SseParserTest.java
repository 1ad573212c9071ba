package io.agentrouter.dataplane.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SseParserTest {
  final SseParser parser = new SseParser();
  final List<String> events = new ArrayList<>();

  void feed(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    parser.feed(b, 0, b.length, (event, data) -> events.add(event + "|" + data));
  }

  @Test
  void eventsSplitAcrossReadsAndLineEndings() {
    feed("event: message_start\r\ndata: {\"a\"");
    assertThat(events).isEmpty();
    feed(":1}\r\n\r\n: a comment\n\ndata: one\ndata: two\n\ndata:[DONE]\r");
    feed("\r");
    assertThat(events).containsExactly("message_start|{\"a\":1}", "null|one\ntwo", "null|[DONE]");
    assertThat(parser.hasPartialEvent()).isFalse();
    feed("data: half");
    assertThat(parser.hasPartialEvent()).isTrue();
  }

  @Test
  void multiByteCharactersSurviveAnySplit() {
    byte[] b = "data: héllo ✓\n\n".getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i < b.length; i++) {
      parser.feed(b, i, 1, (event, data) -> events.add(data));
    }
    assertThat(events).containsExactly("héllo ✓");
  }
}
