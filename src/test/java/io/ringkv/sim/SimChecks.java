package io.ringkv.sim;

import static io.ringkv.sim.SimCluster.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ringkv.check.FinalState;
import io.ringkv.check.Observation;
import io.ringkv.check.Quorum;
import io.ringkv.cluster.ClusterView;
import io.ringkv.storage.Versioned;
import io.ringkv.util.Stages;
import io.ringkv.worker.Outcomes;
import io.ringkv.worker.ReadOutcome;
import io.ringkv.worker.Worker;
import io.ringkv.worker.WorkerApi;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/** What the history-checked simulations share: settings, settling, sampling and the final state. */
final class SimChecks {
  private SimChecks() {}

  static final int N = 3;

  /** Shorter membership and request timeouts than production (same proportions) keep a seed short. */
  static final Config SETTINGS = ConfigFactory.parseString("""
      ringkv.membership.heartbeat-interval = 100ms
      ringkv.membership.heartbeat-timeout = 600ms
      ringkv.membership.register-backoff-max = 400ms
      ringkv.replication.request-timeout = 500ms
      ringkv.replication.peer-timeout = 300ms
      """);

  /** N, and the write and read quorums the simulated workers run with (application.conf, as SimCluster loads it). */
  static final Quorum QUORUM = quorum(ConfigFactory.load());

  /** Steps until every worker is UP in the controller's view, on that view, and done rebalancing. */
  static void settle(SimCluster c) {
    c.stepUntil(() -> {
      ClusterView view = c.controllerView();
      assertEquals(c.workerIds().size(), view.ring().nodes().size(), "UP in the controller's view: " + view.ring().nodes());
      for (WorkerApi w : c.live()) {
        Worker.Status s = await(w.status()).worker();
        assertEquals(view.epoch(), s.view().epoch(), w.nodeId());
        assertFalse(s.rebalancing(), w.nodeId() + " is rebalancing");
      }
    });
  }

  /** Samples {@code node}'s own copy of each key. */
  static void sample(SimCluster c, String node, List<String> keys, List<Observation> samples) {
    WorkerApi w = c.worker(node);
    String incarnation = String.valueOf(c.incarnation(node));
    List<CompletableFuture<Optional<Versioned>>> copies = new ArrayList<>();
    for (String key : keys) copies.add(Stages.plain(w.local(key)));
    for (int i = 0; i < keys.size(); i++) {
      Optional<Versioned> v = await(copies.get(i));
      samples.add(new Observation(node, keys.get(i), v.map(x -> x.version().toString()).orElse(null),
          v.map(Versioned::isTombstone).orElse(false), System.nanoTime(), incarnation));
    }
  }

  /**
   * Steps until each key's newest copy (over every worker) sits on its three owners. The store has
   * no anti-entropy: an owner that missed a write (a dropped message, a short partition) is brought
   * up to date by a read through it (read repair), so a key not yet at three copies is read once
   * through each owner. Returns how many keys needed that.
   */
  static int awaitThreeCopies(SimCluster c, List<String> keys) {
    Set<String> repaired = new HashSet<>();
    c.stepUntil(() -> {
      ClusterView view = c.controllerView();
      List<String> short_ = new ArrayList<>();
      for (String key : keys) {
        Versioned newest = null;
        Map<String, Optional<Versioned>> copies = new LinkedHashMap<>();
        for (WorkerApi w : c.live()) copies.put(w.nodeId(), await(w.local(key)));
        for (Optional<Versioned> v : copies.values()) if (v.isPresent() && v.get().isNewerThan(newest)) newest = v.get();
        if (newest == null) continue;
        for (String owner : view.ownerIds(key, N)) {
          Optional<Versioned> v = copies.getOrDefault(owner, Optional.empty());
          if (v.isEmpty() || !v.get().version().equals(newest.version())) {
            short_.add(key + " on " + owner);
            repaired.add(key);
            for (String o : view.ownerIds(key, N)) await(c.worker(o).read(key));
          }
        }
      }
      assertTrue(short_.isEmpty(), () -> "not at " + N + " copies: " + short_);
    });
    return repaired.size();
  }

  private static Quorum quorum(Config defaults) {
    Config cfg = SETTINGS.withFallback(defaults);
    return new Quorum(N, cfg.getInt("ringkv.replication.write-quorum"), cfg.getInt("ringkv.replication.read-quorum"));
  }

  /**
   * The settled cluster for the checker: owners by the controller's view, each owner's own copy
   * ({@link WorkerApi#local}: no quorum, no repair, tombstones included), and quorum reads through
   * each worker; the keys of one worker at once.
   */
  static FinalState finalState(SimCluster c) {
    return new FinalState() {
      @Override
      public List<String> owners(String key) {
        return c.controllerView().ownerIds(key, N);
      }

      @Override
      public Map<String, List<String>> ownersAll(Collection<String> keys) {
        ClusterView view = c.controllerView();
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (String key : keys) out.put(key, view.ownerIds(key, N));
        return out;
      }

      @Override
      public Optional<Versioned> copy(String worker, String key) {
        return await(running(worker).local(key));
      }

      @Override
      public Map<String, Optional<Versioned>> copyAll(String worker, Collection<String> keys) {
        WorkerApi w = running(worker);
        Map<String, CompletableFuture<Optional<Versioned>>> copies = new LinkedHashMap<>();
        for (String key : keys) copies.put(key, Stages.plain(w.local(key)));
        Map<String, Optional<Versioned>> out = new LinkedHashMap<>();
        copies.forEach((key, v) -> out.put(key, await(v)));
        return out;
      }

      private WorkerApi running(String worker) {
        WorkerApi w = c.worker(worker);
        if (w == null) throw new AssertionError("owner " + worker + " is not running: the cluster did not settle");
        return w;
      }

      @Override
      public Optional<Versioned> read(String viaNode, String key) {
        return newest(key, await(c.worker(viaNode).read(key)));
      }

      @Override
      public Map<String, Optional<Versioned>> readAll(String viaNode, Collection<String> keys) {
        Map<String, CompletableFuture<ReadOutcome>> reads = new LinkedHashMap<>();
        for (String key : keys) reads.put(key, Stages.plain(c.worker(viaNode).read(key)));
        Map<String, Optional<Versioned>> out = new LinkedHashMap<>();
        reads.forEach((key, r) -> out.put(key, newest(key, await(r))));
        return out;
      }

      @Override
      public List<String> workers() {
        return c.live().stream().map(WorkerApi::nodeId).sorted().toList();
      }
    };
  }

  private static Optional<Versioned> newest(String key, ReadOutcome r) {
    if (!Outcomes.ok(r)) throw new AssertionError("final read of " + key + " failed: " + Outcomes.detail(r));
    return Outcomes.newest(r);
  }
}
