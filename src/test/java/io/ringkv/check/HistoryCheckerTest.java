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

/** Hand-built histories, each with one anomaly (or none), and what the checker makes of them. */
class HistoryCheckerTest {
  private static final List<String> WORKERS = List.of("w1", "w2", "w3");

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

  private void delete(String key, long ts) {
    long id = history.invoke("c", Op.Type.DELETE, key, null, "w2");
    now.incrementAndGet();
    history.complete(id, 200, v(ts), null);
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

  private Report check() {
    return HistoryChecker.check(history, samples, cluster, 3);
  }

  /** The final state: what a quorum read through each worker returns. */
  private static final class Cluster implements FinalState {
    final Map<String, Map<String, Versioned>> perWorker = new HashMap<>();

    void everywhere(String key, Versioned v) {
      for (String w : WORKERS) on(w, key, v);
    }

    void on(String worker, String key, Versioned v) {
      perWorker.computeIfAbsent(worker, x -> new HashMap<>()).put(key, v);
    }

    @Override
    public Optional<Versioned> read(String viaNode, String key) {
      return Optional.ofNullable(perWorker.getOrDefault(viaNode, Map.of()).get(key));
    }

    @Override
    public List<String> workers() {
      return WORKERS;
    }
  }

  // ---- the checks

  @Test
  void aCleanHistoryPasses() {
    put("a", "1", 10);
    get("a", 200, 10L, "1");
    put("a", "2", 20);
    get("a", 200, 20L, "2");
    put("b", "x", 15);
    delete("b", 30);
    get("b", 404, null, null);
    long failed = history.invoke("c", Op.Type.PUT, "c", "lost-in-transit", "w2");
    history.complete(failed, 503, null, null);
    history.invoke("c", Op.Type.PUT, "c", "never-answered", "w3");
    cluster.everywhere("a", value("2", 20));
    cluster.everywhere("b", Versioned.tombstone(Version.parse(v(30))));
    sample("w1", "1", "a", 10L);
    sample("w1", "1", "a", 20L);
    sample("w2", "1", "a", null);
    sample("w2", "1", "a", 20L);

    Report r = check();
    assertTrue(r.ok(), r.details());
    assertEquals(0, r.lostWrites());
    assertEquals(0, r.staleReads(), r.details());
    assertEquals(9, r.attempted());
    assertEquals(4, r.ackedWrites());
    assertEquals(3, r.definiteReads());
    assertEquals(Map.of(503, 1L), r.failedByStatus());
    assertEquals(1, r.indeterminate());
    assertEquals(2 * WORKERS.size(), r.finalReads(), "one final read per acked key and worker");
    assertTrue(r.toString().contains("lost=0"), r.toString());
  }

  @Test
  void anAcknowledgedPutMissingOnOneWorkerIsLost() {
    put("a", "1", 10);
    put("a", "2", 20);
    cluster.everywhere("a", value("2", 20));
    cluster.on("w3", "a", value("1", 10));    // w3 reads back the older version

    Report r = check();
    assertFalse(r.ok());
    assertEquals(1, r.lostPuts(), r.details());
    assertTrue(r.lost().get(0).contains("a=2") && r.lost().get(0).contains("w3"), r.details());
  }

  @Test
  void anAcknowledgedPutThatIsNotFoundIsLostUnlessADeleteCouldExplainIt() {
    put("a", "1", 10);
    cluster.everywhere("a", value("1", 10));
    cluster.perWorker.get("w2").remove("a");
    assertEquals(1, check().lostPuts());

    // a DELETE that was not acknowledged may have been applied with a newer version
    long d = history.invoke("c", Op.Type.DELETE, "a", null, "w2");
    history.complete(d, 503, null, null);
    assertTrue(check().ok(), check().details());
  }

  @Test
  void theSameVersionWithAnotherValueIsLost() {
    put("a", "1", 10);
    cluster.everywhere("a", value("not-1", 10));
    assertEquals(1, check().lostPuts());
  }

  @Test
  void aNewerVersionOrANewerTombstoneKeepsAPut() {
    put("a", "1", 10);
    put("b", "1", 10);
    cluster.everywhere("a", value("written-but-not-acked", 11));
    cluster.everywhere("b", Versioned.tombstone(Version.parse(v(12))));
    assertTrue(check().ok(), check().details());
  }

  @Test
  void aDeleteResurrectedByAnOlderVersionIsLost() {
    put("a", "1", 10);
    delete("a", 20);
    cluster.everywhere("a", Versioned.tombstone(Version.parse(v(20))));
    cluster.on("w2", "a", value("1", 10));    // the tombstone is gone and the old value is back

    Report r = check();
    assertFalse(r.ok());
    assertEquals(1, r.resurrectedDeletes(), r.details());
    assertEquals(0, r.lostPuts(), "w2 still returns the put's own version: only the delete is undone. " + r.details());
  }

  @Test
  void aDeletedKeyThatIsNotFoundOrNewerIsFine() {
    put("a", "1", 10);
    delete("a", 20);
    put("b", "1", 10);
    delete("b", 20);
    put("b", "2", 30);
    cluster.everywhere("b", value("2", 30));    // "a" is not found anywhere
    assertTrue(check().ok(), check().details());
  }

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
  void aReadOlderThanAnEarlierAcknowledgedWriteIsStale() {
    put("a", "1", 10);
    put("a", "2", 20);
    get("a", 200, 10L, "1");        // sent after "2" was acked: stale
    get("a", 404, null, null);      // not found, and no delete: stale
    cluster.everywhere("a", value("2", 20));

    Report r = check();
    assertEquals(2, r.staleReads(), r.details());
    assertTrue(r.ok(), "stale reads are a figure, not a lost write");
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

  @Test
  void twoHundredThousandOpsAreCheckedQuickly() {
    Random rnd = new Random(1);
    int keys = 2000;
    long[] newest = new long[keys];
    String[] last = new String[keys];
    for (int i = 0; i < 200_000; i++) {
      int k = rnd.nextInt(keys);
      if (rnd.nextBoolean()) {
        newest[k] = 1 + i;
        last[k] = "v" + i;
        put("k" + k, last[k], newest[k]);
      } else {
        get("k" + k, newest[k] == 0 ? 404 : 200, newest[k] == 0 ? null : newest[k], null);
      }
      if (i % 10 == 0) sample("w" + (1 + rnd.nextInt(3)), "1", "k" + k, newest[k] == 0 ? null : newest[k]);
    }
    for (int k = 0; k < keys; k++) if (newest[k] > 0) cluster.everywhere("k" + k, value(last[k], newest[k]));
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
