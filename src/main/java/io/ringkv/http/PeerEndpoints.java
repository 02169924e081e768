package io.ringkv.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ringkv.config.NodeSettings;
import io.ringkv.net.Frames;
import io.ringkv.net.LinkServer;
import io.ringkv.net.Peers.WriteResult;
import io.ringkv.net.Wire;
import io.ringkv.storage.Entry;
import io.ringkv.worker.WorkerApi;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.ws.BinaryMessage;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.util.ByteString;

/**
 * What other workers call on this one: the batch endpoints ({@code POST /replicate},
 * {@code /replicate/read}, {@code /forward}) as functions from a JSON body to a JSON answer, served
 * both as HTTP routes ({@link WorkerRoutes}) and as calls of the node-to-node link ({@link #serve}:
 * on the link's TCP port, and on {@link #socket}, its WebSocket form on {@code GET /peer}).
 */
final class PeerEndpoints {
  private final WorkerApi api;
  private final NodeSettings settings;

  PeerEndpoints(WorkerApi api, NodeSettings settings) {
    this.api = api;
    this.settings = settings;
  }

  /** {@code POST /replicate}: a batch of versioned entries, or the seed's unversioned {@code {"key","value"}}. */
  CompletionStage<JsonNode> replicate(JsonNode body) {
    ObjectNode o = Wire.object(body);
    List<Entry> entries = new ArrayList<>();
    if (o.has("entries")) {
      JsonNode arr = o.get("entries");
      if (!arr.isArray()) throw new Wire.BadInput("field 'entries' must be an array");
      for (JsonNode e : arr) entries.add(checked(Wire.readEntry(e, null)));
    } else {
      entries.add(checked(Wire.readEntry(o, api.stampNow())));
    }
    return applied(entries);
  }

  private CompletionStage<JsonNode> applied(List<Entry> entries) {
    int received = entries.size();
    return api.replicate(entries).thenApply(applied -> {
      ObjectNode r = Wire.NODES.objectNode();
      r.put("status", "ok");
      r.put("received", received);
      r.put("applied", applied);
      return r;
    });
  }

  /** A link's {@link Frames.Kind#ENTRIES} call: what {@link #replicate} does, from the binary layout. */
  CompletionStage<JsonNode> replicateEntries(ByteString body) {
    List<Entry> entries = Frames.readEntries(body);
    for (Entry e : entries) checked(e);
    return applied(entries);
  }

  /** {@code POST /replicate/read}: this worker's own copies of several keys. */
  CompletionStage<JsonNode> readMany(JsonNode body) {
    JsonNode arr = Wire.object(body).get("keys");
    if (arr == null || !arr.isArray()) throw new Wire.BadInput("field 'keys' must be an array of keys");
    List<String> keys = new ArrayList<>(arr.size());
    for (JsonNode k : arr) {
      if (!k.isTextual() || k.asText().isEmpty()) throw new Wire.BadInput("every key must be a non-empty string");
      keys.add(JsonRoutes.checkKey(k.asText(), settings.maxKeyBytes()));
    }
    return api.localMany(keys).thenApply(found -> Wire.copies(keys, found));
  }

  /**
   * {@code POST /forward}: client writes forwarded by other workers to this one as their keys'
   * primary; each is coordinated here, and the answer lists each write's outcome, in order.
   */
  CompletionStage<JsonNode> forward(JsonNode body) {
    JsonNode arr = Wire.object(body).get("writes");
    if (arr == null || !arr.isArray()) throw new Wire.BadInput("field 'writes' must be an array");
    List<Wire.Write> writes = new ArrayList<>(arr.size());
    for (JsonNode w : arr) {
      ObjectNode o = Wire.object(w);
      String key = JsonRoutes.checkKey(Wire.requiredString(o, "key"), settings.maxKeyBytes());
      String value = o.path("delete").asBoolean(false) ? null : checkValue(Wire.requiredString(o, "value"));
      writes.add(new Wire.Write(key, value));
    }
    List<CompletableFuture<WriteResult>> results = new ArrayList<>(writes.size());
    for (Wire.Write w : writes) results.add(api.write(w.key(), w.value(), true).toCompletableFuture());
    return CompletableFuture.allOf(results.toArray(new CompletableFuture[0]))
        .thenApply(v -> Wire.writeResults(results.stream().map(CompletableFuture::join).toList()));
  }

  /** A client value: non-empty, at most MAX_VALUE_BYTES of UTF-8. */
  String checkValue(String value) {
    if (value.isEmpty()) throw new Wire.BadInput("field 'value' must not be empty");
    int bytes = JsonRoutes.utf8Length(value);
    if (bytes > settings.maxValueBytes())
      throw new Wire.BadInput(413, "value is " + bytes + " bytes; the limit is " + settings.maxValueBytes() + " (MAX_VALUE_BYTES)");
    return value;
  }

  private Entry checked(Entry e) {
    JsonRoutes.checkKey(e.key(), settings.maxKeyBytes());
    if (!e.versioned().isTombstone() && JsonRoutes.utf8Length(e.versioned().value()) > settings.maxValueBytes())
      throw new Wire.BadInput(413, "value of " + e.key() + " is over the limit of " + settings.maxValueBytes() + " bytes");
    return e;
  }

  /**
   * The server side of a node-to-node link ({@code GET /peer}): each binary message is a call
   * ({@link Frames}); up to {@link LinkServer#PARALLELISM} are served at once and each answer leaves as soon
   * as it is ready, carrying its call's id. A call that cannot be read, or that fails, is answered
   * with a 4xx or 503 and its detail; the link stays up.
   */
  Flow<Message, Message, NotUsed> socket(Materializer mat) {
    return Flow.of(Message.class)
        .filter(m -> !m.isText())
        .mapAsync(1, m -> Frames.bytes(m.asBinaryMessage(), mat))
        .mapAsyncUnordered(LinkServer.PARALLELISM, this::serve)
        .map(BinaryMessage::create);
  }

  /** One call of a link (either form): its answer, carrying the call's id; never a failed stage. */
  CompletionStage<ByteString> serve(ByteString msg) {
    Frames.Call call;
    try {
      call = Frames.readCall(msg);
    } catch (Wire.BadInput e) {
      // no id to answer to: answer id 0, which no caller waits for
      return CompletableFuture.completedFuture(Frames.answer(0, e.status(), Wire.bytes(Wire.detail(e.getMessage()))));
    }
    CompletionStage<JsonNode> answer;
    try {
      answer = switch (call.kind()) {
        case REPLICATE -> replicate(Wire.parse(call.body().toArray()));
        case READ -> readMany(Wire.parse(call.body().toArray()));
        case FORWARD -> forward(Wire.parse(call.body().toArray()));
        case ENTRIES -> replicateEntries(call.body());
      };
    } catch (RuntimeException e) {
      answer = CompletableFuture.failedFuture(e);
    }
    int id = call.id();
    return answer.handle((r, err) -> err == null ? Frames.answer(id, 200, Wire.bytes(r)) : failure(id, err));
  }

  private static ByteString failure(int id, Throwable err) {
    Throwable e = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
    if (e instanceof Wire.BadInput b) return Frames.answer(id, b.status(), Wire.bytes(Wire.detail(b.getMessage())));
    return Frames.answer(id, 503, Wire.bytes(Wire.detail("could not serve the call: " + e)));
  }
}
