package io.agentrouter.dataplane.fake;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.linecorp.armeria.common.HttpData;
import com.linecorp.armeria.common.HttpResponse;
import com.linecorp.armeria.common.HttpResponseWriter;
import com.linecorp.armeria.common.HttpStatus;
import com.linecorp.armeria.common.MediaType;
import com.linecorp.armeria.common.ResponseHeaders;
import com.linecorp.armeria.server.ServiceRequestContext;
import java.util.concurrent.TimeUnit;

/**
 * OpenAI's {@code POST /v1/responses} for {@link FakeOpenAi}, in the real wire format: a response
 * object, or (streaming) {@code response.created}, {@code response.in_progress}, the output item
 * events and {@code response.completed} with usage. With function tools in the request it calls the
 * first one with {@code {"city":"Paris"}}; otherwise it writes the fake's reply. Usage: {@link
 * #INPUT_TOKENS} input ({@link #CACHED_TOKENS} of them cached), one output token per word.
 */
final class FakeResponses {
  static final int INPUT_TOKENS = 12;
  static final int CACHED_TOKENS = 4;
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private FakeResponses() {}

  static HttpResponse answer(
      ServiceRequestContext ctx,
      JsonNode body,
      boolean stream,
      FakeOpenAi.Fault.Kind fault,
      String reply,
      String id) {
    if (fault == FakeOpenAi.Fault.Kind.MALFORMED) {
      return HttpResponse.of(HttpStatus.OK, MediaType.JSON, "{\"id\": \"resp_x\", \"output\": [");
    }
    String tool = null;
    for (JsonNode t : body.path("tools")) {
      if (t.path("type").asText().equals("function")) {
        tool = t.path("name").asText();
        break;
      }
    }
    String args = "{\"city\":\"Paris\"}";
    int outputTokens = tool != null ? 5 : reply.split(" ").length;
    ObjectNode item =
        tool != null ? functionCall(id, tool, args, "completed") : message(id, reply, "completed");
    ObjectNode done = response(body, id, "completed");
    done.withArray("output").add(item);
    done.set("usage", usage(outputTokens));
    if (!stream) {
      return HttpResponse.of(HttpStatus.OK, MediaType.JSON, done.toString());
    }
    HttpResponseWriter w = HttpResponse.streaming();
    w.write(ResponseHeaders.of(HttpStatus.OK, "content-type", "text/event-stream; charset=utf-8"));
    int[] seq = {0};
    ObjectNode created = event("response.created", seq);
    created.set("response", response(body, id, "in_progress"));
    write(w, created);
    if (fault == FakeOpenAi.Fault.Kind.CUT_BEFORE_CONTENT) {
      ctx.eventLoop().schedule(() -> w.abort(), 100, TimeUnit.MILLISECONDS);
      return w;
    }
    ObjectNode progress = event("response.in_progress", seq);
    progress.set("response", response(body, id, "in_progress"));
    write(w, progress);
    ObjectNode added = event("response.output_item.added", seq).put("output_index", 0);
    String itemId = item.path("id").asText();
    if (tool != null) {
      added.set("item", functionCall(id, tool, "", "in_progress"));
      write(w, added);
      for (String part : new String[] {"{\"city\":", "\"Paris\"}"}) {
        ObjectNode d = event("response.function_call_arguments.delta", seq);
        d.put("item_id", itemId).put("output_index", 0).put("delta", part);
        write(w, d);
      }
      ObjectNode ad = event("response.function_call_arguments.done", seq);
      ad.put("item_id", itemId).put("output_index", 0).put("arguments", args).put("name", tool);
      write(w, ad);
    } else {
      added.set("item", message(id, "", "in_progress"));
      write(w, added);
      ObjectNode pa = event("response.content_part.added", seq);
      pa.put("item_id", itemId).put("output_index", 0).put("content_index", 0);
      pa.set("part", part(""));
      write(w, pa);
      String[] words = reply.split(" ");
      for (int i = 0; i < words.length; i++) {
        ObjectNode d = event("response.output_text.delta", seq);
        d.put("item_id", itemId).put("output_index", 0).put("content_index", 0);
        d.put("delta", (i == 0 ? "" : " ") + words[i]);
        d.putArray("logprobs");
        write(w, d);
        if (fault == FakeOpenAi.Fault.Kind.CUT_AFTER_CONTENT) {
          ctx.eventLoop().schedule(() -> w.abort(), 100, TimeUnit.MILLISECONDS);
          return w;
        }
      }
      ObjectNode td = event("response.output_text.done", seq);
      td.put("item_id", itemId).put("output_index", 0).put("content_index", 0).put("text", reply);
      td.putArray("logprobs");
      write(w, td);
      ObjectNode pd = event("response.content_part.done", seq);
      pd.put("item_id", itemId).put("output_index", 0).put("content_index", 0);
      pd.set("part", part(reply));
      write(w, pd);
    }
    ObjectNode itemDone = event("response.output_item.done", seq).put("output_index", 0);
    itemDone.set("item", item);
    write(w, itemDone);
    ObjectNode completed = event("response.completed", seq);
    completed.set("response", done);
    write(w, completed);
    w.close();
    return w;
  }

