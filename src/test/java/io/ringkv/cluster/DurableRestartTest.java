package io.ringkv.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ringkv.storage.Version;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * A crash of every node at once, as a power cut would do it: with a data directory (the default,
 * DURABILITY=fsync) every acknowledged write is there after the restart, on every owner, at its
 * version; without one (DURABILITY=memory) nothing is, which shows what the first test would see
 * if the data did not reach the disk.
 */
class DurableRestartTest {
  private static final Duration DEADLINE = Duration.ofSeconds(30);

  /** Writes 30 keys through the workers in turn; the acknowledged version of each. */
  private static Map<String, String> write(TestCluster c, String run) {
    Map<String, String> versions = new LinkedHashMap<>();
    List<String> workers = c.workers();
    for (int i = 0; i < 30; i++) {
      String key = run + "-" + i;
      TestCluster.Reply r = c.putKv(workers.get(i % workers.size()), key, "v-" + key);
      assertEquals(200, r.status(), r.toString());
      versions.put(key, r.json().path("version").asText());
    }
    return versions;
  }

  /** kill -9 as the others see it, of every worker and of the controller; then all started again. */
  private static long crashAndRestartEverything(TestCluster c) {
    long epochBefore = c.get(c.controllerUrl() + "/health").json().path("epoch").asLong();
    for (String w : c.workers()) c.crash(w);
    c.crash(TestCluster.CONTROLLER);
    c.restart(TestCluster.CONTROLLER);
    for (String w : c.workers()) c.restart(w);
    c.awaitUp(DEADLINE, c.workers());
    return epochBefore;
  }

  @Test
  void everyAcknowledgedWriteIsThereAfterEveryNodeCrashed() {
    try (TestCluster c = TestCluster.start(3)) {   // 3 owners of 3 workers: every worker holds every key
      String run = "durable-" + UUID.randomUUID().toString().substring(0, 8);
      Map<String, String> versions = write(c, run);
      long epochBefore = crashAndRestartEverything(c);

      for (Map.Entry<String, String> e : versions.entrySet()) {
        for (String w : c.workers()) {
          TestCluster.Reply own = c.getLocal(w, e.getKey());
          assertEquals(e.getValue(), own.json().path("version").asText(), w + " read its own copy back from disk: " + own);
        }
        TestCluster.Reply r = c.getKv(c.workers().get(0), e.getKey());
        assertEquals(200, r.status(), r.toString());
        assertEquals("v-" + e.getKey(), r.json().path("value").asText());
      }
      // the restarted controller resumed the workers' stored view: epochs only grow
      long epochAfter = c.get(c.controllerUrl() + "/health").json().path("epoch").asLong();
      assertTrue(epochAfter >= epochBefore, "epoch " + epochBefore + " before the crash, " + epochAfter + " after");
      // and a new write of a key is stamped above the version it had before the crash
      String key = versions.keySet().iterator().next();
      TestCluster.Reply again = c.putKv(c.workers().get(1), key, "after");
      assertEquals(200, again.status(), again.toString());
      assertTrue(Version.parse(again.json().path("version").asText()).isNewerThan(Version.parse(versions.get(key))), again.toString());
    }
  }

  @Test
  void withoutADataDirectoryNothingSurvives() {
    try (TestCluster c = TestCluster.start(3, Map.of("ringkv.storage.durability", "memory"))) {
      String run = "memory-" + UUID.randomUUID().toString().substring(0, 8);
      Map<String, String> versions = write(c, run);
      crashAndRestartEverything(c);
      for (String key : versions.keySet()) assertEquals(404, c.getKv(c.workers().get(0), key).status(), key);
    }
  }

  @Test
  void hintsForAnUnreachableOwnerSurviveARestartOfTheirCoordinators() {
    // a long heartbeat timeout: worker3 stays an owner (UP in the view) while it cannot be reached
    try (TestCluster c = TestCluster.start(3, Map.of(TestCluster.STEADY_MEMBERSHIP, "60s"))) {
      c.crash("worker3");
      String run = "hinted-" + UUID.randomUUID().toString().substring(0, 8);
      for (int i = 0; i < 20; i++) {
        TestCluster.Reply r = c.putKv(i % 2 == 0 ? "worker1" : "worker2", run + "-" + i, "v" + i);
        assertEquals(200, r.status(), r.toString());
        assertEquals(2, r.json().path("replicas_acked").asInt(), r.toString());
      }
      TestCluster.awaitAssert(DEADLINE, () -> assertEquals(20, hintsPending(c, "worker1") + hintsPending(c, "worker2")));

      for (String w : List.of("worker1", "worker2")) {
        c.crash(w);
        c.restart(w);
      }
      assertEquals(20, hintsPending(c, "worker1") + hintsPending(c, "worker2"), "the hints were read back from disk");

      c.restart("worker3");
      TestCluster.awaitAssert(DEADLINE, () -> assertEquals(0, hintsPending(c, "worker1") + hintsPending(c, "worker2")));
      for (int i = 0; i < 20; i++) assertEquals("v" + i, c.localValue("worker3", run + "-" + i), run + "-" + i);
    }
  }

  @Test
  void aWorkerBackFromARestartWithItsDataIsSentOnlyWhatItMissed() {
    try (TestCluster c = TestCluster.start(3, Map.of(TestCluster.STEADY_MEMBERSHIP, "60s"))) {
      String run = "catchup-" + UUID.randomUUID().toString().substring(0, 8);
      for (int i = 0; i < 300; i++) assertEquals(200, c.putKv(c.workers().get(i % 3), run + "-" + i, "v" + i).status());
      long movedBefore = keysMoved(c, "worker1") + keysMoved(c, "worker2");
      c.crash("worker3");
      // written while it is away: 2 owners acknowledge, worker3 misses them
      for (int i = 0; i < 10; i++) assertEquals(200, c.putKv("worker1", run + "-" + i, "while-away-" + i).status());
      c.restart("worker3");
      TestCluster.awaitAssert(DEADLINE, () -> {
        assertFalse(c.get(c.url("worker3") + "/status").json().path("joining").asBoolean(true), "worker3 is JOINING");
        for (int i = 0; i < 300; i++)
          assertEquals(i < 10 ? "while-away-" + i : "v" + i, c.localValue("worker3", run + "-" + i), run + "-" + i);
      });
      long moved = keysMoved(c, "worker1") + keysMoved(c, "worker2") - movedBefore;
      // a full push would have sent all 300 keys from each of the two others
      assertTrue(moved <= 20, "the others sent " + moved + " keys to worker3 (it missed 10)");
    }
  }

  private static long keysMoved(TestCluster c, String worker) {
    return c.get(c.url(worker) + "/status").json().path("keys_moved").asLong();
  }

  private static int hintsPending(TestCluster c, String worker) {
    return c.get(c.url(worker) + "/status").json().path("hints").path("pending").asInt(-1);
  }
}
