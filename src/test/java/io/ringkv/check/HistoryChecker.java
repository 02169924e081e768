package io.ringkv.check;

import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Checks a {@link History} (plus per-node samples and the final state) for the promises of a
 * Dynamo-style store with W + R > N:
 * <ul>
 *   <li><b>No acknowledged write is lost.</b> For an acked PUT of version v, every worker's final
 *   read returns v with the value written, or a version newer than v (a value or a tombstone); a
 *   final "not found" without a version is accepted only when a DELETE of the key could be newer
 *   (an acked one with a newer version, or one whose version is unknown because it was not acked).
 *   For an acked DELETE of version d, no worker's final read returns a version older than d
 *   (a resurrected delete).</li>
 *   <li><b>Versions never go backwards on a node</b> within one incarnation: the samples of one
 *   node's copy of one key, in time order, never step to an older version. A sample with no copy
 *   ends the chain: a node legitimately drops keys it handed off (and purges old tombstones), and
 *   may receive them again later.</li>
 *   <li><b>Stale reads</b> (a figure): a GET answered 200 or 404 whose version is older than the
 *   newest write acknowledged before the GET was sent; a 404 without a version counts as stale when
 *   that newest write is a PUT and no DELETE sent before the GET's answer could be newer.</li>
 * </ul>
 * Runs in O(ops log ops) plus one final read per (key written and acked, worker).
 */
public final class HistoryChecker {
  /** How many findings of each kind the report spells out. */
  public static final int MAX_DETAILS = 20;

  private HistoryChecker() {}

  /**
   * @param history     the client operations
   * @param samples     per-node raw copies sampled during (and after) the run; may be empty
   * @param finalState  the settled cluster, read through each worker
   * @param n           the replication factor (copies each key should have)
   */
  public static Report check(History history, List<Observation> samples, FinalState finalState, int n) {
    List<Op> ops = history.ops();
    long puts = 0, deletes = 0, gets = 0, acked = 0, reads = 0, indeterminate = 0;
    TreeMap<Integer, Long> failed = new TreeMap<>();
    Map<String, KeyOps> perKey = new HashMap<>();
    for (Op op : ops) {
      switch (op.type()) {
        case PUT -> puts++;
        case DELETE -> deletes++;
        case GET -> gets++;
      }
      if (op.indeterminate()) indeterminate++;
      else if (op.acknowledgedWrite()) acked++;
      else if (op.definiteRead()) reads++;
      else failed.merge(op.status(), 1L, Long::sum);
      perKey.computeIfAbsent(op.key(), k -> new KeyOps()).add(op);
    }

    Findings lost = new Findings();
    Findings resurrected = new Findings();
    long finalReads = checkFinal(perKey, finalState, lost, resurrected);
    Findings stale = new Findings();
    for (Map.Entry<String, KeyOps> e : perKey.entrySet()) checkReads(e.getValue(), stale);
    Findings backwards = checkSamples(samples);
    long below = keysBelowN(perKey, samples, n);

    List<String> lostLines = new ArrayList<>(lost.lines);
    for (String s : resurrected.lines) if (lostLines.size() < MAX_DETAILS) lostLines.add(s);
    return new Report(ops.size(), puts, deletes, gets, acked, reads, failed, indeterminate,
        lost.count, resurrected.count, List.copyOf(lostLines), backwards.count, List.copyOf(backwards.lines),
        stale.count, List.copyOf(stale.lines), n, below, finalReads);
  }

  // ---- acknowledged writes against the final state

