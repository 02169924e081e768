package io.ringkv.worker;

import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
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
public record RebalancePlan(List<Batch> batches, List<Handoff> handoffs, int keysToMove) {
  /** Entries bound for one target. */
  public record Batch(Member target, List<Entry> entries) {}

  /** An entry this worker stops owning: dropped once every one of {@code targets} acknowledged. */
  public record Handoff(Entry entry, Set<String> targets) {}

  /** {@code entries}: read once, in order; only the moving ones are kept (a snapshot may decode each on demand). */
  public static RebalancePlan compute(String self, ClusterView from, ClusterView to, int n, Iterable<Entry> entries,
      int batchSize) {
    Map<String, List<Entry>> perTarget = new LinkedHashMap<>();
    List<Handoff> handoffs = new ArrayList<>();
    int moving = 0;
    for (Entry e : entries) {
      List<String> newOwners = to.ownerIds(e.key(), n);
      if (newOwners.isEmpty()) continue;                 // nobody to hand to: keep everything
      List<String> oldOwners = stillHolding(from.ownerIds(e.key(), n), from, to);
      boolean selfOld = oldOwners.contains(self);
      boolean selfNew = newOwners.contains(self);
      List<String> gained = new ArrayList<>(newOwners);
      if (selfOld) gained.removeAll(oldOwners);
      if (selfNew) {
        if (!selfOld || gained.isEmpty()) continue;
        if (self.equals(pusher(oldOwners, newOwners, to))) moving++;
      } else {
        handoffs.add(new Handoff(e, Set.copyOf(gained)));
        if (gained.isEmpty()) continue;
        moving++;
      }
      for (String g : gained) perTarget.computeIfAbsent(g, k -> new ArrayList<>()).add(e);
    }
    List<Batch> batches = new ArrayList<>();
    perTarget.forEach((target, list) -> {
      Member m = to.member(target);
      for (int i = 0; i < list.size(); i += batchSize)
        batches.add(new Batch(m, List.copyOf(list.subList(i, Math.min(list.size(), i + batchSize)))));
    });
    return new RebalancePlan(List.copyOf(batches), List.copyOf(handoffs), moving);
  }

  /** Old owners minus those that restarted in between (a new instance lost its in-memory copy). */
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
