package io.ringkv.worker;

import io.ringkv.cluster.ClusterView;
import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.util.Stages;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Moves this worker's data after a view change: snapshots the store shards, plans the transfers
 * off the actor ({@link RebalancePlan}), pushes the batches as a Pekko Stream with bounded
 * parallelism and retries, then drops the keys it handed off once their new owners acknowledged.
 * A newer view cancels the run in flight and starts over from the last completed view; one plan is
 * computed at a time (the views that arrive meanwhile coalesce into the newest).
 */
public final class Rebalancer extends AbstractBehavior<Rebalancer.Command> {
  public sealed interface Command {}

  /** Bring the data from what {@code from} placed here to what {@code to} asks. */
  public record Start(ClusterView from, ClusterView to) implements Command {}

  /** Sent to the worker when a run ends. */
  public record Finished(ClusterView to, boolean complete, int keysMoved, int keysDropped) {}

  /** A plan, or why there is none ({@code failure} non-null). */
  private record Planned(long run, ClusterView to, RebalancePlan plan, Throwable failure) implements Command {}

  private record Pushed(long run, ClusterView to, RebalancePlan plan, Set<String> failedTargets) implements Command {}

  /** The exchanges of the plan ran after its pushes: the targets that failed either, and the keys the exchanges copied. */
  private record Exchanged(long run, ClusterView to, RebalancePlan plan, Set<String> failedTargets, int copied)
      implements Command {}

  private record RunFailed(long run, ClusterView to, Throwable cause) implements Command {}

  public static Behavior<Command> create(WorkerEnv env, ActorRef<Finished> reportTo, RebalanceProgress progress) {
    return Behaviors.setup(ctx -> new Rebalancer(ctx, env, reportTo, progress));
  }

  private static final int PUSH_ATTEMPTS = 5;
  private static final int PROBE_ATTEMPTS = 5;
  private final WorkerEnv env;
  private final ActorRef<Finished> reportTo;
  private final Materializer materializer;
  private final Executor planner;
  private final LocalStores local;
  private final RebalanceProgress progress;
  /** When the run under way started (System.nanoTime), for its log line. */
  private long runStarted;
  private long run;
  private UniqueKillSwitch inFlight;
  /** A snapshot is being planned; {@link #queued}: the newest Start that came meanwhile. */
  private boolean planning;
  private Start queued;