  private static long checkFinal(Map<String, KeyOps> perKey, FinalState state, Findings lost, Findings resurrected) {
    List<String> keys = new ArrayList<>();
    for (Map.Entry<String, KeyOps> e : perKey.entrySet()) if (!e.getValue().ackedWrites.isEmpty()) keys.add(e.getKey());
    keys.sort(null);
    List<String> workers = state.workers();
    Map<String, Map<String, Optional<Versioned>>> finals = new LinkedHashMap<>();
    long reads = 0;
    for (String w : workers) {
      finals.put(w, state.readAll(w, keys));
      reads += keys.size();
    }
    for (String key : keys) {
      KeyOps k = perKey.get(key);
      for (Op w : k.ackedWrites) {
        Version v = k.versions.get(w.id());
        List<String> bad = new ArrayList<>();
        for (String worker : workers) {
          Optional<Versioned> got = finals.get(worker).get(key);
          if (got == null) throw new IllegalStateException("FinalState.readAll gave no answer for " + key + " via " + worker);
          if (w.type() == Op.Type.PUT ? putLost(w, v, got, k) : deleteUndone(v, got))
            bad.add(worker + " read " + got.map(HistoryChecker::show).orElse("not found"));
        }
        if (!bad.isEmpty()) (w.type() == Op.Type.PUT ? lost : resurrected).add(w + ": " + bad);
      }
    }
    return reads;
  }

  private static boolean putLost(Op put, Version v, Optional<Versioned> got, KeyOps k) {
    if (got.isEmpty()) return !k.deleteCouldFollow(v);
    int c = got.get().version().compareTo(v);
    if (c > 0) return false;
    return c < 0 || !put.value().equals(got.get().value());
  }

  private static boolean deleteUndone(Version v, Optional<Versioned> got) {
    if (got.isEmpty()) return false;
    int c = got.get().version().compareTo(v);
    return c < 0 || (c == 0 && !got.get().isTombstone());
  }

  // ---- stale reads

  private static void checkReads(KeyOps k, Findings stale) {
    if (k.gets.isEmpty() || k.ackedWrites.isEmpty()) return;
    List<Op> byCompletion = new ArrayList<>(k.ackedWrites);
    byCompletion.sort(Comparator.comparingLong(Op::completeNanos));
    int m = byCompletion.size();
    long[] completed = new long[m];
    Op[] newest = new Op[m];              // newest acked write among the first i+1 to complete
    Version[] newestVersion = new Version[m];
    Version best = null;
    Op bestOp = null;
    for (int i = 0; i < m; i++) {
      Op w = byCompletion.get(i);
      completed[i] = w.completeNanos();
      Version v = k.versions.get(w.id());
      if (best == null || v.compareTo(best) > 0) {
        best = v;
        bestOp = w;
      }
      newest[i] = bestOp;
      newestVersion[i] = best;
    }
    for (Op g : k.gets) {
      if (!g.definiteRead()) continue;
      int i = lastBefore(completed, g.invokeNanos());
      if (i < 0) continue;
      Op latest = newest[i];
      Version required = newestVersion[i];
      boolean isStale;
      if (g.version() != null) isStale = Version.parse(g.version()).compareTo(required) < 0;
      else if (g.status() == 404) isStale = latest.type() == Op.Type.PUT && !k.deleteBefore(g.completeNanos(), required);
      else isStale = false;   // a 200 without a version: nothing to compare
      if (isStale) stale.add(g + " after " + latest);
    }
  }

