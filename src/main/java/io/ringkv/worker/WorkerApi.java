package io.ringkv.worker;

import io.ringkv.net.Frames;
import io.ringkv.net.PeerService;
import io.ringkv.net.Wire;
import io.ringkv.storage.KeyVersion;
import io.ringkv.storage.RangeTrees;
import io.ringkv.net.Forwarded;
import io.ringkv.net.WriteOutcome;
import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.HybridClock;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import io.ringkv.util.Stages;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * A worker's operations as CompletionStages: what its HTTP routes serve, what the node-to-node link
 * serves ({@link PeerService}), and what the in-memory transport of the simulations calls directly.
 * Client reads and writes go to the {@link Coordinator} on the caller's thread; the rest asks the
 * actors. Every input is checked against the {@link Limits} here, whichever way it came in.
 */
public final class WorkerApi implements PeerService {
  /** A worker's state for {@code GET /status}. */
  public record StatusInfo(Worker.Status worker, int liveKeys, int storedEntries, HybridClock.Skew clock, long treeEpoch,
      AntiEntropy.Report antiEntropy, Hints.Counts hints) {}

  private final WorkerEnv env;
  private final ActorRef<Worker.Command> worker;
  private final ActorSystem<?> system;
  private final Limits limits;
  private final Duration localTimeout;
  private final LocalStores stores;
  private final Coordinator coordinator;

  public WorkerApi(WorkerEnv env, ActorRef<Worker.Command> worker, Coordinator coordinator, ActorSystem<?> system) {
    this.env = env;
    this.worker = worker;
    this.coordinator = coordinator;
    this.system = system;
    this.limits = Limits.of(env.settings());
    this.localTimeout = env.settings().peerTimeout();
    this.stores = new LocalStores(env.shards(), system, localTimeout);
  }

  public String nodeId() {
    return env.self();
  }

  public Limits limits() {
    return limits;
  }

  /** A client write (value null = delete): its version is stamped here, and the key's primary coordinates it. */
  public CompletionStage<WriteOutcome> write(String key, String value) {
    limits.key(key);
    if (value != null) limits.value(value);
    return coordinator.put(key, value);
  }

  @Override
  public CompletionStage<List<WriteOutcome>> coordinate(List<Forwarded> writes) {
    for (Forwarded w : writes) {
      limits.entry(w.entry());
      if (!w.entry().versioned().isTombstone()) limits.value(w.entry().versioned().value());
    }
    List<CompletableFuture<WriteOutcome>> outcomes = new ArrayList<>(writes.size());
    for (Forwarded w : writes) outcomes.add(coordinator.coordinateForwarded(w).toCompletableFuture());
    return CompletableFuture.allOf(outcomes.toArray(new CompletableFuture[0]))
        .thenApply(v -> outcomes.stream().map(CompletableFuture::join).toList());
  }

  /** A client read at the read quorum. */
  public CompletionStage<ReadOutcome> read(String key) {
    limits.key(key);
    return coordinator.get(key);
  }

  /** This worker's own copy, tombstone included. */
  public CompletionStage<Optional<Versioned>> local(String key) {
    limits.key(key);
    return Store.read(env.shards().forKey(key), key).orTimeout(localTimeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /** This worker's own copies for another worker's read; refused while it is JOINING (it may not have them yet). */
  @Override
  public CompletionStage<List<Optional<Versioned>>> copies(List<String> keys) {
    for (String k : keys) limits.key(k);
    if (!env.servesReads().get())
      return CompletableFuture.failedFuture(new IllegalStateException(env.self() + " is JOINING: it has not received its data yet"));
    return stores.copies(keys);
  }

  @Override
  public CompletionStage<List<Applied>> replicate(List<Entry> entries) {
    for (Entry e : entries) limits.entry(e);
    return stores.replicate(entries);
  }

  @Override
  public CompletionStage<long[]> tree(Frames.TreeQuery q) {
    int width;
    try {
      width = RangeTrees.width(q.level());
    } catch (IllegalArgumentException e) {
      throw new Wire.BadInput(e.getMessage());
    }
    if ((long) q.ids().length * width > Frames.MAX_TREE_VALUES)
      throw new Wire.BadInput("at most " + Frames.MAX_TREE_VALUES + " tree values per call");
    return stores.tree(q);
  }

  @Override
  public CompletionStage<List<KeyVersion>> keyVersions(Frames.SegmentQuery q) {
    return stores.keyVersions(q);
  }

  /** The hints this worker holds for other owners, for {@code GET /status}. */
  public CompletionStage<Hints.Counts> hints() {
    return AskPattern.ask(worker, Worker.GetHints::new, localTimeout, system.scheduler());
  }

  /** Anti-entropy's state, for {@code GET /status}. */
  public CompletionStage<AntiEntropy.Report> antiEntropy() {
    return AskPattern.ask(worker, Worker.GetAntiEntropy::new, localTimeout, system.scheduler());
  }

  /** A version stamped here, for the seed's unversioned replicate. */
  public Version stampNow() {
    return new Version(env.clock().now(), env.self());
  }

  /** The controller announced a change: fetch the view from it (a view is never taken from the announcement). */
  public void syncView() {
    worker.tell(Worker.SyncView.INSTANCE);
  }

  /** The HTTP server and the link listen: register with the controller. */
  public void startServing() {
    worker.tell(Worker.Serving.INSTANCE);
  }

  /** Leaves the cluster (see {@link Worker.Leave}); bounded by LEAVE_TIMEOUT. */
  public CompletionStage<Worker.Left> leave() {
    return Stages.plain(AskPattern.<Worker.Command, Worker.Left>ask(worker, Worker.Leave::new,
        env.settings().leaveTimeout(), system.scheduler()));
  }

  public CompletionStage<StatusInfo> status() {
    var status = Stages.plain(AskPattern.<Worker.Command, Worker.Status>ask(worker, Worker.GetStatus::new, localTimeout,
        system.scheduler()));
    CompletableFuture<long[]> counts = CompletableFuture.completedFuture(new long[] {0, 0, Long.MAX_VALUE});
    for (var store : env.shards().stores()) {
      var c = Stages.plain(AskPattern.<Store.Command, Store.Counts>ask(store, Store.Count::new, localTimeout, system.scheduler()));
      counts = counts.thenCombine(c, (acc, x) -> new long[] {acc[0] + x.live(), acc[1] + x.total(), Math.min(acc[2], x.treeEpoch())});
    }
    var aae = Stages.plain(antiEntropy());
    var hinted = Stages.plain(hints());
    var all = counts;
    return CompletableFuture.allOf(status, all, aae, hinted).thenApply(v -> {
      long[] c = all.join();
      return new StatusInfo(status.join(), (int) c[0], (int) c[1], env.clock().skew(), c[2], aae.join(), hinted.join());
    });
  }
}