  private Rebalancer(ActorContext<Command> ctx, WorkerEnv env, ActorRef<Finished> reportTo, RebalanceProgress progress) {
    super(ctx);
    this.progress = progress;
    this.env = env;
    this.reportTo = reportTo;
    this.materializer = Materializer.createMaterializer(ctx);
    this.planner = ctx.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
    this.local = new LocalStores(env.shards(), ctx.getSystem(), env.settings().peerTimeout());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Start.class, this::onStart)
        .onMessage(Planned.class, this::onPlanned)
        .onMessage(Pushed.class, this::onPushed)
        .onMessage(Exchanged.class, this::onExchanged)
        .onMessage(RunFailed.class, this::onRunFailed)
        .build();
  }

  private Behavior<Command> onStart(Start s) {
    cancelInFlight();
    if (planning) {
      // one plan at a time: views that come faster than plans (a flapping member) would each hold
      // a snapshot's worth of entries at once; only the newest is planned next
      queued = s;
      run++;   // the plan under way is obsolete
      return this;
    }
    planning = true;
    long thisRun = ++run;
    runStarted = System.nanoTime();
    getContext().getLog().info("rebalance {} starting: epoch {} -> {}", thisRun, s.from().epoch(), s.to().epoch());
    // the snapshots' entries are decoded and planned on the blocking dispatcher, off the store actors
    CompletionStage<RebalancePlan.Synced> synced = probe(s.to());
    CompletionStage<RebalancePlan> plan = snapshot().thenCombine(synced, Map::entry).thenApplyAsync(x -> RebalancePlan.compute(
        env.self(), s.from(), s.to(), env.settings().replicationFactor(), concat(x.getKey()), env.settings().rebalanceBatch(),
        x.getValue()), planner);
    getContext().pipeToSelf(plan, (p, err) -> new Planned(thisRun, s.to(), p, err));
    return this;
  }

  /**
   * The roots of every other UP worker's hash trees at the new view: a target whose tree of a range is
   * not empty holds data there (it is back from a restart or an outage with its data), and gets only
   * what differs, through an exchange. A worker that cannot answer (not at that view yet after a few
   * tries) is treated as empty: it gets every key.
   */
  private CompletionStage<RebalancePlan.Synced> probe(ClusterView to) {
    int ranges = to.ring().tokens().length;
    if (ranges == 0) return CompletableFuture.completedFuture(RebalancePlan.Synced.NONE);
    var scheduler = Adapter.toClassic(getContext().getSystem()).scheduler();
    var ec = getContext().getExecutionContext();
    Map<String, CompletableFuture<long[]>> roots = new HashMap<>();
    for (var m : to.members().values()) {
      if (!m.isUp() || m.id().equals(env.self())) continue;
      // the roots of every range, a call per ROOTS_PER_CALL of them, each tried again while the peer is not at the view yet
      CompletableFuture<long[]> all = CompletableFuture.completedFuture(new long[ranges]);
      for (int from = 0; from < ranges; from += Exchange.ROOTS_PER_CALL) {
        int[] ids = java.util.stream.IntStream.range(from, Math.min(ranges, from + Exchange.ROOTS_PER_CALL)).toArray();
        var q = new io.ringkv.net.Frames.TreeQuery(to.epoch(), io.ringkv.storage.RangeTrees.ROOTS, ids);
        all = all.thenCompose(acc -> Stages.plain(Patterns.retry(() -> env.peers().tree(m, q), PROBE_ATTEMPTS,
            Duration.ofMillis(200), scheduler, ec)).thenApply(part -> {
              if (part.length != ids.length) throw new IllegalStateException(m.id() + " answered " + part.length + " roots for " + ids.length);
              System.arraycopy(part, 0, acc, ids[0], part.length);
              return acc;
            }));
      }
      roots.put(m.id(), all.exceptionally(err -> null));
    }
    return CompletableFuture.allOf(roots.values().toArray(new CompletableFuture[0])).thenApply(v -> {
      Map<String, long[]> known = new HashMap<>();
      roots.forEach((id, f) -> {
        long[] r = f.join();
        if (r != null) known.put(id, r);
      });
      return (target, range) -> {
        long[] r = known.get(target);
        return r != null && r[range] != 0;
      };
    });
  }

  /** Every shard's snapshot (lazy lists: see {@code KvStore.snapshot}). */
  private CompletionStage<List<List<Entry>>> snapshot() {
    List<CompletableFuture<Store.SnapshotReply>> parts = new ArrayList<>();
    for (var store : env.shards().stores())
      parts.add(Stages.plain(AskPattern.<Store.Command, Store.SnapshotReply>ask(store, Store.Snapshot::new,
          Duration.ofSeconds(30), getContext().getSystem().scheduler())));
    return CompletableFuture.allOf(parts.toArray(new CompletableFuture[0]))
        .thenApply(v -> parts.stream().map(p -> p.join().entries()).toList());
  }

  /** The shards' snapshots one after the other, without copying them (each entry is decoded as it is read). */
  private static Iterable<Entry> concat(List<List<Entry>> parts) {
    return () -> new java.util.Iterator<>() {
      private int part;
      private int i;

      @Override
      public boolean hasNext() {
        while (part < parts.size() && i == parts.get(part).size()) {
          part++;
          i = 0;
        }
        return part < parts.size();
      }

      @Override
      public Entry next() {
        if (!hasNext()) throw new java.util.NoSuchElementException();
        return parts.get(part).get(i++);
      }
    };
  }

  private Behavior<Command> onPlanned(Planned p) {
    planning = false;
    if (queued != null) {
      Start next = queued;
      queued = null;
      return onStart(next);
    }
    if (p.run() != run) return this;
    if (p.failure() != null) return onRunFailed(new RunFailed(p.run(), p.to(), p.failure()));
    RebalancePlan plan = p.plan();
    if (plan.batches().isEmpty()) return onPushed(new Pushed(p.run(), p.to(), plan, Set.of()));
    getContext().getLog().info("rebalance {}: pushing {} keys in {} batches{}", p.run(), plan.keysToMove(), plan.batches().size(),
        plan.exchanges().isEmpty() ? "" : "; exchanging trees with " + plan.exchanges().keySet());
    var scheduler = Adapter.toClassic(getContext().getSystem()).scheduler();
    var ec = getContext().getExecutionContext();
    progress.start(plan.batches().stream().mapToLong(b -> b.entries().size()).sum(), env.clock().wallMillis());
    Source<RebalancePlan.Batch, NotUsed> batches = Source.from(plan.batches());
    int maxRate = env.settings().rebalanceMaxRate();
    if (maxRate > 0) batches = batches.throttle(maxRate, Duration.ofSeconds(1), b -> b.entries().size());
    var pair = batches
        .viaMat(KillSwitches.single(), Keep.right())
        .mapAsyncUnordered(env.settings().rebalanceParallelism(), batch ->
            Stages.plain(Patterns.retry(() -> pushed(batch), PUSH_ATTEMPTS, Duration.ofMillis(200), scheduler, ec))
                .handle((ok, err) -> {
                  if (err != null) return batch.target().id();
                  progress.pushed(batch.entries().size());
                  return "";
                }))
        .toMat(Sink.<Set<String>, String>fold(new HashSet<>(), (failed, t) -> {
          if (!t.isEmpty()) failed.add(t);
          return failed;
        }), Keep.both())
        .run(materializer);
    inFlight = pair.first();
    long thisRun = p.run();
    getContext().pipeToSelf(Stages.plain(pair.second()),
        (failed, err) -> err == null ? new Pushed(thisRun, p.to(), plan, failed) : new RunFailed(thisRun, p.to(), err));
    return this;
  }

  /**
   * A batch pushed; it fails unless the target holds every entry now (stored, already there, or a
   * newer version there): a target whose clock refused an entry as too far ahead, or that could not
   * store it (its disk), does not have it, so this worker must keep its copy.
   */
  private CompletionStage<List<Applied>> pushed(RebalancePlan.Batch batch) {
    return env.peers().push(batch.target(), batch.entries()).thenApply(applied -> {
      if (applied.stream().anyMatch(a -> !a.holds() && a.outcome() != Applied.Outcome.SUPERSEDED))
        throw new IllegalStateException(batch.target().id() + " refused entries (too far ahead of its clock, or not stored)");
      return applied;
    });
  }

  /** The pushes are done: the exchanges of the plan follow, one target after the other, pushing only. */
  private Behavior<Command> onPushed(Pushed p) {
    if (p.run() != run) return this;
    inFlight = null;
    if (p.plan().exchanges().isEmpty()) return onExchanged(new Exchanged(p.run(), p.to(), p.plan(), p.failedTargets(), 0));
    io.ringkv.storage.RangeTrees layout = new io.ringkv.storage.RangeTrees(p.to().epoch(), p.to().ring().tokens());
    long expiredBefore = io.ringkv.storage.HybridClock.fromMillis(env.clock().wallMillis() - env.settings().tombstoneTtl().toMillis());
    Set<String> failed = new java.util.HashSet<>(p.failedTargets());
    int[] copied = new int[1];
    CompletableFuture<Void> chain = CompletableFuture.completedFuture(null);
    for (var e : p.plan().exchanges().entrySet()) {
      var target = p.to().member(e.getKey());
      chain = chain.thenCompose(v -> Exchange.run(local, Exchange.remote(env.peers(), target), layout, e.getValue(),
          Integer.MAX_VALUE, expiredBefore, true).handle((r, err) -> {
            if (err != null || !r.incomplete().isEmpty()) failed.add(e.getKey());
            else copied[0] += r.pushed();
            return null;
          }));
    }
    long thisRun = p.run();
    getContext().pipeToSelf(chain, (v, err) -> new Exchanged(thisRun, p.to(), p.plan(), failed, copied[0]));
    return this;
  }

  private Behavior<Command> onExchanged(Exchanged p) {
    if (p.run() != run) return this;
    Map<Integer, List<Entry>> dropsPerShard = new HashMap<>();
    int dropped = 0;
    for (RebalancePlan.Handoff h : p.plan().handoffs()) {
      if (h.targets().stream().anyMatch(p.failedTargets()::contains)) continue;
      int shard = env.shards().stores().indexOf(env.shards().forKey(h.entry().key()));
      dropsPerShard.computeIfAbsent(shard, k -> new ArrayList<>()).add(h.entry());
      dropped++;
    }
    dropsPerShard.forEach((shard, entries) -> env.shards().stores().get(shard)
        .tell(new Store.DropIfUnchanged(List.copyOf(entries), getContext().getSystem().ignoreRef())));
    boolean complete = p.failedTargets().isEmpty();
    long ms = (System.nanoTime() - runStarted) / 1_000_000;
    if (complete) getContext().getLog().info("rebalance {} done in {} ms: {} keys pushed, {} copied by tree exchanges, {} handed off",
        p.run(), ms, p.plan().keysToMove(), p.copied(), dropped);
    else getContext().getLog().warn("rebalance {} incomplete after {} ms: could not reach {}", p.run(), ms, p.failedTargets());
    reportTo.tell(new Finished(p.to(), complete, p.plan().keysToMove() + p.copied(), dropped));
    return this;
  }

  private Behavior<Command> onRunFailed(RunFailed f) {
    if (f.run() != run) return this;
    inFlight = null;
    getContext().getLog().warn("rebalance {} failed: {}", f.run(), f.cause().toString());
    reportTo.tell(new Finished(f.to(), false, 0, 0));
    return this;
  }

  private void cancelInFlight() {
    if (inFlight != null) {
      inFlight.shutdown();
      inFlight = null;
    }
  }
}
