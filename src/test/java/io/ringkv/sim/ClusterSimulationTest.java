package io.ringkv.sim;

import static io.ringkv.sim.InMemoryPeers.CONTROLLER;
import static io.ringkv.sim.InMemoryPeers.is;
import static io.ringkv.sim.SimCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ringkv.cluster.ClusterView;
import io.ringkv.net.WriteOutcome;
import io.ringkv.worker.Outcomes;
import io.ringkv.sim.InMemoryPeers.Kind;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import io.ringkv.worker.Worker;
import io.ringkv.worker.WorkerApi;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A controller and four workers on the in-memory transport and virtual time: the real worker and
 * controller logic, with crashes, a lost message and a controller restart injected by the test.
 */
class ClusterSimulationTest {
  static final ActorTestKit testKit = ActorTestKit.create(ManualTime.config().withFallback(ConfigFactory.load()));
  static final ManualTime time = ManualTime.get(testKit.system());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void aCrashedWorkerTurnsDownAfterTheTimeoutAndEveryKeyIsBackAtThreeCopies() {
    try (SimCluster c = SimCluster.start(testKit, time, 4)) {
      Map<String, Versioned> acked = writeKeys(c, "crash", 500);
      c.stepUntil(() -> assertEveryKeyOnItsOwners(c, acked));
      Duration interval = c.base.heartbeatInterval();
      Duration timeout = c.base.heartbeatTimeout();

      ClusterView before = c.controllerView();
      long affected = acked.keySet().stream()
          .filter(k -> before.ownerIds(k, c.base.replicationFactor()).contains("worker3")).count();
      c.crashWorker("worker3");
      c.steps(timeout.minus(interval.multipliedBy(2)));
      assertTrue(c.controllerView().isUp("worker3"), "DOWN before the heartbeat timeout");
      c.steps(interval.multipliedBy(3));
      ClusterView down = c.controllerView();
      assertFalse(down.isUp("worker3"), "still UP a heartbeat interval after the timeout");
      assertEquals(List.of("worker1", "worker2", "worker4"), down.ring().nodes().stream().sorted().toList());

      c.stepUntil(() -> {
        long epoch = c.controllerView().epoch();
        for (WorkerApi w : c.live()) {
          Worker.Status s = await(w.status()).worker();
          assertEquals(epoch, s.view().epoch(), w.nodeId());
          assertFalse(s.rebalancing(), w.nodeId() + " is still rebalancing");
        }
        Map<String, List<String>> holders = c.holders(acked);
        holders.forEach((key, nodes) -> assertTrue(nodes.size() >= 3, () -> key + " has copies only on " + nodes));
      });
      long moved = 0;
      for (WorkerApi w : c.live()) moved += await(w.status()).worker().keysMoved();
      assertEquals(affected, moved, "each of worker3's keys moves once, and no other key moves");
    }
  }

  @Test
  void aWorkerThatMissesAViewPushCatchesUpThroughItsHeartbeat() {
    try (SimCluster c = SimCluster.start(testKit, time, 4)) {
      c.steps(c.base.heartbeatInterval().multipliedBy(3));
      long before = c.controllerView().epoch();
      InMemoryPeers.Rule dropped = c.peers.drop(is(Kind.PUSH_VIEW, CONTROLLER, "worker2"), 1);
      InMemoryPeers.Rule fetches = c.peers.watch(is(Kind.FETCH_VIEW, "worker2", CONTROLLER));

      c.crashWorker("worker4");
      c.stepUntil(() -> assertFalse(c.controllerView().isUp("worker4")));
      long after = c.controllerView().epoch();
      assertTrue(after > before);
      assertEquals(1, dropped.count(), "the controller's push to worker2 was not dropped");
      c.awaitReal(() -> {
        for (String id : List.of("worker1", "worker3")) assertEquals(after, epochOf(c.worker(id)), id);
      });

      c.stepUntil(() -> {
        Worker.Status s = await(c.worker("worker2").status()).worker();
        assertEquals(after, s.view().epoch());
        assertFalse(s.view().isUp("worker4"));
      });
      assertEquals(1, dropped.count(), "the controller pushed to worker2 again");
      assertTrue(fetches.count() >= 1, "worker2 did not fetch the view it learned about from a heartbeat");
    }
  }

