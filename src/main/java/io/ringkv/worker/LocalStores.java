package io.ringkv.worker;

import io.ringkv.net.Frames;
import io.ringkv.ring.HashRing;
import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.KeyVersion;
import io.ringkv.storage.KvStore;
import io.ringkv.storage.RangeTrees;
import io.ringkv.storage.Versioned;
import io.ringkv.util.Stages;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * This worker's own copies, as CompletionStages over its store shards: each call is split by shard,
 * each shard is asked once, and the answers are put back in order. What the node-to-node link
 * serves and what anti-entropy's local side uses; no limits are checked here (see {@link WorkerApi}).
 */
final class LocalStores implements Exchange.Side {
  private final Shards shards;
  private final ActorSystem<?> system;
  private final Duration timeout;
  private final Executor blocking;

  LocalStores(Shards shards, ActorSystem<?> system, Duration timeout) {
    this.shards = shards;
    this.system = system;
    this.timeout = timeout;
    this.blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
  }

  @Override
  public CompletionStage<List<Applied>> replicate(List<Entry> entries) {
    return perShard(entries, Entry::key, (store, part) -> bounded(Store.apply(store, part)));
  }

  @Override
  public CompletionStage<List<Optional<Versioned>>> copies(List<String> keys) {
    return perShard(keys, Function.identity(), (store, part) -> {
      CompletableFuture<Store.ReadManyReply> reply = new CompletableFuture<>();
      store.tell(new Store.ReadMany(part, reply::complete));
      return bounded(reply.thenApply(Store.ReadManyReply::values));
    });
  }

  /** The hash trees' nodes, XORed over the shards (each holds its keys' share); fails unless every shard is at the epoch. */
  @Override
  public CompletionStage<long[]> tree(Frames.TreeQuery q) {
    CompletableFuture<long[]> sum = CompletableFuture.completedFuture(new long[q.ids().length * RangeTrees.width(q.level())]);
    for (var store : shards.stores()) {
      sum = sum.thenCombine(this.<Store.TreeReply>ask(store, r -> new Store.TreeValues(q.epoch(), q.level(), q.ids(), r)), (acc, part) -> {
        if (part.problem() != null) throw new io.ringkv.net.Wire.BadInput(part.problem());
        if (part.values() == null)
          throw new IllegalStateException("the hash trees here are at epoch " + part.treeEpoch() + ", not " + q.epoch());
        for (int i = 0; i < acc.length; i++) acc[i] ^= part.values()[i];
        return acc;
      });
    }
    return sum;
  }

  /** The keys and versions in the asked segments: every shard's entries, filtered off the store actors. */
  @Override
  public CompletionStage<List<KeyVersion>> keyVersions(Frames.SegmentQuery q) {
    int[] wanted = q.segments().clone();
    Arrays.sort(wanted);
    List<CompletableFuture<Store.ListingReply>> parts = new ArrayList<>();
    for (var store : shards.stores()) parts.add(this.<Store.ListingReply>ask(store, r -> new Store.Listing(q.epoch(), r)));
    return CompletableFuture.allOf(parts.toArray(new CompletableFuture[0])).thenApplyAsync(v -> {
      List<KeyVersion> out = new ArrayList<>();
      for (var p : parts) {
        Store.ListingReply reply = p.join();
        if (reply.entries() == null)
          throw new IllegalStateException("the hash trees here are at epoch " + reply.treeEpoch() + ", not " + q.epoch());
        KvStore.Snapshot snap = reply.entries();
        RangeTrees ranges = reply.ranges();
        for (int i = 0; i < snap.size(); i++)
          if (Arrays.binarySearch(wanted, ranges.segmentOf(HashRing.hash(snap.key(i)))) >= 0) out.add(snap.keyVersion(i));
      }
      return out;
    }, blocking);
  }

  /** A store's callback reply (see {@link Store.Apply}), bounded by the timeout like an ask. */
  private <T> CompletableFuture<T> bounded(CompletableFuture<T> reply) {
    return reply.orTimeout(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  private <T> CompletableFuture<T> ask(ActorRef<Store.Command> store, Function<ActorRef<T>, Store.Command> message) {
    // a plain stage, not context.ask: its reply would hop threads (see Stages)
    return Stages.plain(AskPattern.ask(store, message::apply, timeout, system.scheduler()));
  }

  /** Splits {@code items} by store shard, asks each shard once for its part, and puts the answers back in order. */
  private <I, R> CompletionStage<List<R>> perShard(List<I> items, Function<I, String> key,
      BiFunction<ActorRef<Store.Command>, List<I>, CompletionStage<List<R>>> ask) {
    Map<ActorRef<Store.Command>, List<Integer>> at = new HashMap<>();
    for (int i = 0; i < items.size(); i++) at.computeIfAbsent(shards.forKey(key.apply(items.get(i))), k -> new ArrayList<>()).add(i);
    List<R> out = new ArrayList<>(Collections.nCopies(items.size(), null));
    CompletableFuture<Void> all = CompletableFuture.completedFuture(null);
    for (var part : at.entrySet()) {
      List<Integer> indexes = part.getValue();
      List<I> asked = indexes.stream().map(items::get).toList();
      // each part fills its own indexes; thenCombine runs the fills one after another
      all = all.thenCombine(ask.apply(part.getKey(), asked), (v, answers) -> {
        for (int j = 0; j < indexes.size(); j++) out.set(indexes.get(j), answers.get(j));
        return null;
      });
    }
    return all.thenApply(v -> Collections.unmodifiableList(out));
  }
}
