package io.ringkv.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A worker that shuts down on purpose (SIGTERM, kubectl scale --replicas=0) leaves: the controller
 * shows it DOWN at once, not after the heartbeat timeout, and by the time the process is gone every
 * key it held is on its new owners, so no acknowledged write is lost and every key has 3 copies.
 */
class GracefulLeaveTest {
  /** Long enough that a DOWN seen within LEAVE_DOWN_DEADLINE cannot come from heartbeat detection. */
  private static final String HEARTBEAT_TIMEOUT = "10s";
  private static final Duration LEAVE_DOWN_DEADLINE = Duration.ofSeconds(4);
  private static final int KEYS = 400;

  private TestCluster cluster;

  @BeforeEach
  void startCluster() {
    cluster = TestCluster.start(4, Map.of("ringkv.membership.heartbeat-timeout", HEARTBEAT_TIMEOUT));
  }

  @AfterEach
  void stopCluster() {
    if (cluster != null) cluster.close();
  }

  @Test
  void aLeavingWorkerIsDownAtOnceAndHandsEveryKeyOver() throws Exception {
    List<String> workers = cluster.workers();
    String leaver = "worker3";
    Map<String, String> acked = new ConcurrentHashMap<>();
    for (int i = 0; i < KEYS; i++) {
      String key = "leave-" + i;
      TestCluster.Reply r = cluster.putKv(workers.get(i % workers.size()), key, "v" + i);
      assertEquals(200, r.status(), r.toString());
      acked.put(key, "v" + i);
    }

    // a client keeps writing through worker1 while worker3 leaves
    AtomicBoolean writing = new AtomicBoolean(true);
    AtomicLong failed = new AtomicLong();
    Thread writer = new Thread(() -> {
      for (int i = 0; writing.get(); i++) {
        String key = "during-" + i;
        TestCluster.Reply r = cluster.putKv("worker1", key, "d" + i);
        if (r.status() == 200) acked.put(key, "d" + i);
        else failed.incrementAndGet();
      }
    });
    writer.start();

    // watch /nodes from the moment the stop begins
    long start = System.nanoTime();
    AtomicLong downAfterMillis = new AtomicLong(-1);
    Thread watcher = new Thread(() -> {
      while (downAfterMillis.get() < 0 && System.nanoTime() - start < Duration.ofSeconds(30).toNanos()) {
        if ("DOWN".equals(cluster.statusOf(leaver))) downAfterMillis.set((System.nanoTime() - start) / 1_000_000);
        TestCluster.pause();
      }
    });
    watcher.start();
    cluster.stop(leaver);   // returns once the leaver's ActorSystem is gone, i.e. after its hand-off
    long goneAfterMillis = (System.nanoTime() - start) / 1_000_000;
    watcher.join();
    writing.set(false);
    writer.join();
    System.out.println("[GracefulLeaveTest] " + leaver + " DOWN after " + downAfterMillis.get() + " ms, gone after "
        + goneAfterMillis + " ms; " + acked.size() + " writes acknowledged, " + failed.get() + " refused");

    assertTrue(downAfterMillis.get() >= 0 && downAfterMillis.get() <= LEAVE_DOWN_DEADLINE.toMillis(),
        leaver + " should be DOWN at once after a leave, but was DOWN after " + downAfterMillis.get()
            + " ms (heartbeat timeout " + HEARTBEAT_TIMEOUT + ")");

    // no waiting: the leaver handed its keys over before it exited, so the 3 survivors hold every
    // key it owned; keys written during the leave were routed on the new view from the start
    List<String> survivors = new ArrayList<>(workers);
    survivors.remove(leaver);
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < KEYS; i++) {
      String key = "leave-" + i;
      for (String w : survivors) if (!("v" + i).equals(cluster.localValue(w, key))) missing.add(key + "@" + w);
    }
    assertTrue(missing.isEmpty(), missing.size() + " copies missing right after the leave: "
        + missing.subList(0, Math.min(10, missing.size())));

    // every acknowledged write, including those made during the leave, reads back from every survivor
    TestCluster.awaitAssert(Duration.ofSeconds(5), () -> {
      for (var e : acked.entrySet())
        for (String w : survivors)
          { TestCluster.Reply rr = cluster.getKv(w, e.getKey()); assertEquals(e.getValue(), rr.json().path("value").asText(null), e.getKey() + " from " + w + ": " + rr); }
    });
  }
}