  private static ObjectNode event(String type, int[] seq) {
    return JSON.objectNode().put("type", type).put("sequence_number", seq[0]++);
  }

  private static void write(HttpResponseWriter w, ObjectNode e) {
    w.write(HttpData.ofUtf8("event: " + e.path("type").asText() + "\ndata: " + e + "\n\n"));
  }

  private static ObjectNode response(JsonNode body, String id, String status) {
    ObjectNode r = JSON.objectNode().put("id", id).put("object", "response");
    r.put("created_at", 1_700_000_000L).put("status", status);
    r.putNull("error");
    r.putNull("incomplete_details");
    r.set("instructions", body.path("instructions").isTextual() ? body.get("instructions") : null);
    r.putNull("max_output_tokens");
    r.put("model", body.path("model").asText("gpt-4o-mini"));
    r.putArray("output");
    r.put("parallel_tool_calls", true);
    r.putNull("previous_response_id");
    r.put("temperature", 1.0);
    r.put("tool_choice", "auto");
    r.set("tools", body.path("tools").isArray() ? body.get("tools") : JSON.arrayNode());
    r.put("top_p", 1.0);
    r.putObject("text").putObject("format").put("type", "text");
    r.put("truncation", "disabled");
    r.putNull("usage");
    r.putObject("metadata");
    return r;
  }

  private static ObjectNode message(String id, String text, String status) {
    ObjectNode m = JSON.objectNode().put("id", "msg_" + id).put("type", "message");
    m.put("status", status).put("role", "assistant");
    ArrayNode content = m.putArray("content");
    if (status.equals("completed")) {
      content.add(part(text));
    }
    return m;
  }

  private static ObjectNode part(String text) {
    ObjectNode p = JSON.objectNode().put("type", "output_text").put("text", text);
    p.putArray("annotations");
    p.putArray("logprobs");
    return p;
  }

  private static ObjectNode functionCall(String id, String name, String args, String status) {
    ObjectNode f = JSON.objectNode().put("id", "fc_" + id).put("type", "function_call");
    f.put("status", status).put("call_id", "call_" + id).put("name", name).put("arguments", args);
    return f;
  }

  private static ObjectNode usage(int output) {
    ObjectNode u = JSON.objectNode().put("input_tokens", INPUT_TOKENS);
    u.putObject("input_tokens_details").put("cached_tokens", CACHED_TOKENS);
    u.put("output_tokens", output);
    u.putObject("output_tokens_details").put("reasoning_tokens", 0);
    u.put("total_tokens", INPUT_TOKENS + output);
    return u;
  }
}
