package io.ringkv.worker;

import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.ring.HashRing;
import io.ringkv.storage.Entry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one worker must push when the view changes from {@code from} to {@code to}: a pure function
 * of the two views and the entries it holds.
 *
 * <p>For each key, the owners gained are {@code new owners - old owners}. Every surviving old owner
 * pushes the key to the gained owners, and one that is no longer an owner (a "loser") drops its
 * copy once they acknowledged. All of them push because any one of them may hold a stale copy (it
 * missed a write that the quorum acknowledged without it): a gained owner keeps the newest copy it
 * receives, so an acknowledged write that survives on a single old owner is not lost when the view
 * changes. {@link #keysToMove} counts each moving key once (at the loser, or else at the first
 * surviving old owner). Keys whose owners did not change are not touched (minimal movement). A key
 * this worker holds without being an old owner (a stray) goes to every new owner.
 */
public record RebalancePlan(List<Batch> batches, List<Handoff> handoffs, int keysToMove, Map<String, int[]> exchanges) {
  /** The most key and value characters one batch carries (with 1 MiB values, 512 of them would be 512 MiB). */
  static final long BATCH_BYTES = 4L << 20;


  /** Entries bound for one target. */
  public record Batch(Member target, List<Entry> entries) {}

  /** An entry this worker stops owning: dropped once every one of {@code targets} acknowledged. */
  public record Handoff(Entry entry, Set<String> targets) {}

  /**
   * Which targets hold data in which ranges of the new view's ring. An owner that restarted (it owned
   * the key before, with another instance) and holds data in the key's range is brought in line by an
   * exchange of hash trees ({@link Exchange}), which sends only what differs, instead of a push of
   * every key: a worker back from a restart with its data directory gets only what it missed.
   */
  public interface Synced {
    Synced NONE = (target, range) -> false;

    boolean test(String target, int range);
  }

  /** A plan that pushes every moving key. */
  public static RebalancePlan compute(String self, ClusterView from, ClusterView to, int n, Iterable<Entry> entries,
      int batchSize) {
    return compute(self, from, to, n, entries, batchSize, Synced.NONE);
  }

  /**
   * {@code entries}: read once, in order; only the moving ones are kept (a snapshot may decode each on
   * demand). A key bound for a target that {@code synced} says holds data in the key's range (of
   * {@code to}'s ring) is not pushed: the plan lists that range under the target in {@link #exchanges}.
   */
  public static RebalancePlan compute(String self, ClusterView from, ClusterView to, int n, Iterable<Entry> entries,
      int batchSize, Synced synced) {
    long[] tokens = synced == Synced.NONE ? null : to.ring().tokens();
    Map<String, java.util.TreeSet<Integer>> exchanged = new java.util.TreeMap<>();
    Map<String, List<Entry>> perTarget = new LinkedHashMap<>();
    List<Handoff> handoffs = new ArrayList<>();
    int moving = 0;
    Stretches stretches = new Stretches(self, from, to, n);
    for (Entry e : entries) {
      Decision d = stretches.decide(e.key());
      if (d == null) continue;
      if (d.handoff() != null) handoffs.add(new Handoff(e, d.handoff()));
      boolean pushed = false;
      int range = tokens == null || tokens.length == 0 ? -1 : HashRing.firstAtOrAfter(tokens, HashRing.hash(e.key()));
      for (String g : d.gained()) {
        if (range >= 0 && d.returning().contains(g) && synced.test(g, range)) {
          exchanged.computeIfAbsent(g, k -> new java.util.TreeSet<>()).add(range);
        } else {
          perTarget.computeIfAbsent(g, k -> new ArrayList<>()).add(e);
          pushed = true;
        }
      }
      if (d.counts() && pushed) moving++;
    }
    List<Batch> batches = new ArrayList<>();
    perTarget.forEach((target, list) -> {
      Member m = to.member(target);
      int start = 0;
      long bytes = 0;
      for (int i = 0; i < list.size(); i++) {
        long size = list.get(i).chars();
        // at most batchSize entries and BATCH_BYTES of keys and values (a larger entry goes alone)
        if (i > start && (i - start == batchSize || bytes + size > BATCH_BYTES)) {
          batches.add(new Batch(m, List.copyOf(list.subList(start, i))));
          start = i;
          bytes = 0;
        }
        bytes += size;
      }
      if (start < list.size()) batches.add(new Batch(m, List.copyOf(list.subList(start, list.size()))));
    });
    Map<String, int[]> exchanges = new java.util.TreeMap<>();
    exchanged.forEach((target, ranges) -> exchanges.put(target, ranges.stream().mapToInt(Integer::intValue).toArray()));
    return new RebalancePlan(List.copyOf(batches), List.copyOf(handoffs), moving, Map.copyOf(exchanges));
  }

