package io.ringkv.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Hand-built histories, each with one anomaly (or none), and what the checker makes of them. The
 * planted bugs ({@code planted...}) are each also run through {@link #passesOldRules()}, the rules
 * this checker replaced, to show what those let through.
 */
class HistoryCheckerTest {
  private static final List<String> WORKERS = List.of("w1", "w2", "w3");
  private static final Quorum OVERLAPPING = new Quorum(3, 2, 2);
  private static final Quorum R1 = new Quorum(3, 2, 1);

  private final AtomicLong now = new AtomicLong();
  private final History history = new History(now::get);
  private final Cluster cluster = new Cluster();
  private final List<Observation> samples = new ArrayList<>();

  // ---- building blocks: each op is sent at one tick and answered at the next

  private long put(String key, String value, long ts) {
    long id = history.invoke("c", Op.Type.PUT, key, value, "w1");
    now.incrementAndGet();
    history.complete(id, 200, v(ts), null);
    now.incrementAndGet();
    return id;
  }

  /** A PUT answered 503: it may or may not have taken effect. */
  private void failedPut(String key, String value) {
    long id = history.invoke("c", Op.Type.PUT, key, value, "w1");
    now.incrementAndGet();
    history.complete(id, 503, null, null);
    now.incrementAndGet();
  }

  private void delete(String key, long ts) {
    long id = history.invoke("c", Op.Type.DELETE, key, null, "w2");
    now.incrementAndGet();
    history.complete(id, 200, v(ts), null);
    now.incrementAndGet();
  }

  private void failedDelete(String key) {
    long id = history.invoke("c", Op.Type.DELETE, key, null, "w2");
    now.incrementAndGet();
    history.complete(id, 503, null, null);
    now.incrementAndGet();
  }

  private void get(String key, int status, Long ts, String value) {
    long id = history.invoke("c", Op.Type.GET, key, null, "w3");
    now.incrementAndGet();
    history.complete(id, status, ts == null ? null : v(ts), value);
    now.incrementAndGet();
  }

  private void sample(String node, String incarnation, String key, Long ts) {
    samples.add(new Observation(node, key, ts == null ? null : v(ts), false, now.getAndIncrement(), incarnation));
  }

  private static String v(long ts) {
    return ts + "@w1";
  }

  private static Versioned value(String value, long ts) {
    return new Versioned(value, Version.parse(v(ts)));
  }

  private static Versioned tombstone(long ts) {
    return Versioned.tombstone(Version.parse(v(ts)));
  }

  private Report check() {
    return check(OVERLAPPING);
  }

  private Report check(Quorum q) {
    return HistoryChecker.check(history, samples, cluster, q);
  }

  /**
   * The final state: each worker's own copies (every worker owns every key), and what a quorum read
   * through a worker returns: the newest copy of all three unless a test says otherwise (a read that
   * happened to reach the newest copy, as the old rules saw it).
   */
  private static final class Cluster implements FinalState {
    final Map<String, Map<String, Versioned>> perWorker = new HashMap<>();
    final Map<String, Map<String, Optional<Versioned>>> readVia = new HashMap<>();

    void everywhere(String key, Versioned v) {
      for (String w : WORKERS) on(w, key, v);
    }

    void on(String worker, String key, Versioned v) {
      perWorker.computeIfAbsent(worker, x -> new HashMap<>()).put(key, v);
    }

    void without(String worker, String key) {
      perWorker.computeIfAbsent(worker, x -> new HashMap<>()).remove(key);
    }

    @Override
    public Optional<Versioned> read(String viaNode, String key) {
      Optional<Versioned> set = readVia.getOrDefault(viaNode, Map.of()).get(key);
      if (set != null) return set;
      Versioned newest = null;
      for (String w : WORKERS) {
        Versioned c = perWorker.getOrDefault(w, Map.of()).get(key);
        if (c != null && c.isNewerThan(newest)) newest = c;
      }
      return Optional.ofNullable(newest);
    }

    @Override
    public List<String> workers() {
      return WORKERS;
    }

    @Override
    public List<String> owners(String key) {
      return WORKERS;
    }

    @Override
    public Optional<Versioned> copy(String worker, String key) {
      return Optional.ofNullable(perWorker.getOrDefault(worker, Map.of()).get(key));
    }
  }

  /**
   * The rules this checker replaced, kept to show what they let through: the final quorum read
   * through every worker must return each acknowledged PUT's value at its version or any newer
   * version (or nothing, when a DELETE could be newer by version), and no acknowledged DELETE may
   * read back at an older version; stale reads (by version) were only a figure, and nothing checked
   * the values read during the run, phantoms or the replicas' own copies.
   */
  private boolean passesOldRules() {
    Map<String, List<Op>> acked = new HashMap<>();
    Map<String, Boolean> unackedDelete = new HashMap<>();
    for (Op op : history.ops()) {
      if (op.acknowledgedWrite()) acked.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op);
      else if (op.type() == Op.Type.DELETE) unackedDelete.put(op.key(), true);
    }
    for (Map.Entry<String, List<Op>> e : acked.entrySet()) {
      for (String worker : WORKERS) {
        Optional<Versioned> got = cluster.read(worker, e.getKey());
        for (Op w : e.getValue()) {
          Version v = Version.parse(w.version());
          boolean deleteCouldFollow = unackedDelete.containsKey(e.getKey()) || e.getValue().stream()
              .anyMatch(d -> d.type() == Op.Type.DELETE && Version.parse(d.version()).compareTo(v) > 0);
          int c = got.map(g -> g.version().compareTo(v)).orElse(0);
          boolean bad = w.type() == Op.Type.PUT
              ? (got.isEmpty() ? !deleteCouldFollow : c < 0 || (c == 0 && !w.value().equals(got.get().value())))
              : got.isPresent() && (c < 0 || (c == 0 && !got.get().isTombstone()));
          if (bad) return false;
        }
      }
    }
    return true;
  }

  // ---- correct histories

  @Test
  void aCleanHistoryPasses() {
    put("a", "1", 10);
    get("a", 200, 10L, "1");
    put("a", "2", 20);
    get("a", 200, 20L, "2");
    put("b", "x", 15);
    delete("b", 30);
    get("b", 404, null, null);
    get("b", 404, 30L, null);         // a 404 that carries the tombstone's version (the simulations record it)
    long failed = history.invoke("c", Op.Type.PUT, "c", "lost-in-transit", "w2");
    history.complete(failed, 503, null, null);
    history.invoke("c", Op.Type.PUT, "c", "never-answered", "w3");
    cluster.everywhere("a", value("2", 20));
    cluster.everywhere("b", tombstone(30));
    sample("w1", "1", "a", 10L);
    sample("w1", "1", "a", 20L);
    sample("w2", "1", "a", null);
    sample("w2", "1", "a", 20L);

    Report r = check();
    assertTrue(r.ok(), r.details());
    assertEquals(0, r.lostWrites());
    assertEquals(0, r.staleReads(), r.details());
    assertEquals(0, r.phantomCount() + r.wrongVersionCount(), r.details());
    assertEquals(10, r.attempted());
    assertEquals(4, r.ackedWrites());
    assertEquals(4, r.definiteReads());
    assertEquals(Map.of(503, 1L), r.failedByStatus());
    assertEquals(1, r.indeterminate());
    assertEquals(2 * WORKERS.size(), r.finalReads(), "one final read per acked key and worker");
    assertEquals(3 * WORKERS.size(), r.finalCopies(), "every owner's copy of every key written");
    assertEquals(0, r.repeatedValues());
    assertTrue(r.toString().contains("lost=0"), r.toString());
  }

  @Test
  void aReadConcurrentWithAWriteIsNotStale() {
    put("a", "1", 10);
    long g = history.invoke("c", Op.Type.GET, "a", null, "w3");   // sent before "2" is acked
    put("a", "2", 20);
    history.complete(g, 200, v(10), "1");
    long g2 = history.invoke("c", Op.Type.GET, "b", null, "w3");  // a key nobody wrote
    history.complete(g2, 404, null, null);
    cluster.everywhere("a", value("2", 20));
    Report r = check();
    assertEquals(0, r.staleReads(), r.details());
    assertTrue(r.ok(), r.details());
  }

  @Test
  void concurrentWritesMayEndEitherWayButNotAnOlderOne() {
    // "1" and "2" overlap in real time: either may be read afterwards, whatever their versions
    long p1 = history.invoke("c1", Op.Type.PUT, "a", "1", "w1");
    long p2 = history.invoke("c2", Op.Type.PUT, "a", "2", "w2");
    history.complete(p2, 200, v(20), null);
    history.complete(p1, 200, v(10), null);
    now.addAndGet(10);
    get("a", 200, 10L, "1");
    cluster.everywhere("a", value("2", 20));
    assertTrue(check().ok(), check().details());
    cluster.everywhere("a", value("1", 10));
    assertTrue(check().ok(), check().details());

    // a third write after both: neither may be read any more
    put("a", "3", 30);
    get("a", 200, 20L, "2");
    Report r = check();
    assertEquals(1, r.staleReads(), r.details());
    assertEquals(1, r.lostPuts(), "\"1\" in every copy hides \"3\": " + r.details());
  }

  @Test
  void aDeletedKeyThatIsNotFoundOrNewerIsFine() {
    put("a", "1", 10);
    delete("a", 20);
    get("a", 404, null, null);
    put("b", "1", 10);
    delete("b", 20);
    put("b", "2", 30);
    cluster.everywhere("b", value("2", 30));    // "a" is not found anywhere: its tombstone was purged
    assertTrue(check().ok(), check().details());
  }

  @Test
  void anUnacknowledgedWriteMayWinAtTheEnd() {
    put("a", "1", 10);
    failedPut("a", "written-but-not-acked");
    put("b", "1", 10);
    failedDelete("b");
    cluster.everywhere("a", value("written-but-not-acked", 11));
    cluster.everywhere("b", tombstone(12));
    Report r = check();
    assertTrue(r.ok(), r.details());
  }

  @Test
  void aRepeatedValueIsExplainedByAnyOfItsWritesAndCounted() {
    failedPut("a", "init");                    // a retry writes the same value again
    put("a", "init", 20);
    get("a", 200, 15L, "init");                // the failed attempt took effect at 15: it may
    cluster.everywhere("a", value("init", 20));
    Report r = check();
    assertTrue(r.ok(), r.details());
    assertEquals(1, r.repeatedValues());
  }

  // ---- acknowledged writes against the final replicas

  @Test
  void anAcknowledgedPutThatIsNotFoundInAReadQuorumIsLostUnlessADeleteCouldExplainIt() {
    put("a", "1", 10);
    cluster.on("w1", "a", value("1", 10));    // w2 and w3 hold nothing: the read quorum w2+w3 answers "not found"
    Report r = check();
    assertEquals(1, r.lostPuts(), r.details());
    assertTrue(r.lost().get(0).contains("not found") && r.lost().get(0).contains("w2+w3"), r.details());

    // a DELETE that was not acknowledged may have been applied after the PUT
    failedDelete("a");
    assertTrue(check().ok(), check().details());
  }

  @Test
  void oneLaggingReplicaIsHarmlessWithOverlappingQuorumsAndAFigureWithR1() {
    put("a", "1", 10);
    put("a", "2", 20);
    cluster.everywhere("a", value("2", 20));
    cluster.on("w3", "a", value("1", 10));    // w3 missed "2"; every pair still includes a copy of it
    Report r = check();
    assertTrue(r.ok(), r.details());

    Report r1 = check(R1);                     // a read of w3 alone returns "1"
    assertTrue(r1.ok(), r1.details());
    assertEquals(1, r1.staleFinalCount(), r1.details());
    assertEquals(0, r1.lostWrites(), r1.details());

    cluster.on("w2", "a", value("1", 10));    // now all three together still return "2", but a pair does not
    assertEquals(1, check().lostPuts(), check().details());
    assertEquals(0, check(R1).lostPuts(), "with R=1 only all N owners must return it: " + check(R1).details());
    cluster.on("w1", "a", value("1", 10));
    assertEquals(1, check(R1).lostPuts(), check(R1).details());
  }

  @Test
  void aDeleteResurrectedByAnOlderValueIsLost() {
    put("a", "1", 10);
    delete("a", 20);
    cluster.everywhere("a", tombstone(20));
    cluster.on("w2", "a", value("1", 10));    // the tombstone is gone and the old value is back on two owners
    cluster.on("w3", "a", value("1", 10));

    Report r = check();
    assertFalse(r.ok());
    assertEquals(1, r.resurrectedDeletes(), r.details());
    assertEquals(0, r.lostPuts(), "the PUT's value reads back at its own version: only the delete is undone. " + r.details());
  }

  @Test
  void aFinalReadThroughAWorkerIsJudgedToo() {
    put("a", "1", 10);
    put("a", "2", 20);
    cluster.everywhere("a", value("2", 20));
    cluster.readVia.put("w3", Map.of("a", Optional.of(value("1", 10))));   // w3 reads from a stray, older copy
    Report r = check();
    assertEquals(1, r.lostPuts(), r.details());
    assertTrue(r.lost().get(0).contains("via w3"), r.details());
  }

  // ---- values and versions

  @Test
  void aPhantomValueFails() {
    put("a", "1", 10);
    get("a", 200, 10L, "ghost");
    cluster.everywhere("a", value("1", 10));
    assertTrue(passesOldRules(), "the old rules never looked at the values read");
    Report r = check();
    assertFalse(r.ok());
    assertEquals(1, r.phantomCount(), r.details());

    cluster.on("w2", "a", value("ghost-copy", 11));
    // the read, the copy on w2, and the final read through each worker (each reaches w2's newer copy)
    assertEquals(1 + 1 + WORKERS.size(), check().phantomCount(), "a copy of a value nobody wrote: " + check().details());
  }

  @Test
  void aTombstoneOfAKeyNobodyDeletedIsAPhantom() {
    put("a", "1", 10);
    cluster.everywhere("a", tombstone(12));
    Report r = check();
    assertFalse(r.ok());
    assertTrue(r.phantomCount() > 0, r.details());
  }

  @Test
  void aValueReadBeforeItsWriteWasSentIsAPhantom() {
    get("a", 200, 10L, "1");
    put("a", "1", 10);
    cluster.everywhere("a", value("1", 10));
    assertEquals(1, check().phantomCount(), check().details());
  }

  @Test
  void aValueReadAtAVersionOtherThanItsAcknowledgedOneFails() {
    put("a", "1", 10);
    get("a", 200, 11L, "1");
    cluster.everywhere("a", value("1", 10));
    assertTrue(passesOldRules());
    Report r = check();
    assertFalse(r.ok());
    assertEquals(1, r.wrongVersionCount(), r.details());
    assertEquals(0, r.staleReads(), r.details());
  }

  @Test
  void aValueAtTheVersionOfAnotherWriteFails() {
    put("a", "1", 10);
    failedPut("a", "u");
    cluster.everywhere("a", value("u", 10));   // "u" carries the version acknowledged to "1"
    Report r = check();
    assertFalse(r.ok());
    assertEquals(WORKERS.size() * 2, r.wrongVersionCount(), "each copy and each final read: " + r.details());
  }

  @Test
  void anUnacknowledgedValueReadsBackAtOneVersionOnly() {
    put("a", "1", 10);
    failedPut("a", "u");
    get("a", 200, 12L, "u");
    get("a", 200, 12L, "u");
    cluster.everywhere("a", value("u", 12));
    assertTrue(check().ok(), check().details());

    get("a", 200, 13L, "u");                   // the same write at a second version
    Report r = check();
    assertFalse(r.ok());
    assertEquals(1, r.wrongVersionCount(), r.details());
  }

  @Test
  void aTombstoneAtAPutsVersionFails() {
    put("a", "1", 10);
    delete("a", 20);
    get("a", 404, 10L, null);
    Report r = check();
    assertEquals(1, r.wrongVersionCount(), r.details());
  }

  // ---- stale reads

  @Test
  void aReadOlderThanAnEarlierAcknowledgedWriteIsStaleAndFailsWithOverlappingQuorums() {
    put("a", "1", 10);
    put("a", "2", 20);
    get("a", 200, 10L, "1");        // sent after "2" was acked: stale
    get("a", 404, null, null);      // not found, and no delete: stale
    cluster.everywhere("a", value("2", 20));

    Report r = check();
    assertEquals(2, r.staleReads(), r.details());
    assertFalse(r.ok(), "R + W > N: a stale read is a failure. " + r.details());
    Report r1 = check(R1);
    assertEquals(2, r1.staleReads(), r1.details());
    assertTrue(r1.ok(), "R + W <= N: stale reads are a figure. " + r1.details());
  }

  @Test
  void notFoundIsStaleOnlyWhenEveryDeleteAndTheInitialAbsenceAreSuperseded() {
    put("a", "1", 10);
    delete("a", 20);
    put("a", "2", 30);
    get("a", 404, null, null);      // the delete was superseded by "2": stale
    assertEquals(1, check().staleReads(), check().details());

    long d = history.invoke("c", Op.Type.DELETE, "a", null, "w2");   // in flight: may be the newest
    get("a", 404, null, null);
    history.complete(d, -1, null, null);
    cluster.everywhere("a", value("2", 30));
    Report r = check();
    assertEquals(1, r.staleReads(), "only the first read: " + r.details());
  }

  // ---- the planted bugs: each would have passed with the old rules

  /** (a) A node's clock far ahead: a value written earlier in real time carries a much larger version. */
  @Test
  void plantedClockFarAheadHidesALaterWrite() {
    long far = 1_000_000_000L;
    put("a", "early", far);          // stamped by a node whose clock runs far ahead
    put("a", "late", 20);            // acknowledged after "early" completed, with a smaller version
    get("a", 200, far, "early");     // sent after "late" was acknowledged: it must not see "early"
    cluster.everywhere("a", value("early", far));
    assertTrue(passesOldRules(), "by version, \"early\" is newer than every acknowledged write");

    Report r = check();
    assertFalse(r.ok());
    assertEquals(1, r.staleReads(), r.details());
    assertEquals(1, r.lostPuts(), "\"late\" is never read back: " + r.details());
    assertTrue(r.lost().get(0).contains("a=late"), r.details());
  }

  /** (b) A replica's refusal counted as an acknowledgement: the write is on one replica only. */
  @Test
  void plantedRefusalCountedAsAnAckLosesTheWrite() {
    put("a", "1", 10);
    put("a", "2", 20);               // acknowledged by w1 and a refusal of w2 counted as an ack
    get("a", 200, 10L, "1");         // read from w2+w3
    cluster.on("w1", "a", value("2", 20));
    cluster.on("w2", "a", value("1", 10));
    cluster.on("w3", "a", value("1", 10));
    assertTrue(passesOldRules(), "the final reads happened to reach w1; the stale read was a figure");

    Report r = check();
    assertFalse(r.ok());
    assertEquals(1, r.lostPuts(), r.details());
    assertTrue(r.lost().get(0).contains("w2+w3"), r.details());
    assertEquals(1, r.staleReads(), r.details());
  }

  /** (c) A write coordinated twice: the same client write at two versions, re-applied over a newer one. */
  @Test
  void plantedDoubleCoordinationReappliesAnOldWrite() {
    put("a", "1", 10);
    get("a", 200, 10L, "1");
    put("a", "2", 20);
    get("a", 200, 30L, "1");         // "1" coordinated a second time (a late forward), stamped anew
    cluster.everywhere("a", value("1", 30));
    assertTrue(passesOldRules(), "version 30 is newer than every acknowledged version");

    Report r = check();
    assertFalse(r.ok());
    assertTrue(r.wrongVersionCount() > 0, r.details());
    assertEquals(1, r.staleReads(), r.details());
    assertEquals(1, r.lostPuts(), "\"2\" is hidden by the re-applied \"1\": " + r.details());
  }

  /** (d) An empty replica counted in a read quorum: a read after an acknowledged PUT answers 404. */
  @Test
  void plantedEmptyReplicaInAReadQuorumAnswersNotFound() {
    put("a", "1", 10);
    get("a", 404, null, null);       // w3 restarted empty and w2 had not got "1" yet: their pair says "not found"
    cluster.everywhere("a", value("1", 10));
    assertTrue(passesOldRules(), "the stale read was a figure");

    Report r = check();
    assertFalse(r.ok());
    assertEquals(1, r.staleReads(), r.details());
    assertTrue(check(R1).ok(), "with R=1 the same history is legal: " + check(R1).details());
  }

  // ---- samples

  @Test
  void aVersionGoingBackwardsWithinAnIncarnationIsFlaggedButNotAcrossARestart() {
    sample("w1", "1", "a", 10L);
    sample("w1", "1", "a", 20L);
    sample("w1", "2", "a", 5L);     // w1 restarted empty and received an older copy: fine
    sample("w1", "2", "a", 30L);
    sample("w2", "1", "a", 30L);
    sample("w2", "1", "a", null);   // handed off and dropped
    sample("w2", "1", "a", 10L);    // received again later: a new chain
    assertTrue(check().ok(), check().details());

    sample("w1", "2", "a", 25L);    // backwards within incarnation 2
    Report r = check();
    assertFalse(r.ok());
    assertEquals(1, r.backwardsCount(), r.details());
    assertTrue(r.backwards().get(0).contains("w1 (incarnation 2)"), r.details());
  }

  @Test
  void keysBelowTheReplicationFactorAreCountedFromTheLastSamples() {
    put("a", "1", 10);
    put("b", "1", 10);
    cluster.everywhere("a", value("1", 10));
    cluster.everywhere("b", value("1", 10));
    for (String w : WORKERS) sample(w, "1", "a", 10L);
    sample("w1", "1", "b", 10L);
    sample("w2", "1", "b", 10L);
    sample("w3", "1", "b", 10L);
    sample("w3", "1", "b", null);   // w3 lost its copy of b
    assertEquals(1, check().keysBelowN());
  }

  // ---- cost

  @Test
  void twoHundredThousandOpsAreCheckedQuickly() {
    Random rnd = new Random(1);
    int keys = 2000;
    long[] newest = new long[keys];
    String[] last = new String[keys];
    for (int i = 0; i < 200_000; i++) {
      int k = rnd.nextInt(keys);
      int dice = rnd.nextInt(10);
      if (dice < 5) {
        newest[k] = 1 + i;
        last[k] = "v" + i;
        put("k" + k, last[k], newest[k]);
      } else if (dice < 6) {
        newest[k] = 1 + i;
        last[k] = null;
        delete("k" + k, newest[k]);
      } else {
        get("k" + k, last[k] == null ? 404 : 200, newest[k] == 0 ? null : newest[k], last[k]);
      }
      if (i % 10 == 0) sample("w" + (1 + rnd.nextInt(3)), "1", "k" + k, newest[k] == 0 ? null : newest[k]);
    }
    for (int k = 0; k < keys; k++) {
      if (newest[k] > 0) cluster.everywhere("k" + k, last[k] == null ? tombstone(newest[k]) : value(last[k], newest[k]));
    }
    // CPU time of this thread (the checker runs on it): what the checker costs, whatever else runs on the machine
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long cpu = threads.getCurrentThreadCpuTime();
    long start = System.nanoTime();
    Report r = check();
    long cpuMillis = (threads.getCurrentThreadCpuTime() - cpu) / 1_000_000;
    long millis = (System.nanoTime() - start) / 1_000_000;
    assertTrue(r.ok(), r.details());
    assertEquals(200_000, r.attempted());
    System.out.println("HistoryChecker: 200,000 ops checked in " + cpuMillis + " ms of CPU (" + millis + " ms): " + r);
    assertTrue(cpuMillis < 5_000, "checking 200,000 ops took " + cpuMillis + " ms of CPU");
  }
}
