package io.ringkv.net;

import io.ringkv.cluster.Member;
import io.ringkv.config.NodeSettings;
import io.ringkv.metrics.NodeMetrics;
import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.KeyVersion;
import io.ringkv.storage.Versioned;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;

/**
 * {@link Peers} over the node-to-node link: one persistent {@link PeerLink} per peer (a TCP
 * connection to its {@link LinkServer}, calls pipelined on it), a deadline on every call. The calls
 * of the client path (one replica, one read of a replica, one forwarded write) are grouped per peer
 * by a {@link Batcher}: under load, many of them share one call.
 */
public final class PeerLinks implements Peers {
  /**
   * Calls under way per peer and kind: one, so that everything that arrives meanwhile leaves
   * together (group commit). Measured with bench/ (PUT, 2 cores): 1 in flight 815 us of cluster CPU
   * per request, 2 in flight 1,108, 4 in flight about 1,300 (batches rarely form).
   */
  static final int IN_FLIGHT_PER_PEER = 1;
  static final int MAX_BATCH = 256;
  /** Bytes of keys and values per batch (a single larger item still goes, alone). */
  static final int MAX_BATCH_BYTES = 1 << 20;
  /** Calls queued on one link before it refuses more (each Batcher lane has one under way; the rebalancer a few). */
  private static final int LINK_QUEUE = 1024;

  private final Tcp tcp;
  private final Materializer mat;
  private final JsonHttpClient http;
  private final Duration peerTimeout;
  private final Duration forwardTimeout;
  private final Duration pushTimeout;
  private final Batcher<Entry, Applied> replicas;
  private final Batcher<String, Optional<Versioned>> reads;
  private final Batcher<Forwarded, WriteOutcome> forwards;
  private final ConcurrentHashMap<String, PeerLink> links = new ConcurrentHashMap<>();
  private final Frames.Hello hello;
  private final NodeMetrics metrics;

  public PeerLinks(ActorSystem<?> system, NodeSettings settings) {
    this(system, settings, NodeMetrics.OFF);
  }

  /** As above, every call timed in {@code metrics} by kind and result. */
  public PeerLinks(ActorSystem<?> system, NodeSettings settings, NodeMetrics metrics) {
    this.metrics = metrics;
    this.tcp = Tcp.get(system);
    this.mat = Materializer.matFromSystem(system);
    this.http = new JsonHttpClient(settings.clusterToken(), settings.apiToken());
    this.peerTimeout = settings.peerTimeout();
    // the primary starts a forwarded write only before its deadline (one request timeout after it
    // entered) and coordinates it within one more: the forwarder gives up, and writes the same version
    // itself, only once the primary cannot be writing it any more
    this.forwardTimeout = settings.requestTimeout().multipliedBy(2).plus(settings.peerTimeout());
    this.pushTimeout = settings.rebalancePushTimeout();
    this.replicas = new Batcher<>(IN_FLIGHT_PER_PEER, MAX_BATCH, MAX_BATCH_BYTES, Entry::chars,
        (url, entries) -> replicateBatch(url, entries, peerTimeout));
    this.reads = new Batcher<>(IN_FLIGHT_PER_PEER, MAX_BATCH, MAX_BATCH_BYTES, String::length,
        (url, keys) -> call(url, Frames.Kind.READ, Frames.keys(keys), peerTimeout, Frames::readCopies));
    this.forwards = new Batcher<>(IN_FLIGHT_PER_PEER, MAX_BATCH, MAX_BATCH_BYTES,
        w -> w.entry().chars(),
        (url, writes) -> call(url, Frames.Kind.FORWARD, Frames.forwards(writes), forwardTimeout, Frames::readOutcomes));
    this.hello = new Frames.Hello(settings.clusterToken(), settings.apiToken());
  }

  @Override
  public CompletionStage<List<Applied>> replicate(Member to, List<Entry> entries) {
    if (entries.size() == 1) return replicas.submit(to.url(), entries.get(0)).thenApply(List::of);
    return replicateBatch(to.url(), entries, peerTimeout);
  }

  @Override
  public CompletionStage<List<Applied>> push(Member to, List<Entry> entries) {
    return replicateBatch(to.url(), entries, pushTimeout);
  }

  private CompletionStage<List<Applied>> replicateBatch(String url, List<Entry> entries, Duration timeout) {
    return call(url, Frames.Kind.REPLICATE, Frames.entries(entries), timeout, Frames::readApplied);
  }

  @Override
  public CompletionStage<Optional<Versioned>> fetch(Member to, String key) {
    return reads.submit(to.url(), key);
  }

  @Override
  public CompletionStage<WriteOutcome> forward(Member to, Forwarded write) {
    return forwards.submit(to.url(), write);
  }

  @Override
  public CompletionStage<List<Optional<Versioned>>> copies(Member to, List<String> keys) {
    return call(to.url(), Frames.Kind.READ, Frames.keys(keys), pushTimeout, Frames::readCopies);
  }

  @Override
  public CompletionStage<long[]> tree(Member to, Frames.TreeQuery query) {
    return call(to.url(), Frames.Kind.TREE, Frames.treeQuery(query), pushTimeout, Frames::readLongs);
  }

  @Override
  public CompletionStage<List<KeyVersion>> keyVersions(Member to, Frames.SegmentQuery query) {
    return call(to.url(), Frames.Kind.KEYS, Frames.segmentQuery(query), pushTimeout, Frames::readKeyVersions);
  }

  /** One call over {@code url}'s link; an answer that is not OK fails the stage with its detail. */
  private <T> CompletionStage<T> call(String url, Frames.Kind kind, ByteString body, Duration timeout,
      Function<ByteString, T> read) {
    long t0 = System.nanoTime();
    CompletionStage<T> answer = link(url).call(kind, body, timeout).thenApply(a -> {
      if (a.result() != Frames.Result.OK) throw new IllegalStateException(url + " answered " + a.result() + ": " + a.detail());
      return read.apply(a.body());
    });
    if (metrics.enabled()) answer.whenComplete((v, err) -> metrics.peerCall(kind.label, err == null, System.nanoTime() - t0));
    return answer;
  }

  private PeerLink link(String url) {
    return links.compute(url, (u, old) -> old != null && !old.isClosed() ? old
        : new PeerLink(tcp, mat, u, () -> linkPort(u), hello, LINK_QUEUE, peerTimeout));
  }

  /** The port {@code url}'s link listens on, from its {@code GET /peer/link}. */
  private CompletionStage<Integer> linkPort(String url) {
    return http.get(url + "/peer/link", peerTimeout).thenApply(a -> {
      int port = a.ok(url + "/peer/link").path("port").asInt(0);
      if (port <= 0 || port > 65535) throw new IllegalStateException(url + "/peer/link answered without a port: " + a.body());
      return port;
    });
  }

  /** Whether calls to {@code url} currently travel over an open link (for tests). */
  boolean hasOpenLink(String url) {
    PeerLink l = links.get(url);
    return l != null && !l.isClosed();
  }
}
