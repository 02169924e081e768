package io.ringkv.net;

import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Framing;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;

/**
 * One persistent connection to one peer's {@link LinkServer}, over which calls ({@link Frames}) are
 * pipelined and answered in any order, matched by id. The peer's link port is asked for once, on
 * {@code GET /peer/link} of its HTTP address (so a proxy or a port mapping in front of it is
 * respected: the peer advertises the port to dial); calls made meanwhile wait in the queue. A link
 * that fails, is closed, or stays silent past a call's deadline is closed for good, failing what it
 * still owes; the next call opens a new one (and asks for the port again: a restarted peer may
 * listen elsewhere).
 */
final class PeerLink {
  /** The peer refused this node's hello (a missing or wrong token). */
  static final class LinkRefused extends RuntimeException {
    LinkRefused(String why) {
      super("the peer refused the link: " + why, null, false, false);
    }
  }

  private final ConcurrentHashMap<Integer, CompletableFuture<Frames.Answer>> pending = new ConcurrentHashMap<>();
  private final AtomicInteger ids = new AtomicInteger();
  private final BoundedSourceQueue<ByteString> out;
  private volatile Throwable closed;
  /** The TCP connection opened: from then on, a call that fails may have reached the peer. */
  private volatile boolean established;
  private volatile long lastHeard = System.nanoTime();

  /**
   * @param url      the peer's HTTP address ({@code http://host:port})
   * @param linkPort asks the peer for the port its link listens on (once, when the link opens)
   */
  PeerLink(Tcp tcp, Materializer mat, String url, Supplier<CompletionStage<Integer>> linkPort, Frames.Hello hello,
      int queueSize, Duration connectTimeout) {
    String host = URI.create(url).getHost();
    Flow<ByteString, ByteString, CompletionStage<NotUsed>> connection = Flow.lazyCompletionStageFlow(() ->
        linkPort.get().thenApply(port ->
            Framing.simpleFramingProtocol(LinkServer.MAX_FRAME).join(tcp.outgoingConnection(
                new InetSocketAddress(host, port), Optional.empty(), List.of(), false, Optional.of(connectTimeout),
                Optional.empty()), Keep.<NotUsed, CompletionStage<Tcp.OutgoingConnection>>right())
                .mapMaterializedValue(connected -> {
                  connected.thenRun(() -> established = true);
                  return NotUsed.getInstance();
                })));
    Pair<BoundedSourceQueue<ByteString>, CompletionStage<Done>> materialized = Source.<ByteString>queue(queueSize)
        .keepAlive(LinkServer.KEEP_ALIVE, () -> ByteString.emptyByteString())
        .via(connection)
        .toMat(Sink.foreach(this::onAnswer), Keep.both())
        .run(mat);
    this.out = materialized.first();
    out.offer(Frames.hello(hello));
    materialized.second().whenComplete((done, err) ->
        close(err != null ? err : new IllegalStateException("link to " + url + " closed")));
  }

  boolean isClosed() {
    return closed != null;
  }

  /** One call; fails with a {@link TimeoutException} after {@code timeout}, and then closes the link if it heard nothing since. */
  CompletableFuture<Frames.Answer> call(Frames.Kind kind, ByteString body, Duration timeout) {
    CompletableFuture<Frames.Answer> answer = new CompletableFuture<>();
    Throwable why = closed;
    if (why != null) {
      answer.completeExceptionally(new NotSent(why));
      return answer;
    }
    int id = ids.incrementAndGet();
    long sent = System.nanoTime();
    pending.put(id, answer);
    QueueOfferResult offered = out.offer(Frames.call(id, kind, body));
    if (offered != QueueOfferResult.enqueued()) {
      pending.remove(id);
      answer.completeExceptionally(new NotSent(new IllegalStateException("link queue refused the call: " + offered)));
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
    if (a.id() == 0 && a.result() == Frames.Result.REFUSED) {   // the hello was refused; the peer closes the connection
      close(new LinkRefused(a.detail()));
      return;
    }
    CompletableFuture<Frames.Answer> f = pending.remove(a.id());
    if (f != null) f.complete(a);
  }

  void close(Throwable why) {
    if (closed != null) return;
    // a link that never connected sent nothing: its calls' peers cannot act on them
    closed = established ? unwrap(why) : new NotSent(unwrap(why));
    try {
      // fail, not complete: a failed upstream aborts the TCP connection, and the kernel drops what it
      // has not sent yet. Completing would flush it: after a partition heals, a forwarded write the
      // caller gave up on (and coordinated itself meanwhile) would still reach the primary and be
      // applied again, with a newer version, over writes acknowledged since (FaultSuiteIT's
      // partition schedule caught exactly that: a DELETE applied twice, 3 later PUTs lost)
      out.fail(closed);
    } catch (RuntimeException alreadyOver) {
      // the stream ended first: nothing left to stop
    }
    for (Integer id : pending.keySet()) fail(id);
  }

  private static Throwable unwrap(Throwable t) {
    while (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) t = t.getCause();
    return t;
  }

  private void fail(int id) {
    CompletableFuture<Frames.Answer> f = pending.remove(id);
    if (f != null) f.completeExceptionally(closed);
  }
}
