package io.ringkv.sim;

import static io.ringkv.sim.SimCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ringkv.check.History;
import io.ringkv.check.HistoryChecker;
import io.ringkv.check.Observation;
import io.ringkv.check.Op;
import io.ringkv.check.Report;
import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.net.Peers;
import io.ringkv.net.Forwarded;
import io.ringkv.net.WriteOutcome;
import io.ringkv.storage.Applied;
import io.ringkv.worker.Outcomes;
import java.util.Collections;
import io.ringkv.sim.InMemoryPeers.Kind;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Versioned;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiFunction;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The history checker fails on a real bug. Planted in the transport (test code only): worker1's
 * replicate calls to worker2 are acknowledged without being delivered, so worker1, coordinating a
 * write, counts W=2 (itself and worker2) while only its own copy exists; its call to the third owner
 * is slow. Then worker1 crashes: the checker must report every such acknowledged write as lost.
 * The same scenario without the planted bug loses nothing, so the loss is the bug's doing.
 */
class PlantedBugTest {
  static final ActorTestKit testKit = ActorTestKit.create(ManualTime.config().withFallback(ConfigFactory.load()));
  static final ManualTime time = ManualTime.get(testKit.system());
  static final int KEYS = 5;

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void theCheckerReportsTheWritesLostWhenAReplicaIsAcknowledgedWithoutACopy() {
    Report r = runScenario(true);
    System.out.println("PlantedBug (acknowledge before the quorum): " + r);
    assertFalse(r.ok(), r.details());
    assertEquals(KEYS, r.ackedWrites(), r.details());
    assertEquals(KEYS, r.lostPuts(), "every acknowledged write must be reported lost: " + r.details());
    assertTrue(r.lost().get(0).contains("not found"), r.details());
    assertEquals(KEYS, r.keysBelowN(), "no copy is left anywhere: " + r.details());
  }

  @Test
  void theSameScenarioWithoutTheBugLosesNothing() {
    Report r = runScenario(false);
    System.out.println("PlantedBug control (no bug): " + r);
    assertTrue(r.ok(), r.details());
    assertEquals(KEYS, r.ackedWrites(), r.details());
    assertEquals(0, r.keysBelowN(), "every key is back at 3 copies: " + r.details());
  }

  /**
   * Writes {@link #KEYS} keys owned by worker1 (primary), worker2 and a third worker through
   * worker1 while worker1's replicate calls to the third owner are held back, crashes worker1,
   * restarts it, lets the cluster settle and checks the history.
   */
  private static Report runScenario(boolean plantBug) {
    AtomicBoolean planted = new AtomicBoolean(!plantBug);
    BiFunction<String, Peers, Peers> transport = (id, p) ->
        id.equals("worker1") && planted.compareAndSet(false, true) ? new AckWithoutDelivery(p, "worker2") : p;
    History history = new History();
    List<Observation> samples = new ArrayList<>();
    try (SimCluster c = SimCluster.start(testKit, time, 4, SimChecks.SETTINGS, transport)) {
      ClusterView view = c.controllerView();
      List<String> keys = new ArrayList<>();
      for (int i = 0; keys.size() < KEYS; i++) {
        List<String> owners = view.ownerIds("planted-" + i, 3);
        if (owners.get(0).equals("worker1") && owners.get(1).equals("worker2")) keys.add("planted-" + i);
      }
      // the third owner's copy is slow to arrive: it is still in flight when worker1 dies
      c.peers.delay(call -> call.kind() == Kind.REPLICATE && call.from().equals("worker1") && !call.to().equals("worker2"),
          Duration.ofSeconds(30), Integer.MAX_VALUE);

      for (String key : keys) {
        long id = history.invoke("client", Op.Type.PUT, key, "value-of-" + key, "worker1");
        WriteOutcome r = await(c.worker("worker1").write(key, "value-of-" + key));
        history.complete(id, Outcomes.status(r), Outcomes.version(r), null);
        assertTrue(Outcomes.ok(r), key + ": " + Outcomes.detail(r));
        assertEquals(List.of("worker1", "worker2"), r.ackedBy().stream().sorted().toList(), key);
      }
      for (String node : List.of("worker1", "worker2")) SimChecks.sample(c, node, keys, samples);

      c.crashWorker("worker1");
      c.peers.clearRules();
      c.stepUntil(() -> assertFalse(c.controllerView().isUp("worker1")));
      c.restartWorker("worker1");
      SimChecks.settle(c);
      SimChecks.awaitThreeCopies(c, keys);
      assertEquals(0, c.peers.heldCount());
      for (String node : List.of("worker1", "worker2", "worker3", "worker4"))
        SimChecks.sample(c, node, keys, samples);
      return HistoryChecker.check(history, samples, SimChecks.finalState(c), SimChecks.QUORUM);
    }
  }

  /** The planted bug: replicate calls to {@code victim} are acknowledged and never delivered. */
  private static final class AckWithoutDelivery implements Peers {
    private final Peers delegate;
    private final String victim;

    AckWithoutDelivery(Peers delegate, String victim) {
      this.delegate = delegate;
      this.victim = victim;
    }

    @Override
    public CompletionStage<List<Optional<Versioned>>> copies(Member to, List<String> keys) {
      return delegate.copies(to, keys);
    }

    @Override
    public CompletionStage<long[]> tree(Member to, io.ringkv.net.Frames.TreeQuery query) {
      return delegate.tree(to, query);
    }

    @Override
    public CompletionStage<List<io.ringkv.storage.KeyVersion>> keyVersions(Member to, io.ringkv.net.Frames.SegmentQuery query) {
      return delegate.keyVersions(to, query);
    }

    @Override
    public CompletionStage<List<Applied>> replicate(Member to, List<Entry> entries) {
      if (to.id().equals(victim)) return CompletableFuture.completedFuture(Collections.nCopies(entries.size(), Applied.STORED));
      return delegate.replicate(to, entries);
    }

    @Override
    public CompletionStage<Optional<Versioned>> fetch(Member to, String key) {
      return delegate.fetch(to, key);
    }

    @Override
    public CompletionStage<WriteOutcome> forward(Member to, Forwarded write) {
      return delegate.forward(to, write);
    }
  }
}