  /** The index of the last element strictly below {@code t}, or -1. */
  private static int lastBefore(long[] sorted, long t) {
    int lo = 0, hi = sorted.length;   // first index with sorted[i] >= t
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (sorted[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  // ---- per-node samples

  private static Findings checkSamples(List<Observation> samples) {
    Findings out = new Findings();
    Map<String, List<Observation>> chains = new HashMap<>();
    for (Observation o : samples)
      chains.computeIfAbsent(o.node() + "\u0000" + o.incarnation() + "\u0000" + o.key(), x -> new ArrayList<>()).add(o);
    for (List<Observation> chain : chains.values()) {
      chain.sort(Comparator.comparingLong(Observation::nanos));
      Observation last = null;
      Version lastVersion = null;
      for (Observation o : chain) {
        if (o.version() == null) {
          last = null;
          lastVersion = null;
          continue;
        }
        Version v = Version.parse(o.version());
        if (lastVersion != null && v.compareTo(lastVersion) < 0)
          out.add(o.node() + " (incarnation " + o.incarnation() + ") key " + o.key() + " went from " + lastVersion
              + (last.tombstone() ? " (tombstone)" : "") + " to " + v + (o.tombstone() ? " (tombstone)" : ""));
        last = o;
        lastVersion = v;
      }
    }
    return out;
  }

  private static long keysBelowN(Map<String, KeyOps> perKey, List<Observation> samples, int n) {
    if (samples.isEmpty()) return 0;
    Map<String, Map<String, Observation>> lastPerNode = new HashMap<>();   // key -> node -> latest sample
    for (Observation o : samples)
      lastPerNode.computeIfAbsent(o.key(), x -> new HashMap<>())
          .merge(o.node(), o, (a, b) -> b.nanos() >= a.nanos() ? b : a);
    long below = 0;
    for (Map.Entry<String, KeyOps> e : perKey.entrySet()) {
      Version newest = e.getValue().newestAcked;
      Map<String, Observation> nodes = lastPerNode.get(e.getKey());
      if (newest == null || nodes == null) continue;
      long copies = nodes.values().stream()
          .filter(o -> o.version() != null && Version.parse(o.version()).compareTo(newest) >= 0).count();
      if (copies < n) below++;
    }
    return below;
  }

  // ---- helpers

  private static Version versionOf(Op acked) {
    if (acked.version() == null) throw new IllegalArgumentException("acknowledged write without a version: " + acked);
    return Version.parse(acked.version());
  }

  private static String show(Versioned v) {
    return v.isTombstone() ? "tombstone@" + v.version() : v.value() + "@" + v.version();
  }

  /** The ops of one key, split the way the checks need them. */
  private static final class KeyOps {
    final List<Op> ackedWrites = new ArrayList<>();
    /** The version of each of {@link #ackedWrites}, parsed once. */
    final Map<Long, Version> versions = new HashMap<>();
    final List<Op> gets = new ArrayList<>();
    final List<Op> ackedDeletes = new ArrayList<>();
    /** The earliest invocation of a DELETE that was not acked (its version, if any, is unknown). */
    long firstUnknownDelete = Long.MAX_VALUE;
    Version newestAcked;
    Version newestAckedDelete;

    void add(Op op) {
      if (op.type() == Op.Type.GET) {
        gets.add(op);
        return;
      }
      if (op.acknowledgedWrite()) {
        ackedWrites.add(op);
        Version v = versionOf(op);
        versions.put(op.id(), v);
        if (newestAcked == null || v.compareTo(newestAcked) > 0) newestAcked = v;
        if (op.type() == Op.Type.DELETE) {
          ackedDeletes.add(op);
          if (newestAckedDelete == null || v.compareTo(newestAckedDelete) > 0) newestAckedDelete = v;
        }
      } else if (op.type() == Op.Type.DELETE) {
        firstUnknownDelete = Math.min(firstUnknownDelete, op.invokeNanos());
      }
    }

    /** Whether some DELETE of this key may carry a version newer than {@code v}. */
    boolean deleteCouldFollow(Version v) {
      return firstUnknownDelete != Long.MAX_VALUE || (newestAckedDelete != null && newestAckedDelete.compareTo(v) > 0);
    }

    /** Whether a DELETE sent before {@code nanos} may carry a version newer than {@code v}. */
    boolean deleteBefore(long nanos, Version v) {
      if (firstUnknownDelete < nanos) return true;
      for (Op d : ackedDeletes) if (d.invokeNanos() < nanos && versions.get(d.id()).compareTo(v) > 0) return true;
      return false;
    }
  }

  private static final class Findings {
    long count;
    final List<String> lines = new ArrayList<>();

    void add(String line) {
      count++;
      if (lines.size() < MAX_DETAILS) lines.add(line);
    }
  }
}
