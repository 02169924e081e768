package io.ringkv.sim;

import static io.ringkv.sim.SimCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ringkv.cluster.ClusterView;
import io.ringkv.net.WriteOutcome;
import io.ringkv.sim.InMemoryPeers.Kind;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import io.ringkv.worker.Outcomes;
import io.ringkv.worker.ReadOutcome;
import io.ringkv.worker.WorkerApi;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Anti-entropy on the in-memory transport and virtual time: replicas that missed writes for longer
 * than any hint lives converge through the hash tree exchanges alone (no read runs), and a delete
 * that an owner missed is not purged while that owner cannot be exchanged with.
 */
class AntiEntropySimulationTest {
  static final ActorTestKit testKit = ActorTestKit.create(ManualTime.config().withFallback(ConfigFactory.load()));
  static final ManualTime time = ManualTime.get(testKit.system());
  static final Duration INTERVAL = Duration.ofSeconds(1);
  static final Duration GRACE = Duration.ofSeconds(2);
  static final Config SETTINGS = ConfigFactory.parseString("""
      ringkv.anti-entropy.interval = 1s
      ringkv.anti-entropy.hint-window = 1s
      ringkv.storage.tombstone-ttl = 2s
      """).withFallback(SimChecks.SETTINGS);

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void aReplicaThatMissedWritesForLongerThanAnyHintConvergesWithinTwoExchangeIntervals() {
    try (SimCluster c = SimCluster.start(testKit, time, 4, SETTINGS, (id, p) -> p)) {
      // every replica bound for worker3 is lost, first copies and hints alike, for longer than a hint lives
      InMemoryPeers.Rule lost = c.peers.drop(call -> call.kind() == Kind.REPLICATE && call.to().equals("worker3"), Integer.MAX_VALUE);
      // and anti-entropy does not reach it meanwhile
      c.peers.drop(call -> (call.kind() == Kind.TREE || call.kind() == Kind.KEYS)
          && (call.to().equals("worker3") || call.from().equals("worker3")), Integer.MAX_VALUE);
      Map<String, Versioned> acked = write(c, "missed", 300, null);
      // past the hint window on the workers' clocks (real time) and in virtual time
      long until = System.nanoTime() + c.base.hintWindow().plus(INTERVAL).toNanos();
      while (System.nanoTime() < until) c.step();
      Map<String, List<String>> before = c.holders(acked);
      long short_ = acked.keySet().stream().filter(k -> before.get(k).size() < 3).count();
      assertTrue(short_ > 50, "worker3 owns about 3/4 of the keys and received none of them: " + short_ + " short");
      assertTrue(lost.count() > 0);

      c.peers.clearRules();
      long healed = c.nowMillis();
      c.stepUntil(() -> assertAllOwnersHold(c, acked));
      long took = c.nowMillis() - healed;
      assertTrue(took <= 2 * INTERVAL.toMillis(), "converged after " + took + " ms of virtual time");
      long repaired = 0;
      for (WorkerApi w : c.live()) repaired += await(w.antiEntropy()).keysRepaired();
      assertTrue(repaired >= short_, "anti-entropy repaired " + repaired + " keys of " + short_);
    }
  }

