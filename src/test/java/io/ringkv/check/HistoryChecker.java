package io.ringkv.check;

import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Checks a {@link History} (plus per-node samples and the final state) for the promises of a
 * Dynamo-style store, without trusting the store's own clocks or versions to say which write is
 * newer: a node whose clock runs ahead, a write coordinated twice or a replica that answered the
 * wrong thing all produce versions that look fine by themselves. Order comes from real time, as the
 * clients saw it; a version is used only to model which copy a read of several replicas returns (the
 * newest by version: that is what the store does) and to check that each value carries the version
 * its write was acknowledged with.
 *
 * <h2>The model</h2>
 * Every PUT writes a value unique to it (the harness makes sure of that: a value repeated within a key
 * is accepted, each of its writes may explain it, and the report counts the repetitions); a DELETE
 * writes "absent", and so does the beginning of the history (every key starts absent, a write at
 * -&infin;). An <i>acknowledged</i> write (answered 200) took effect at some instant between its
 * invocation and its completion. A write not acknowledged (an error status, or no answer) may take
 * effect at any instant after its invocation, or never: its end is +&infin;.
 *
 * <p><b>Superseded.</b> A write {@code e} is superseded before time {@code t} when an acknowledged
 * write {@code w} of the same key was invoked after {@code e} ended and completed before {@code t}:
 * then {@code w} took effect after {@code e} did, and before {@code t}, so a read that starts at
 * {@code t} must see {@code w} or something later, never {@code e}. Whatever the versions say.
 *
 * <h2>The rules</h2>
 * <ul>
 *   <li><b>Phantom</b> (a failure): a read returns a value no operation of its key wrote, or one whose
 *   only writes were invoked after the read completed; a copy holds such a value; a tombstone appears
 *   for a key nobody ever deleted.</li>
 *   <li><b>Wrong version</b> (a failure): a value read (or held) at a version other than the one its PUT
 *   was acknowledged with; a value read at the version acknowledged to another write; a tombstone at
 *   the version of an acknowledged PUT, or at a version no DELETE was acknowledged with when every
 *   DELETE of the key was acknowledged; the value of a write that was not acknowledged seen at more
 *   than one version (more generally: at more versions outside its acknowledged ones than it had
 *   writes not acknowledged); two writes acknowledged at one version. Each write is applied at one
 *   version; a second one is a write coordinated twice, or re-applied later with a new clock.</li>
 *   <li><b>Stale read</b>: a definite GET (200 or 404) returns {@code x} (a value, or "not found"),
 *   and every write of {@code x} invoked before the GET completed (for "not found": every DELETE
 *   and the initial absence) is superseded before the GET was invoked. Only the writes that could
 *   still be newest in real time may be read. A failure when R + W &gt; N, a figure otherwise.</li>
 *   <li><b>Lost write</b> (a failure): once the run settled, for each key written, the checker reads each
 *   owner's own copy (no read repair) and forms, for every R-subset of the owners, the copy a read of
 *   that subset returns: the newest by version, or "not found" when none holds one. That copy must be
 *   legal for a read invoked after every operation completed: some write of it must not be superseded
 *   at all, i.e. no acknowledged write of the key was invoked after it ended. If it is not, every
 *   acknowledged write invoked after the latest-ending write of that copy is lost (a PUT lost or a
 *   DELETE undone). When R + W &le; N the store promises only that all N owners together return the
 *   last write: an R-subset that does not is a figure, all N owners that do not are a loss. Every
 *   owner's copy also gets the phantom and version checks above. Then a quorum read through every
 *   worker ({@link FinalState#read}, which may repair, so it comes second) is judged the same way: it
 *   shows every worker answers for every key.</li>
 *   <li><b>Versions never go backwards on a node</b> within one incarnation: the samples of one
 *   node's copy of one key, in time order, never step to an older version. A sample with no copy
 *   ends the chain: a node legitimately drops keys it handed off (and purges old tombstones), and
 *   may receive them again later. (The only check that compares versions: it is about the node's own
 *   order, whatever the versions mean.)</li>
 * </ul>
 * Runs in O(ops log ops) plus one copy read per (key written, owner) and one final read per (key
 * with an acknowledged write, worker).
 */
public final class HistoryChecker {
  /** How many findings of each kind the report spells out. */
  public static final int MAX_DETAILS = 20;
  /** The end of a write that was not acknowledged: it may take effect at any time. */
  private static final long NEVER = Long.MAX_VALUE;
  /** The end of the initial absence of every key. */
  private static final long BEGINNING = Long.MIN_VALUE;

  private HistoryChecker() {}

  /**
   * @param history     the client operations
   * @param samples     per-node raw copies sampled during (and after) the run; may be empty
   * @param finalState  the settled cluster: each owner's own copy, and reads through each worker
   * @param quorum      N, W and R the cluster ran with
   */
  public static Report check(History history, List<Observation> samples, FinalState finalState, Quorum quorum) {
    List<Op> ops = history.ops();
    long puts = 0, deletes = 0, gets = 0, acked = 0, reads = 0, indeterminate = 0;
    TreeMap<Integer, Long> failed = new TreeMap<>();
    Map<String, KeyModel> perKey = new HashMap<>();
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
      perKey.computeIfAbsent(op.key(), KeyModel::new).add(op);
    }
    perKey.values().forEach(KeyModel::seal);

    Findings out = new Findings(quorum);
    for (KeyModel k : perKey.values()) checkReads(k, out);
    long copies = checkFinalCopies(perKey, finalState, quorum, out);
    long finalReads = checkFinalReads(perKey, finalState, out);
    Kind backwards = checkSamples(samples);
    long below = keysBelowN(perKey, samples, quorum.n());
    long repeated = perKey.values().stream().mapToLong(k -> k.repeatedValues).sum();

    return new Report(ops.size(), puts, deletes, gets, acked, reads, failed, indeterminate,
        out.lostPuts.size(), out.undoneDeletes.size(), out.lost.lines(), backwards.count, backwards.lines(),
        out.stale.count, out.stale.lines(), out.phantom.count, out.phantom.lines(),
        out.wrongVersion.count, out.wrongVersion.lines(), out.staleFinal.count, out.staleFinal.lines(),
        quorum, below, finalReads, copies, repeated);
  }

  // ---- reads during the run

  private static void checkReads(KeyModel k, Findings out) {
    k.collisions.forEach(out.wrongVersion::add);
    for (Op g : k.gets) {
      if (!g.definiteRead()) continue;
      String x = g.status() == 200 ? g.valueRead() : null;
      if (g.status() == 200 && x == null) throw new IllegalArgumentException("a GET answered 200 without the value it read: " + g);
      Judgement j = k.judge(x, g.invokeNanos(), g.completeNanos());
      String what = g.toString();
      if (j.phantom()) {
        out.phantom.add(what + ": " + (k.byValue.containsKey(x) ? "every write of this value was sent after the read completed"
            : "no operation of key " + k.key + " wrote this value"));
        continue;
      }
      if (j.superseding() != null) out.stale.add(what + " returned " + show(x) + staleBecause(j));
      if (g.version() != null) checkVersion(k, x, Version.parse(g.version()), what, out);
    }
  }

  private static String staleBecause(Judgement j) {
    return ", whose latest write " + (j.writer() == null ? "(the key's initial absence)" : j.writer().toString())
        + " was superseded by " + j.superseding() + ", sent after it ended and acknowledged before the read was sent";
  }

  /**
   * The version rules for {@code value} (null: a tombstone) seen at {@code v}: each write is applied at
   * one version, the one it was acknowledged with when it was.
   */
  private static void checkVersion(KeyModel k, String value, Version v, String what, Findings out) {
    Writers w = value == null ? k.absent : k.byValue.get(value);
    String shown = (value == null ? "a tombstone" : value) + " at " + v;
    if (w == null || w.ops.isEmpty()) {
      out.phantom.add(what + ": " + shown + ", but " + (value == null ? "no DELETE of " + k.key + " was ever sent"
          : "no operation of key " + k.key + " wrote this value"));
      return;
    }
    if (w.ackedVersions.contains(v)) return;
    Op owner = k.ackedByVersion.get(v);
    if (owner != null) {
      out.wrongVersion.add(what + ": " + shown + ", the version acknowledged to another write, " + owner);
    } else if (w.unacked == 0) {
      out.wrongVersion.add(what + ": " + shown + ", but " + (value == null ? "every DELETE of " + k.key
          + " was acknowledged, at " : "it was acknowledged at ") + w.ackedVersions);
    } else if (w.seenUnackedVersions.add(v) && w.seenUnackedVersions.size() > w.unacked) {
      out.wrongVersion.add(what + ": " + shown + "; " + (value == null ? "tombstones" : "this value") + " seen at "
          + w.seenUnackedVersions + " (acknowledged at " + w.ackedVersions + "), but only " + w.unacked
          + " unacknowledged write(s) of it");
    }
  }

  // ---- the final state

  /** Every owner's own copy of every key written; returns how many copies were read. */
  private static long checkFinalCopies(Map<String, KeyModel> perKey, FinalState state, Quorum q, Findings out) {
    List<String> keys = new ArrayList<>();
    for (KeyModel k : perKey.values()) if (!k.writes.isEmpty()) keys.add(k.key);
    keys.sort(null);
    if (keys.isEmpty()) return 0;
    Map<String, List<String>> owners = state.ownersAll(keys);
    Map<String, List<String>> keysOf = new TreeMap<>();   // worker -> the keys it owns
    for (String key : keys) {
      List<String> o = owners.get(key);
      if (o == null || o.isEmpty()) throw new IllegalStateException("FinalState.ownersAll gave no owners for " + key);
      for (String w : o) keysOf.computeIfAbsent(w, x -> new ArrayList<>()).add(key);
    }
    Map<String, Map<String, Optional<Versioned>>> copies = new HashMap<>();
    long read = 0;
    for (Map.Entry<String, List<String>> e : keysOf.entrySet()) {
      copies.put(e.getKey(), state.copyAll(e.getKey(), e.getValue()));
      read += e.getValue().size();
    }
    for (String key : keys) {
      KeyModel k = perKey.get(key);
      List<String> o = owners.get(key);
      List<Optional<Versioned>> held = new ArrayList<>();
      for (String w : o) {
        Optional<Versioned> c = copies.get(w).get(key);
        if (c == null) throw new IllegalStateException("FinalState.copyAll gave no answer for " + key + " on " + w);
        held.add(c);
        c.ifPresent(v -> checkVersionOrPhantom(k, v, "final copy of " + key + " on " + w, out));
      }
      // the copy each read quorum returns, and which subsets return it
      int r = Math.min(q.r(), o.size());
      Map<Optional<Versioned>, List<String>> answers = new LinkedHashMap<>();
      for (List<Integer> subset : subsets(o.size(), r)) {
        Optional<Versioned> newest = Optional.empty();
        List<String> names = new ArrayList<>();
        for (int i : subset) {
          names.add(o.get(i));
          if (held.get(i).isPresent() && held.get(i).get().isNewerThan(newest.orElse(null))) newest = held.get(i);
        }
        answers.computeIfAbsent(newest, x -> new ArrayList<>()).add(String.join("+", names));
      }
      Optional<Versioned> all = Optional.empty();
      for (Optional<Versioned> c : held) if (c.isPresent() && c.get().isNewerThan(all.orElse(null))) all = c;
      // `all` is among the answers (every subset with its holder returns it): with R + W <= N only it can lose a write
      for (Map.Entry<Optional<Versioned>, List<String>> a : answers.entrySet()) {
        boolean loses = q.overlapping() || a.getKey().equals(all);
        judgeFinal(k, a.getKey(), "read quorum(s) " + a.getValue() + " of owners " + o, loses, out);
      }
    }
    return read;
  }

  /** A quorum read of every key with an acknowledged write through every worker, after the copies were read. */
  private static long checkFinalReads(Map<String, KeyModel> perKey, FinalState state, Findings out) {
    List<String> keys = new ArrayList<>();
    for (KeyModel k : perKey.values()) if (!k.ackedByInv.isEmpty()) keys.add(k.key);
    keys.sort(null);
    long reads = 0;
    for (String worker : state.workers()) {
      Map<String, Optional<Versioned>> got = state.readAll(worker, keys);
      reads += keys.size();
      for (String key : keys) {
        Optional<Versioned> v = got.get(key);
        if (v == null) throw new IllegalStateException("FinalState.readAll gave no answer for " + key + " via " + worker);
        KeyModel k = perKey.get(key);
        String what = "final read of " + key + " via " + worker;
        if (v.isPresent() && !checkVersionOrPhantom(k, v.get(), what, out)) continue;
        judgeFinal(k, v, what, out.quorum.overlapping(), out);
      }
    }
    return reads;
  }

  /** Phantom and version checks of a copy; false when it is a phantom (nothing to judge it by). */
  private static boolean checkVersionOrPhantom(KeyModel k, Versioned v, String what, Findings out) {
    if (!v.isTombstone() && !k.byValue.containsKey(v.value())) {
      out.phantom.add(what + ": " + show(v) + ", a value no operation of key " + k.key + " wrote");
      return false;
    }
    checkVersion(k, v.isTombstone() ? null : v.value(), v.version(), what, out);
    return true;
  }

  /**
   * Whether {@code copy}, returned to a read made after every operation completed, is legal; if not,
   * either the acknowledged writes it hides are lost ({@code loses}) or it is a stale final read.
   */
  private static void judgeFinal(KeyModel k, Optional<Versioned> copy, String what, boolean loses, Findings out) {
    String x = copy.filter(v -> !v.isTombstone()).map(Versioned::value).orElse(null);
    if (x != null && !k.byValue.containsKey(x)) return;   // a phantom, reported as such
    Judgement j = k.judge(x, NEVER, NEVER);
    if (j.superseding() == null) return;
    List<Op> hidden = k.ackedInvokedAfter(j.end());
    String line = k.key + ": " + what + " returns " + copy.map(HistoryChecker::show).orElse("not found")
        + staleBecause(j) + "; it hides " + hidden.size() + " acknowledged write(s): "
        + hidden.subList(0, Math.min(3, hidden.size())) + (hidden.size() > 3 ? " ..." : "");
    if (!loses) {
      out.staleFinal.add(line);
      return;
    }
    out.lost.add(line);
    for (Op w : hidden) (w.type() == Op.Type.PUT ? out.lostPuts : out.undoneDeletes).add(w.id());
  }

  /** Every subset of {0..n-1} of size r, as index lists. */
  private static List<List<Integer>> subsets(int n, int r) {
    List<List<Integer>> out = new ArrayList<>();
    for (int mask = 0; mask < (1 << n); mask++) {
      if (Integer.bitCount(mask) != r) continue;
      List<Integer> s = new ArrayList<>();
      for (int i = 0; i < n; i++) if ((mask & (1 << i)) != 0) s.add(i);
      out.add(s);
    }
    return out;
  }

  // ---- per-node samples

  private static Kind checkSamples(List<Observation> samples) {
    Kind out = new Kind();
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

  private static long keysBelowN(Map<String, KeyModel> perKey, List<Observation> samples, int n) {
    if (samples.isEmpty()) return 0;
    Map<String, Map<String, Observation>> lastPerNode = new HashMap<>();   // key -> node -> latest sample
    for (Observation o : samples)
      lastPerNode.computeIfAbsent(o.key(), x -> new HashMap<>())
          .merge(o.node(), o, (a, b) -> b.nanos() >= a.nanos() ? b : a);
    long below = 0;
    for (KeyModel k : perKey.values()) {
      Version newest = k.newestAcked;
      Map<String, Observation> nodes = lastPerNode.get(k.key);
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

  private static String show(String valueOrAbsent) {
    return valueOrAbsent == null ? "not found" : valueOrAbsent;
  }

  private static String show(Versioned v) {
    return v.isTombstone() ? "tombstone@" + v.version() : v.value() + "@" + v.version();
  }

  /** When a write may have taken effect last: its completion if acknowledged, else never. */
  private static long end(Op write) {
    return write.acknowledgedWrite() ? write.completeNanos() : NEVER;
  }

  /**
   * A read's verdict: {@code phantom} when no write of what it returned had been sent before it
   * completed; else {@code writer} (null = the initial absence) is the write of it that ends last
   * ({@code end}), and {@code superseding} an acknowledged write that superseded it before the read
   * was sent, or null when the read is legal.
   */
  private record Judgement(boolean phantom, Op writer, long end, Op superseding) {}

  /** The writes of one value (or of "absent") of one key, ordered by invocation. */
  private static final class Writers {
    final boolean initial;
    final List<Op> ops = new ArrayList<>();
    final Set<Version> ackedVersions = new TreeSet<>();
    final Set<Version> seenUnackedVersions = new TreeSet<>();
    int unacked;
    long[] invoked;
    long[] latestEnd;   // latestEnd[i]: the latest end among ops[0..i]
    Op[] latest;

    Writers(boolean initial) {
      this.initial = initial;
    }

    void add(Op w) {
      ops.add(w);
      if (w.acknowledgedWrite()) ackedVersions.add(versionOf(w));
      else unacked++;
    }

    void seal() {
      ops.sort(Comparator.comparingLong(Op::invokeNanos));
      int m = ops.size();
      invoked = new long[m];
      latestEnd = new long[m];
      latest = new Op[m];
      long best = BEGINNING;
      Op bestOp = null;
      for (int i = 0; i < m; i++) {
        Op w = ops.get(i);
        invoked[i] = w.invokeNanos();
        if (bestOp == null || end(w) > best) {
          best = end(w);
          bestOp = w;
        }
        latestEnd[i] = best;
        latest[i] = bestOp;
      }
    }

    /** How many writes were invoked strictly before {@code t}. */
    int invokedBefore(long t) {
      return lowerBound(invoked, t);
    }
  }

  /** The ops of one key, indexed the way the checks need them. */
  private static final class KeyModel {
    final String key;
    final List<Op> gets = new ArrayList<>();
    final List<Op> writes = new ArrayList<>();
    final Map<String, Writers> byValue = new HashMap<>();
    /** The DELETEs, and the key's initial absence. */
    final Writers absent = new Writers(true);
    final Map<Version, Op> ackedByVersion = new HashMap<>();
    final List<Op> ackedByInv = new ArrayList<>();
    long[] ackedInvoked;
    /** firstDone[i]: the acknowledged write completing first among ackedByInv[i..]. */
    Op[] firstDone;
    Version newestAcked;
    long repeatedValues;
    /** Writes acknowledged at a version another write was acknowledged with (one write applied as two, or a clock reused). */
    final List<String> collisions = new ArrayList<>();

    KeyModel(String key) {
      this.key = key;
    }

    void add(Op op) {
      if (op.type() == Op.Type.GET) {
        gets.add(op);
        return;
      }
      writes.add(op);
      if (op.type() == Op.Type.PUT) {
        if (op.value() == null) throw new IllegalArgumentException("a PUT without a value: " + op);
        Writers w = byValue.computeIfAbsent(op.value(), x -> new Writers(false));
        if (!w.ops.isEmpty()) repeatedValues++;
        w.add(op);
      } else {
        absent.add(op);
      }
      if (op.acknowledgedWrite()) {
        ackedByInv.add(op);
        Version v = versionOf(op);
        Op before = ackedByVersion.putIfAbsent(v, op);
        if (before != null) collisions.add(op + ": acknowledged at the version already acknowledged to " + before);
        if (newestAcked == null || v.compareTo(newestAcked) > 0) newestAcked = v;
      }
    }

    void seal() {
      byValue.values().forEach(Writers::seal);
      absent.seal();
      ackedByInv.sort(Comparator.comparingLong(Op::invokeNanos));
      int m = ackedByInv.size();
      ackedInvoked = new long[m];
      firstDone = new Op[m];
      for (int i = m - 1; i >= 0; i--) {
        Op w = ackedByInv.get(i);
        ackedInvoked[i] = w.invokeNanos();
        firstDone[i] = i + 1 < m && firstDone[i + 1].completeNanos() < w.completeNanos() ? firstDone[i + 1] : w;
      }
    }

    /** The acknowledged writes invoked strictly after {@code t}. */
    List<Op> ackedInvokedAfter(long t) {
      return ackedByInv.subList(upperBound(ackedInvoked, t), ackedByInv.size());
    }

    /**
     * Judges a read invoked at {@code invoked} and completed at {@code completed} that returned
     * {@code value} (null: not found): O(log ops).
     */
    Judgement judge(String value, long invoked, long completed) {
      Writers w = value == null ? absent : byValue.get(value);
      if (w == null) return new Judgement(true, null, 0, null);
      int j = w.invokedBefore(completed);
      Op writer;
      long end;
      if (j > 0) {
        writer = w.latest[j - 1];
        end = w.latestEnd[j - 1];
      } else if (w.initial) {
        writer = null;
        end = BEGINNING;
      } else {
        return new Judgement(true, null, 0, null);
      }
      if (end == NEVER) return new Judgement(false, writer, end, null);
      // the acknowledged write invoked after `end` that completes first; it supersedes when done before the read was sent
      int i = upperBound(ackedInvoked, end);
      Op first = i < firstDone.length ? firstDone[i] : null;
      return new Judgement(false, writer, end, first != null && first.completeNanos() < invoked ? first : null);
    }
  }

  /** The index of the first element {@code >= t} (= how many are below {@code t}). */
  private static int lowerBound(long[] sorted, long t) {
    int lo = 0, hi = sorted.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (sorted[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The index of the first element {@code > t}. */
  private static int upperBound(long[] sorted, long t) {
    int lo = 0, hi = sorted.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (sorted[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** One kind of finding: a complete count and the first {@link #MAX_DETAILS} lines. */
  private static final class Kind {
    long count;
    private final List<String> lines = new ArrayList<>();

    void add(String line) {
      count++;
      if (lines.size() < MAX_DETAILS) lines.add(line);
    }

    List<String> lines() {
      return List.copyOf(lines);
    }
  }

  /** Everything the checks find, kind by kind. */
  private static final class Findings {
    final Quorum quorum;
    final Kind stale = new Kind();
    final Kind phantom = new Kind();
    final Kind wrongVersion = new Kind();
    final Kind lost = new Kind();
    final Kind staleFinal = new Kind();
    final Set<Long> lostPuts = new LinkedHashSet<>();
    final Set<Long> undoneDeletes = new HashSet<>();

    Findings(Quorum quorum) {
      this.quorum = quorum;
    }
  }
}
