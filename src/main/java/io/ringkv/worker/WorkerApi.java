package io.ringkv.worker;

import io.ringkv.cluster.ClusterView;
import io.ringkv.net.Peers.WriteResult;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import io.ringkv.util.Stages;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * A worker's operations as CompletionStages, one ask each: what its HTTP routes serve and what the
 * in-memory transport of the simulations calls directly.
 */
public final class WorkerApi {
  /** A worker's state for {@code GET /status}. */
  public record StatusInfo(Worker.Status worker, int liveKeys, int storedEntries) {}

  private final WorkerEnv env;
  private final ActorRef<Worker.Command> worker;
  private final ActorSystem<?> system;
  private final Duration writeTimeout;
  private final Duration localTimeout;

  public WorkerApi(WorkerEnv env, ActorRef<Worker.Command> worker, ActorSystem<?> system) {
    this.env = env;
    this.worker = worker;
    this.system = system;
    // forwarding to the primary, then coordinating here if the primary is gone, each within the request timeout
    this.writeTimeout = env.settings().requestTimeout().multipliedBy(2).plus(env.settings().peerTimeout());
    this.localTimeout = env.settings().peerTimeout();
  }

  public String nodeId() {
    return env.self();
  }

  /** A client write (value null = delete), routed to the key's primary unless {@code forwarded}. */
  public CompletionStage<WriteResult> write(String key, String value, boolean forwarded) {
    return AskPattern.ask(worker, r -> new Worker.Put(key, value, forwarded, r), writeTimeout, system.scheduler());
  }

  /** A client read at the read quorum. */
  public CompletionStage<ReadResult> read(String key) {
    return AskPattern.ask(worker, r -> new Worker.Get(key, r), writeTimeout, system.scheduler());
  }

  /** This worker's own copy, tombstone included. */
  public CompletionStage<Optional<Versioned>> local(String key) {
    return Stages.plain(AskPattern.<Store.Command, Store.ReadReply>ask(env.shards().forKey(key), r -> new Store.Read(key, r),
        localTimeout, system.scheduler())).thenApply(Store.ReadReply::value);
  }

  /** This worker's own copies of several keys, in the order asked: one ask per shard, not per key. */
  public CompletionStage<List<Optional<Versioned>>> localMany(List<String> keys) {
    Map<ActorRef<Store.Command>, List<Integer>> perShard = new HashMap<>();
    for (int i = 0; i < keys.size(); i++) perShard.computeIfAbsent(env.shards().forKey(keys.get(i)), k -> new ArrayList<>()).add(i);
    List<Optional<Versioned>> out = new ArrayList<>(java.util.Collections.nCopies(keys.size(), Optional.empty()));
    CompletableFuture<Void> all = CompletableFuture.completedFuture(null);
    for (var part : perShard.entrySet()) {
      List<Integer> at = part.getValue();
      List<String> asked = at.stream().map(keys::get).toList();
      var reply = Stages.plain(AskPattern.<Store.Command, Store.ReadManyReply>ask(part.getKey(),
          r -> new Store.ReadMany(asked, r), localTimeout, system.scheduler()));
      // each part fills its own indexes; thenCombine runs the fills one after another
      all = all.thenCombine(reply, (v, r) -> {
        for (int j = 0; j < at.size(); j++) out.set(at.get(j), r.values().get(j));
        return null;
      });
    }
    return all.thenApply(v -> List.copyOf(out));
  }

  /** Applies replicas, each to its shard; completes with how many were newer than what was here. */
  public CompletionStage<Integer> replicate(List<Entry> entries) {
    Map<ActorRef<Store.Command>, List<Entry>> perShard = new HashMap<>();
    for (Entry e : entries) perShard.computeIfAbsent(env.shards().forKey(e.key()), k -> new ArrayList<>()).add(e);
    CompletableFuture<Integer> total = CompletableFuture.completedFuture(0);
    for (var part : perShard.entrySet()) {
      List<Entry> batch = List.copyOf(part.getValue());
      var applied = Stages.plain(AskPattern.<Store.Command, Store.Applied>ask(part.getKey(), r -> new Store.Apply(batch, r),
          localTimeout, system.scheduler()));
      total = total.thenCombine(applied, (sum, a) -> sum + a.count());
    }
    return total;
  }

  /** A version stamped here, for the seed's unversioned replicate. */
  public Version stampNow() {
    return new Version(env.clock().now(), env.self());
  }

  public void applyView(ClusterView view) {
    worker.tell(new Worker.ViewChanged(view));
  }

  public void syncView() {
    worker.tell(Worker.SyncView.INSTANCE);
  }

  /** Leaves the cluster (see {@link Worker.Leave}); bounded by LEAVE_TIMEOUT. */
  public CompletionStage<Worker.Left> leave() {
    return Stages.plain(AskPattern.<Worker.Command, Worker.Left>ask(worker, Worker.Leave::new,
        env.settings().leaveTimeout(), system.scheduler()));
  }

  public CompletionStage<StatusInfo> status() {
    var status = Stages.plain(AskPattern.<Worker.Command, Worker.Status>ask(worker, Worker.GetStatus::new, localTimeout,
        system.scheduler()));
    CompletableFuture<int[]> counts = CompletableFuture.completedFuture(new int[2]);
    for (var store : env.shards().stores()) {
      var c = Stages.plain(AskPattern.<Store.Command, Store.Counts>ask(store, Store.Count::new, localTimeout, system.scheduler()));
      counts = counts.thenCombine(c, (acc, x) -> new int[] {acc[0] + x.live(), acc[1] + x.total()});
    }
    return status.thenCombine(counts, (s, c) -> new StatusInfo(s, c[0], c[1]));
  }
}