  @Test
  void aDeleteThatAnOwnerMissedIsNotPurgedUntilThatOwnerHasIt() {
    try (SimCluster c = SimCluster.start(testKit, time, 4, SETTINGS, (id, p) -> p)) {
      ClusterView view = c.controllerView();
      // keys worker1 coordinates (their primary) and worker3 also owns
      List<String> keys = new ArrayList<>();
      for (int i = 0; keys.size() < 40; i++) {
        List<String> owners = view.ownerIds("gone-" + i, 3);
        if (owners.get(0).equals("worker1") && owners.contains("worker3")) keys.add("gone-" + i);
      }
      Map<String, Versioned> written = new LinkedHashMap<>();
      for (String k : keys) written.putAll(write(c, k, 1, c.worker("worker1")));
      c.stepUntil(() -> assertAllOwnersHold(c, written));

      // worker3 cannot reach the other workers (it stays UP: the controller hears it); worker1 deletes
      for (String w : List.of("worker1", "worker2", "worker4")) c.peers.partition("worker3", w);
      for (String k : keys) {
        WriteOutcome o = await(c.worker("worker1").write(k, null));
        assertTrue(Outcomes.ok(o), k + ": " + Outcomes.detail(o));
      }
      // the coordinator dies with its hints for worker3; the grace period passes, on the workers' clocks
      // (real time) and in virtual time, many times over
      c.crashWorker("worker1");
      long until = System.nanoTime() + GRACE.multipliedBy(3).toNanos() / 2;
      while (System.nanoTime() < until) c.step();
      for (String k : keys) {
        for (WorkerApi w : c.live()) {
          if (w.nodeId().equals("worker3")) {
            assertFalse(await(w.local(k)).orElseThrow().isTombstone(), "worker3 missed the delete of " + k);
          }
        }
        long tombstones = c.live().stream().filter(w -> await(w.local(k)).map(Versioned::isTombstone).orElse(false)).count();
        assertTrue(tombstones >= 1, k + ": the tombstone was purged while worker3 still holds the value");
      }

      for (String w : List.of("worker2", "worker4")) c.peers.heal("worker3", w);
      // the delete reaches worker3, and then every tombstone goes: the key never reads again meanwhile
      c.stepUntil(() -> {
        for (String k : keys) assertNotFound(c, k);
        for (String k : keys)
          for (WorkerApi w : c.live()) assertEquals(Optional.empty(), await(w.local(k)), k + " on " + w.nodeId() + ": " + await(w.antiEntropy()));
      });
      c.steps(GRACE);
      for (String k : keys) assertNotFound(c, k);
    }
  }

  @Test
  void aWorkerAwayLongerThanTheGracePeriodRejoinsEmptyAndBringsNoDeletedKeyBack() {
    try (SimCluster c = SimCluster.start(testKit, time, 4, SETTINGS, (id, p) -> p)) {
      Map<String, Versioned> written = write(c, "old", 200, null);
      c.stepUntil(() -> assertAllOwnersHold(c, written));
      c.cutOff("worker3");
      c.stepUntil(() -> assertFalse(c.controllerView().isUp("worker3")));
      List<String> deleted = new ArrayList<>(written.keySet()).subList(0, 100);
      for (String k : deleted) assertTrue(Outcomes.ok(await(c.worker("worker1").write(k, null))), k);
      Map<String, Versioned> kept = new LinkedHashMap<>(written);
      deleted.forEach(kept::remove);

      // the grace period passes (the workers' clocks run on real time, the controller's on virtual
      // time), and the three others purge their tombstones once they have exchanged them
      long until = System.nanoTime() + GRACE.multipliedBy(3).toNanos() / 2;
      while (System.nanoTime() < until) c.step();
      c.stepUntil(() -> {
        for (String k : deleted)
          for (String w : List.of("worker1", "worker2", "worker4"))
            assertEquals(Optional.empty(), await(c.worker(w).local(k)), k + " on " + w);
      });
      long stale = deleted.stream().filter(k -> await(c.worker("worker3").local(k)).isPresent()).count();
      assertTrue(stale > 50, "worker3 still holds the values of " + stale + " deleted keys");

      c.reconnect("worker3");
      c.stepUntil(() -> {
        assertTrue(c.controllerView().isUp("worker3"));
        c.noneJoining();
        assertAllOwnersHold(c, kept);
      });
      for (String k : deleted) assertNotFound(c, k);
      c.steps(INTERVAL.multipliedBy(3));   // anti-entropy rounds, with worker3 among the owners again
      for (String k : deleted) {
        assertNotFound(c, k);
        for (WorkerApi w : c.live()) assertEquals(Optional.empty(), await(w.local(k)), k + " on " + w.nodeId());
      }
    }
  }

