package io.ringkv.net;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.ws.BinaryMessage;
import org.apache.pekko.http.javadsl.model.ws.Message;
import org.apache.pekko.http.javadsl.model.ws.WebSocketRequest;
import org.apache.pekko.http.javadsl.model.ws.WebSocketUpgradeResponse;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * One persistent connection to one peer: a WebSocket on its {@code GET /peer}, materialized once,
 * over which calls ({@link Frames}) are pipelined and answered in any order, matched by id: no HTTP
 * request or header parsing per call (Pekko HTTP still runs a small stream per WebSocket message). A link that fails, is closed, or
 * stays silent past a call's deadline is closed for good, failing what it still owes; the next call
 * opens a new one.
 */
final class PeerLink {
  /** The peer answered the upgrade with an ordinary response: it does not serve {@code /peer} (an older release). */
  static final class Unsupported extends RuntimeException {
    Unsupported(String why) {
      super(why, null, false, false);
    }
  }

  private final ConcurrentHashMap<Integer, CompletableFuture<Frames.Answer>> pending = new ConcurrentHashMap<>();
  private final AtomicInteger ids = new AtomicInteger();
  private final BoundedSourceQueue<Message> out;
  private final Materializer mat;
  private volatile Throwable closed;
  private volatile long lastHeard = System.nanoTime();

  PeerLink(Http http, Materializer mat, String wsUrl, List<HttpHeader> headers, int queueSize) {
    this.mat = mat;
    WebSocketRequest req = WebSocketRequest.create(wsUrl);
    for (HttpHeader h : headers) req = req.addHeader(h);
    Sink<Message, CompletionStage<Done>> in = Flow.of(Message.class)
        .filter(m -> !m.isText())
        .mapAsync(1, m -> Frames.bytes(m.asBinaryMessage(), mat))
        .toMat(Sink.foreach(this::onAnswer), Keep.right());
    Flow<Message, Message, Pair<CompletionStage<Done>, BoundedSourceQueue<Message>>> flow =
        Flow.fromSinkAndSourceCoupledMat(in, Source.<Message>queue(queueSize), Keep.both());
    var materialized = http.singleWebSocketRequest(req, flow, mat);
    this.out = materialized.second().second();
    CompletionStage<WebSocketUpgradeResponse> upgraded = materialized.first();
    upgraded.whenComplete((upgrade, err) -> {
      if (err != null) close(err);
      else if (!upgrade.isValid()) close(unsupported(wsUrl, upgrade));
    });
    // a refused upgrade also fails the stream ("upgrade did not finish"), often before the upgrade's
    // own answer is seen: look at that answer first, so that an older peer is recognized as such
    materialized.second().first().whenComplete((done, err) -> upgraded.whenComplete((upgrade, upgradeErr) -> {
      if (upgradeErr == null && !upgrade.isValid()) close(unsupported(wsUrl, upgrade));
      else close(err != null ? err : new IllegalStateException("link to " + wsUrl + " closed"));
    }));
  }

  private static Unsupported unsupported(String wsUrl, WebSocketUpgradeResponse upgrade) {
    return new Unsupported(wsUrl + " answered the upgrade with " + upgrade.response().status().intValue());
  }

  boolean isClosed() {
    return closed != null;
  }

  /** One call; fails with a {@link TimeoutException} after {@code timeout}, and then closes the link if it heard nothing since. */
  CompletableFuture<Frames.Answer> call(Frames.Kind kind, byte[] body, Duration timeout) {
    CompletableFuture<Frames.Answer> answer = new CompletableFuture<>();
    Throwable why = closed;
    if (why != null) {
      answer.completeExceptionally(why);
      return answer;
    }
    int id = ids.incrementAndGet();
    long sent = System.nanoTime();
    pending.put(id, answer);
    QueueOfferResult offered = out.offer(BinaryMessage.create(Frames.call(id, kind, body)));
    if (offered != QueueOfferResult.enqueued()) {
      pending.remove(id);
      answer.completeExceptionally(new IllegalStateException("link queue refused the call: " + offered));
      return answer;
    }
    if (closed != null) fail(id);   // closed between the check and the put: close() may have missed it
    answer.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((a, err) -> {
      if (err == null) return;
      pending.remove(id);
      // silent since the call left: the connection is stuck (a partition, a stopped process); start afresh
      if (err instanceof TimeoutException && lastHeard - sent < 0) close(err);
    });
    return answer;
  }

  private void onAnswer(ByteString bytes) {
    lastHeard = System.nanoTime();
    Frames.Answer a = Frames.readAnswer(bytes);
    CompletableFuture<Frames.Answer> f = pending.remove(a.id());
    if (f != null) f.complete(a);
  }

  void close(Throwable why) {
    if (closed != null) return;
    closed = why;
    try {
      out.complete();   // not fail(): Pekko would log the cause as an error, and the callers get it below
    } catch (RuntimeException alreadyOver) {
      // the stream ended first: nothing left to stop
    }
    for (Integer id : pending.keySet()) fail(id);
  }

  private void fail(int id) {
    CompletableFuture<Frames.Answer> f = pending.remove(id);
    if (f != null) f.completeExceptionally(closed);
  }
}
