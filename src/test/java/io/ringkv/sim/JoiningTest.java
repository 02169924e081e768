package io.ringkv.sim;

import static io.ringkv.sim.InMemoryPeers.is;
import static io.ringkv.sim.SimCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ringkv.cluster.ClusterView;
import io.ringkv.net.WriteOutcome;
import io.ringkv.sim.InMemoryPeers.Kind;
import io.ringkv.worker.Outcomes;
import io.ringkv.worker.ReadOutcome;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A worker that restarts empty is JOINING until every UP worker has settled the epoch it joined at
 * (pushed it the keys it owns): it does not answer replica reads, nor count itself in its own reads.
 * Before, it counted at once: a key acknowledged by it and one other owner, whose third owner had
 * missed the write, read as "not found" through the third owner while the restarted one was empty.
 */
class JoiningTest {
  static final ActorTestKit testKit = ActorTestKit.create(ManualTime.config().withFallback(ConfigFactory.load()));
  static final ManualTime time = ManualTime.get(testKit.system());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void aRestartedWorkerCountsInNoReadUntilItHasItsData() {
    try (SimCluster c = SimCluster.start(testKit, time, 4, SimChecks.SETTINGS, (id, p) -> p)) {
      ClusterView view = c.controllerView();
      String key = null;
      for (int i = 0; key == null; i++) if (view.ownerIds("joining-" + i, 3).get(0).equals("worker1")) key = "joining-" + i;
      List<String> owners = view.ownerIds(key, 3);
      String third = owners.get(2);

      // the third owner misses the write, and every copy it would get later (hints, pushes)
      c.peers.drop(is(Kind.REPLICATE, null, third), Integer.MAX_VALUE);
      WriteOutcome w = await(c.worker("worker1").write(key, "acked"));
      assertTrue(w instanceof WriteOutcome.Acked, w.toString());
      assertEquals(List.of("worker1", owners.get(1)), w.ackedBy().stream().sorted().toList());

      c.crashWorker("worker1");
      c.stepUntil(() -> assertFalse(c.controllerView().isUp("worker1")));
      // the restarted worker1 (empty) gets its keys late: the pushes to it are held
      c.peers.delay(is(Kind.REPLICATE, null, "worker1"), Duration.ofSeconds(20), Integer.MAX_VALUE);
      c.restartWorker("worker1");
      c.stepUntil(() -> assertTrue(await(c.worker(third).status()).worker().view().isUp("worker1")));
      assertTrue(await(c.worker("worker1").status()).worker().joining(), "worker1 has no data yet, yet it is not JOINING");

      // through the third owner: itself (empty) and the next owner, worker1 (empty, JOINING): worker1 refuses, another answers
      ReadOutcome r = await(c.worker(third).read(key));
      assertEquals(200, Outcomes.status(r), Outcomes.detail(r));
      assertEquals("acked", Outcomes.newest(r).orElseThrow().value());
      // through worker1: it does not count itself
      ReadOutcome own = await(c.worker("worker1").read(key));
      assertEquals("acked", Outcomes.newest(own).orElseThrow().value(), Outcomes.detail(own));

      c.peers.clearRules();
      c.stepUntil(() -> assertFalse(await(c.worker("worker1").status()).worker().joining(), "worker1 is still JOINING"));
      assertEquals("acked", await(c.worker("worker1").local(key)).orElseThrow().value(), "worker1 received its keys");
    }
  }
}
