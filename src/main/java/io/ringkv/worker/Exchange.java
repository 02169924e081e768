package io.ringkv.worker;

import io.ringkv.net.Frames;
import io.ringkv.ring.HashRing;
import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.KeyVersion;
import io.ringkv.storage.RangeTrees;
import io.ringkv.storage.Versioned;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * One anti-entropy exchange between two owners of some ranges, run by one of them: compare the
 * ranges' tree roots, descend into the branches and then the leaves that differ, list the keys and
 * versions of the differing segments on both sides, and copy each differing key's newer version to
 * the side that lacks it (last writer wins decides, as everywhere). One call to each side is under
 * way at a time, so an exchange loads each side with at most one request: the foreground goes first.
 *
 * <p>A range is complete when every difference found in it was repaired: the other side then held,
 * when the exchange began, nothing newer than this one, and now holds everything this side held.
 */
final class Exchange {
  /** One party: its hash trees, the keys in some segments, its copies to read, and a way to offer it copies. */
  interface Side {
    CompletionStage<long[]> tree(Frames.TreeQuery q);

    CompletionStage<List<KeyVersion>> keyVersions(Frames.SegmentQuery q);

    CompletionStage<List<Optional<Versioned>>> copies(List<String> keys);

    CompletionStage<List<Applied>> replicate(List<Entry> entries);
  }

  /**
   * What an exchange did: the ranges it could not complete, keys copied each way and per range, the
   * segments whose leaves differed, and the bytes of the calls to the other side (payloads, both
   * ways): tree nodes, key listings of the differing segments, and the copies.
   */
  record Result(int[] ranges, BitSet incomplete, int pulled, int pushed, int[] repairedPerRange, int segments,
      long treeBytes, long keyBytes, long entryBytes) {
    long bytes() {
      return treeBytes + keyBytes + entryBytes;
    }
  }

  /** The other side of an exchange: a peer over the node-to-node link (a rebalance push's deadline). */
  static Side remote(io.ringkv.net.Peers peers, io.ringkv.cluster.Member peer) {
    return new Side() {
      @Override
      public CompletionStage<long[]> tree(Frames.TreeQuery q) {
        return peers.tree(peer, q);
      }

      @Override
      public CompletionStage<List<KeyVersion>> keyVersions(Frames.SegmentQuery q) {
        return peers.keyVersions(peer, q);
      }

      @Override
      public CompletionStage<List<Optional<Versioned>>> copies(List<String> keys) {
        return peers.copies(peer, keys);
      }

      @Override
      public CompletionStage<List<Applied>> replicate(List<Entry> entries) {
        return peers.push(peer, entries);
      }
    };
  }

  /** Calls' sizes: ids per TREE call at each level, segments per KEYS call, keys per repair batch. */
  static final int ROOTS_PER_CALL = 8192;
  static final int SEGMENTS_PER_CALL = 1024;
  static final int REPAIR_BATCH = 256;

  private final Side here;
  private final Side there;
  private final long epoch;
  private final RangeTrees layout;
  private final int[] ranges;
  private final int maxRepairs;
  /** Tombstones stamped before this (hybrid timestamp) are past the grace period: see {@link #plan}. */
  private final long expiredBefore;
  private final BitSet incomplete = new BitSet();
  private final boolean pushOnly;
  private final int[] repaired;
  private int pulled;
  private int pushed;
  private int segments;
  private long treeBytes;
  private long keyBytes;
  private long entryBytes;

  private Exchange(Side here, Side there, RangeTrees layout, int[] ranges, int maxRepairs, long expiredBefore,
      boolean pushOnly) {
    this.expiredBefore = expiredBefore;
    this.pushOnly = pushOnly;
    this.here = here;
    this.there = there;
    this.epoch = layout.epoch();
    this.layout = layout;
    this.ranges = ranges;
    this.maxRepairs = maxRepairs;
    this.repaired = new int[layout.ranges()];
  }

