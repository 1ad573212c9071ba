package io.agentrouter.dataplane.bench;

import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.ResponseHeaders;
import com.linecorp.armeria.server.Server;
import java.nio.charset.StandardCharsets;

/**
 * The benchmark's upstream: answers {@code POST /v1/chat/completions} at once with a fixed OpenAI
 * completion, or a fixed four-chunk stream (with the usage chunk) when the body asks for one. As
 * cheap as an Armeria server can be, so the figures measure the gateway.
 *
 * <pre>java -cp agentrouter-data-plane.jar:agentrouter-data-plane-tests.jar \
 *     io.agentrouter.dataplane.bench.BenchUpstream 18081</pre>
 */
public final class BenchUpstream {
  private static final byte[] COMPLETION =
      ("{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1700000000,"
              + "\"model\":\"bench-model\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
              + "\"content\":\"Hello! How can I help you today?\",\"refusal\":null},\"logprobs\":null,"
              + "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":9,"
              + "\"total_tokens\":21},\"system_fingerprint\":\"fp_bench\"}")
          .getBytes(StandardCharsets.UTF_8);
  private static final byte[] STREAM =
      ("data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
              + "\"model\":\"bench-model\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
              + "\"content\":\"\"},\"finish_reason\":null}]}\n\n"
              + "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
              + "\"model\":\"bench-model\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello!\"},"
              + "\"finish_reason\":null}]}\n\n"
              + "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
              + "\"model\":\"bench-model\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
              + "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"
              + "\"model\":\"bench-model\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
              + "\"completion_tokens\":2,\"total_tokens\":14}}\n\n"
              + "data: [DONE]\n\n")
          .getBytes(StandardCharsets.UTF_8);
  private static final byte[] STREAM_FLAG = "\"stream\":true".getBytes(StandardCharsets.UTF_8);
  private static final MediaType EVENT_STREAM = MediaType.parse("text/event-stream; charset=utf-8");

  private BenchUpstream() {}

  public static void main(String[] args) {
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 18081;
    ResponseHeaders json =
        ResponseHeaders.of(HttpStatus.OK, "content-type", MediaType.JSON.toString());
    ResponseHeaders sse =
        ResponseHeaders.of(HttpStatus.OK, "content-type", EVENT_STREAM.toString());
    Server server =
        Server.builder()
            .http(port)
            .service(
                "/v1/chat/completions",
                (ctx, req) ->
                    HttpResponse.of(
                        req.aggregate()
                            .thenApply(
                                agg ->
                                    contains(agg.content().array(), STREAM_FLAG)
                                        ? HttpResponse.of(sse, HttpData.wrap(STREAM))
                                        : HttpResponse.of(json, HttpData.wrap(COMPLETION)))))
            .build();
    server.start().join();
    System.out.println("bench upstream listening on " + server.activeLocalPort());
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