  /**
   * What to do with a key: push it to {@code gained}; hand it off to {@code handoff} (null: keep it);
   * count it as moved. {@code returning}: the gained owners that owned it before too, with another
   * instance (restarted since): they may hold it still.
   */
  private record Decision(List<String> gained, Set<String> handoff, boolean counts, Set<String> returning) {}

  /**
   * The decision for every stretch of the ring between two consecutive tokens of either view: all
   * keys whose hash falls in one stretch have the same owners in both views, so a key costs a hash and
   * a binary search instead of two preference lists and their set arithmetic (a million keys on a
   * busy worker planned in 36 s before, most of it in those lists).
   */
  private static final class Stretches {
    private final long[] bounds;
    private final Decision[] decisions;

    Stretches(String self, ClusterView from, ClusterView to, int n) {
      bounds = HashRing.boundaries(from.ring(), to.ring());
      decisions = new Decision[bounds.length];
      for (int i = 0; i < bounds.length; i++)
        decisions[i] = decide(self, from, to, from.ring().preferenceListForHash(bounds[i], n),
            to.ring().preferenceListForHash(bounds[i], n));
    }

    Decision decide(String key) {
      if (bounds.length == 0) return null;
      return decisions[HashRing.firstAtOrAfter(bounds, HashRing.hash(key))];
    }

    private static Decision decide(String self, ClusterView from, ClusterView to, List<String> oldRaw, List<String> newOwners) {
      if (newOwners.isEmpty()) return null;                 // nobody to hand to: keep everything
      List<String> oldOwners = stillHolding(oldRaw, from, to);
      boolean selfOld = oldOwners.contains(self);
      boolean selfNew = newOwners.contains(self);
      List<String> gained = new ArrayList<>(newOwners);
      if (selfOld) gained.removeAll(oldOwners);
      Set<String> returning = new java.util.HashSet<>(gained);
      returning.retainAll(oldRaw);
      if (selfNew) {
        if (!selfOld || gained.isEmpty()) return null;
        return new Decision(List.copyOf(gained), null, self.equals(pusher(oldOwners, newOwners, to)), Set.copyOf(returning));
      }
      return new Decision(List.copyOf(gained), Set.copyOf(gained), !gained.isEmpty(), Set.copyOf(returning));
    }
  }

  /** Old owners minus those that restarted in between (a new instance may have missed writes, or lost its copy in memory mode). */
  private static List<String> stillHolding(List<String> oldOwners, ClusterView from, ClusterView to) {
    List<String> out = null;
    for (int i = 0; i < oldOwners.size(); i++) {
      Member before = from.member(oldOwners.get(i));
      Member now = to.member(oldOwners.get(i));
      boolean restarted = now != null && now.instance() != null && before.instance() != null
          && !now.instance().equals(before.instance());
      if (restarted && out == null) out = new ArrayList<>(oldOwners.subList(0, i));
      else if (!restarted && out != null) out.add(oldOwners.get(i));
    }
    return out == null ? oldOwners : out;
  }

  /** The surviving old owner that counts the key as moved when no surviving old owner loses it. */
  private static String pusher(List<String> oldOwners, List<String> newOwners, ClusterView to) {
    String first = null;
    for (String o : oldOwners) {
      if (!to.isUp(o)) continue;
      if (!newOwners.contains(o)) return null;   // a loser exists: it hands the key over
      if (first == null) first = o;
    }
    return first;
  }
}