  /**
   * Exchanges {@code ranges} (of the ring that cut {@code layout}) between {@code here} and {@code
   * there}; at most {@code maxRepairs} keys are copied (the rest wait for the next exchange, their
   * ranges incomplete), and no tombstone stamped before {@code expiredBefore} is copied to a side
   * that lacks its key. Fails if a call fails (the exchange as a whole is then incomplete).
   */
  static CompletableFuture<Result> run(Side here, Side there, RangeTrees layout, int[] ranges, int maxRepairs,
      long expiredBefore) {
    return run(here, there, layout, ranges, maxRepairs, expiredBefore, false);
  }

  /** As above; with {@code pushOnly}, nothing is copied here (a rebalance: this side may be handing the range off). */
  static CompletableFuture<Result> run(Side here, Side there, RangeTrees layout, int[] ranges, int maxRepairs,
      long expiredBefore, boolean pushOnly) {
    Exchange x = new Exchange(here, there, layout, ranges, maxRepairs, expiredBefore, pushOnly);
    return x.differing(RangeTrees.ROOTS, ranges, ROOTS_PER_CALL)
        .thenCompose(r -> x.differing(RangeTrees.BRANCHES_OF_RANGE, r, Frames.MAX_TREE_VALUES / RangeTrees.BRANCHES))
        .thenCompose(b -> x.differing(RangeTrees.LEAVES_OF_BRANCH, b, Frames.MAX_TREE_VALUES / RangeTrees.LEAVES_PER_BRANCH))
        .thenCompose(x::repairSegments)
        .thenApply(v -> new Result(ranges, x.incomplete, x.pulled, x.pushed, x.repaired, x.segments, x.treeBytes,
            x.keyBytes, x.entryBytes));
  }

  /**
   * The children of {@code ids} at {@code level} whose hashes differ between the sides: the ranges
   * for the roots, then {@code range * BRANCHES + branch}, then {@code branch * LEAVES_PER_BRANCH +
   * leaf}, which is the segment {@code range * LEAVES + leaf}.
   */
  private CompletableFuture<int[]> differing(int level, int[] ids, int perCall) {
    int width = RangeTrees.width(level);
    List<Integer> out = new ArrayList<>();
    return inChunks(ids, perCall, chunk -> {
      Frames.TreeQuery q = new Frames.TreeQuery(epoch, level, chunk);
      treeBytes += 17 + 4L * chunk.length + 8L * chunk.length * width;
      return here.tree(q).toCompletableFuture().thenCombine(there.tree(q), (mine, theirs) -> {
        if (theirs.length != mine.length) throw new IllegalStateException(theirs.length + " tree values for " + mine.length);
        for (int i = 0; i < mine.length; i++) if (mine[i] != theirs[i]) out.add(chunk[i / width] * width + i % width);
        return null;
      });
    }).thenApply(v -> out.stream().mapToInt(Integer::intValue).toArray());
  }

  /** Lists the keys of the differing segments on both sides and copies what differs, a chunk at a time. */
  private CompletableFuture<Void> repairSegments(int[] differing) {
    segments = differing.length;
    return inChunks(differing, SEGMENTS_PER_CALL, chunk -> {
      if (pulled + pushed >= maxRepairs) {
        for (int s : chunk) incomplete.set(s / RangeTrees.LEAVES);
        return CompletableFuture.completedFuture(null);
      }
      Frames.SegmentQuery q = new Frames.SegmentQuery(epoch, chunk);
      keyBytes += 13 + 4L * chunk.length;
      return here.keyVersions(q).toCompletableFuture().thenCombine(there.keyVersions(q), this::plan)
          .thenCompose(plan -> inBatches(plan[0], keys -> copy(there, here, keys, true))
              .thenCompose(v -> inBatches(plan[1], keys -> copy(here, there, keys, false))));
    });
  }