  @Test
  void aControllerRestartMovesNothingAndEpochsKeepGrowing() {
    try (SimCluster c = SimCluster.start(testKit, time, 4)) {
      Map<String, Versioned> acked = writeKeys(c, "restart", 200);
      c.stepUntil(() -> assertEveryKeyOnItsOwners(c, acked));
      Map<String, List<String>> placement = c.holders(acked);
      Map<String, Long> moved = keysMoved(c);
      long epoch = c.controllerView().epoch();
      Duration interval = c.base.heartbeatInterval();

      c.stopController();
      c.steps(interval.multipliedBy(5));   // workers keep serving on their last view
      assertEquals(acked.get("restart-7").value(), Outcomes.newest(await(c.worker("worker2").read("restart-7"))).orElseThrow().value());
      InMemoryPeers.Rule pushes = c.peers.watch(is(Kind.PUSH_VIEW, CONTROLLER, null));
      InMemoryPeers.Rule registrations = c.peers.watch(is(Kind.REGISTER, null, CONTROLLER));
      c.startController();

      // a heartbeat interval per step: every worker's heartbeat (or re-registration) reaches the new controller
      c.steps(c.base.heartbeatTimeout().plus(interval));
      ClusterView resumed = c.controllerView();
      assertTrue(resumed.epoch() >= epoch, "epoch went back from " + epoch + " to " + resumed.epoch());
      assertEquals(List.of("worker1", "worker2", "worker3", "worker4"), resumed.ring().nodes().stream().sorted().toList());
      assertTrue(registrations.count() >= 1, "no worker registered with the new controller");
      assertEquals(0, pushes.count(), "the new controller pushed a changed view");
      for (WorkerApi w : c.live()) assertEquals(resumed.epoch(), epochOf(w), w.nodeId());
      assertEquals(moved, keysMoved(c));
      assertEquals(placement, c.holders(acked));

      c.crashWorker("worker1");
      c.stepUntil(() -> assertFalse(c.controllerView().isUp("worker1")));
      long later = c.controllerView().epoch();
      assertTrue(later > resumed.epoch());
      c.stepUntil(() -> {
        for (WorkerApi w : c.live()) assertEquals(later, epochOf(w), w.nodeId());
      });
    }
  }

  @Test
  void aWriteNeedsTwoReachableOwners() {
    try (SimCluster c = SimCluster.start(testKit, time, 4)) {
      ClusterView view = c.controllerView();
      int n = c.base.replicationFactor();
      String key = null;
      for (int i = 0; key == null; i++) if (view.ownerIds("cut-" + i, n).get(0).equals("worker1")) key = "cut-" + i;
      List<String> owners = view.ownerIds(key, n);
      WorkerApi primary = c.worker("worker1");

      // one replica silent: the primary and the other replica make W = 2 without waiting for it
      c.peers.silence(owners.get(2));
      WriteOutcome oneSilent = await(primary.write(key, "a"));
      assertTrue(Outcomes.ok(oneSilent), Outcomes.detail(oneSilent));
      assertEquals(List.of("worker1", owners.get(1)), oneSilent.ackedBy().stream().sorted().toList());
      c.peers.unsilence(owners.get(2));

      // cut off from both replicas: 503 at once (no virtual time passes), acked by itself at most
      c.peers.partition("worker1", owners.get(1));
      c.peers.partition("worker1", owners.get(2));
      WriteOutcome cut = await(primary.write(key, "b"));
      assertFalse(Outcomes.ok(cut));
      assertEquals(503, Outcomes.status(cut));
      assertTrue(List.of("worker1").containsAll(cut.ackedBy()), cut.ackedBy().toString());
      assertFalse(Outcomes.detail(cut).contains("deadline"), Outcomes.detail(cut));

      c.peers.heal("worker1", owners.get(1));
      WriteOutcome healed = await(primary.write(key, "c"));
      assertTrue(Outcomes.ok(healed), Outcomes.detail(healed));
      assertEquals("c", await(c.worker(owners.get(1)).local(key)).orElseThrow().value());
    }
  }

  /** Writes {@code count} keys, each through another worker; every write must be acknowledged. */
  private static Map<String, Versioned> writeKeys(SimCluster c, String prefix, int count) {
    List<WorkerApi> via = c.live();
    Map<String, CompletionStage<WriteOutcome>> pending = new LinkedHashMap<>();
    for (int i = 0; i < count; i++)
      pending.put(prefix + "-" + i, via.get(i % via.size()).write(prefix + "-" + i, "value-" + i));
    Map<String, Versioned> acked = new LinkedHashMap<>();
    pending.forEach((key, stage) -> {
      WriteOutcome r = await(stage);
      assertTrue(Outcomes.ok(r), () -> key + ": " + Outcomes.detail(r));
      assertTrue(r.ackedBy().size() >= c.base.writeQuorum(), () -> key + " acked by " + r.ackedBy());
      acked.put(key, new Versioned("value-" + key.substring(prefix.length() + 1), Version.parse(Outcomes.version(r))));
    });
    return acked;
  }

  /** Every key's acknowledged version sits on exactly its three owners, and nowhere else. */
  private static void assertEveryKeyOnItsOwners(SimCluster c, Map<String, Versioned> acked) {
    ClusterView view = c.controllerView();
    Map<String, List<String>> holders = c.holders(acked);
    holders.forEach((key, nodes) -> {
      List<String> owners = new ArrayList<>(view.ownerIds(key, c.base.replicationFactor()));
      owners.sort(null);
      assertEquals(owners, nodes.stream().sorted().toList(), key);
    });
  }

  private static Map<String, Long> keysMoved(SimCluster c) {
    Map<String, Long> out = new LinkedHashMap<>();
    for (WorkerApi w : c.live()) out.put(w.nodeId(), await(w.status()).worker().keysMoved());
    return out;
  }

  private static long epochOf(WorkerApi w) {
    return await(w.status()).worker().view().epoch();
  }
}