  @Test
  void treeAndKeyCallsOutsideTheLayoutAreBadInputAndAnotherEpochIsRefused() {
    try (SimCluster c = SimCluster.start(testKit, time, 3, SETTINGS, (id, p) -> p)) {
      WorkerApi w = c.worker("worker1");
      long epoch = await(w.status()).worker().view().epoch();
      int ranges = c.controllerView().ring().tokens().length;
      org.junit.jupiter.api.Assertions.assertThrows(io.ringkv.net.Wire.BadInput.class,
          () -> w.tree(new io.ringkv.net.Frames.TreeQuery(epoch, 3, new int[] {0})));
      org.junit.jupiter.api.Assertions.assertThrows(io.ringkv.net.Wire.BadInput.class,
          () -> w.tree(new io.ringkv.net.Frames.TreeQuery(epoch, 1, new int[io.ringkv.net.Frames.MAX_TREE_VALUES])));
      assertFailsWith(io.ringkv.net.Wire.BadInput.class, w.tree(new io.ringkv.net.Frames.TreeQuery(epoch, 0, new int[] {ranges})));
      assertFailsWith(IllegalStateException.class, w.tree(new io.ringkv.net.Frames.TreeQuery(epoch + 1, 0, new int[] {0})));
      assertFailsWith(IllegalStateException.class, w.keyVersions(new io.ringkv.net.Frames.SegmentQuery(epoch + 1, new int[] {0})));
      assertEquals(ranges, await(w.tree(new io.ringkv.net.Frames.TreeQuery(epoch, 0,
          java.util.stream.IntStream.range(0, ranges).toArray()))).length);
    }
  }

  private static void assertFailsWith(Class<? extends Throwable> type, java.util.concurrent.CompletionStage<?> stage) {
    try {
      stage.toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable cause = e.getCause() instanceof java.util.concurrent.CompletionException && e.getCause().getCause() != null
          ? e.getCause().getCause() : e.getCause();
      assertTrue(type.isInstance(cause), "failed with " + cause);
      return;
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("the call did not fail");
  }

  private static void assertNotFound(SimCluster c, String key) {
    for (WorkerApi w : c.live()) {
      ReadOutcome r = await(w.read(key));
      assertTrue(Outcomes.ok(r), key + ": " + Outcomes.detail(r));
      assertFalse(Outcomes.found(r), key + " reads again through " + w.nodeId() + ": " + Outcomes.newest(r));
    }
  }

  /** Every owner (in the controller's view) holds each key's acknowledged version: its own copy, no read involved. */
  private static void assertAllOwnersHold(SimCluster c, Map<String, Versioned> acked) {
    ClusterView view = c.controllerView();
    Map<String, List<String>> holders = c.holders(acked);
    holders.forEach((key, nodes) -> assertTrue(nodes.containsAll(view.ownerIds(key, 3)),
        () -> key + " is held by " + nodes + ", owners " + view.ownerIds(key, 3)));
  }

  /** {@code count} keys written (through {@code via}, or spread over the workers); their acknowledged versions. */
  private static Map<String, Versioned> write(SimCluster c, String prefix, int count, WorkerApi via) {
    Map<String, CompletionStage<WriteOutcome>> pending = new LinkedHashMap<>();
    List<WorkerApi> live = c.live();
    for (int i = 0; i < count; i++) {
      String key = count == 1 ? prefix : prefix + "-" + i;
      pending.put(key, (via != null ? via : live.get(i % live.size())).write(key, "value-" + key));
    }
    Map<String, Versioned> acked = new LinkedHashMap<>();
    pending.forEach((key, stage) -> {
      WriteOutcome r = await(stage);
      assertTrue(Outcomes.ok(r), () -> key + ": " + Outcomes.detail(r));
      acked.put(key, new Versioned("value-" + key, Version.parse(Outcomes.version(r))));
    });
    return acked;
  }
}