  /**
   * [keys to pull here, keys to push there]: each key whose newest version one side lacks. A
   * tombstone past the grace period does not go to a side without the key: that side purged it
   * (which it does only once every owner held it), and copying it back would only start the purge
   * over, on every owner in turn.
   */
  @SuppressWarnings("unchecked")
  private List<String>[] plan(List<KeyVersion> mine, List<KeyVersion> theirs) {
    for (KeyVersion kv : theirs) keyBytes += 15 + kv.key().length() + kv.version().node().length();
    Map<String, KeyVersion> theirMap = new HashMap<>(theirs.size() * 2);
    for (KeyVersion kv : theirs) theirMap.put(kv.key(), kv);
    List<String> pull = new ArrayList<>();
    List<String> push = new ArrayList<>();
    for (KeyVersion kv : mine) {
      KeyVersion t = theirMap.remove(kv.key());
      if (t == null ? !expired(kv) : kv.version().isNewerThan(t.version())) push.add(kv.key());
      else if (t != null && t.version().isNewerThan(kv.version())) pull.add(kv.key());
    }
    for (KeyVersion t : theirMap.values()) if (!expired(t)) pull.add(t.key());   // keys only they hold
    if (pushOnly) pull.clear();
    return new List[] {pull, push};
  }

  private boolean expired(KeyVersion kv) {
    return kv.tombstone() && kv.version().timestamp() < expiredBefore;
  }

  /** Reads {@code keys} from {@code from} and offers them to {@code to}; a copy {@code to} did not take leaves its range incomplete. */
  private CompletableFuture<Void> copy(Side from, Side to, List<String> keys, boolean pulling) {
    if (pulling) entryBytes += 8 + 4L * keys.size() + keys.stream().mapToLong(String::length).sum();
    return from.copies(keys).toCompletableFuture().thenCompose(copies -> {
      List<Entry> entries = new ArrayList<>(copies.size());
      for (int i = 0; i < keys.size(); i++) if (copies.get(i).isPresent()) entries.add(new Entry(keys.get(i), copies.get(i).get()));
      for (Entry e : entries) entryBytes += 20 + e.chars() + e.versioned().version().node().length();
      if (entries.isEmpty()) return CompletableFuture.completedFuture(null);
      return to.replicate(entries).toCompletableFuture().thenAccept(applied -> {
        if (!pulling) entryBytes += 4 + applied.size();
        for (int i = 0; i < entries.size(); i++) {
          Applied a = applied.get(i);
          int range = layout.rangeOf(HashRing.hash(entries.get(i).key()));
          if (a.outcome() == Applied.Outcome.STORED) {
            repaired[range]++;
            if (pulling) pulled++;
            else pushed++;
          } else if (!a.holds() && a.outcome() != Applied.Outcome.SUPERSEDED) {
            incomplete.set(range);
          }
        }
      });
    });
  }

  private CompletableFuture<Void> inBatches(List<String> keys, Function<List<String>, CompletableFuture<Void>> step) {
    CompletableFuture<Void> done = CompletableFuture.completedFuture(null);
    for (int i = 0; i < keys.size(); i += REPAIR_BATCH) {
      List<String> batch = keys.subList(i, Math.min(keys.size(), i + REPAIR_BATCH));
      done = done.thenCompose(v -> step.apply(batch));
    }
    return done;
  }

  /** Runs {@code step} on each chunk of {@code ids}, one after the other. */
  private static CompletableFuture<Void> inChunks(int[] ids, int perChunk, Function<int[], CompletableFuture<?>> step) {
    CompletableFuture<Void> done = CompletableFuture.completedFuture(null);
    for (int i = 0; i < ids.length; i += perChunk) {
      int[] chunk = Arrays.copyOfRange(ids, i, Math.min(ids.length, i + perChunk));
      done = done.thenCompose(v -> step.apply(chunk).thenApply(x -> null));
    }
    return done;
  }
}
