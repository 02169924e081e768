package io.ringkv.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ringkv.Guardian;
import io.ringkv.cluster.ClusterView;
import io.ringkv.config.NodeSettings;
import io.ringkv.controller.Controller;
import io.ringkv.controller.ControllerApi;
import io.ringkv.storage.Versioned;
import io.ringkv.worker.WorkerApi;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * A controller and workers inside one actor test kit, talking over {@link InMemoryPeers}, on
 * virtual time. {@link #step()} moves time by one heartbeat interval and then waits (in real time)
 * until the heartbeat of every live worker has reached the controller, so a node is called DOWN
 * only when its heartbeats really stopped, however slow the machine is.
 */
final class SimCluster implements AutoCloseable {
  private static final AtomicInteger CLUSTERS = new AtomicInteger();
  static final Duration WAIT = Duration.ofSeconds(10);

  final InMemoryPeers peers = new InMemoryPeers();
  final NodeSettings base;
  private final ActorTestKit testKit;
  private final ManualTime time;
  private final String prefix = "sim" + CLUSTERS.incrementAndGet();
  /** What the controller reads as "now": moves with the manual time this cluster lets pass. */
  private final AtomicLong nowMillis = new AtomicLong(1_000_000);
  private final Map<String, ActorRef<Void>> nodes = new LinkedHashMap<>();
  private final Map<String, WorkerApi> workers = new LinkedHashMap<>();
  private final Map<String, Long> epochsSeen = new LinkedHashMap<>();
  private final TestProbe<Object> probe;
  private ActorRef<Controller.Command> controllerRef;
  private ControllerApi controller;
  private int controllerGeneration;

  SimCluster(ActorTestKit testKit, ManualTime time) {
    this.testKit = testKit;
    this.time = time;
    this.base = NodeSettings.from(ConfigFactory.parseMap(Map.of("ringkv.advertise-host", "sim"))
        .withFallback(ConfigFactory.load()));
    this.probe = testKit.createTestProbe();
  }

  /** Starts the controller and {@code n} workers and waits until every worker sees all of them UP. */
  static SimCluster start(ActorTestKit testKit, ManualTime time, int n) {
    SimCluster c = new SimCluster(testKit, time);
    c.startController();
    for (int i = 1; i <= n; i++) c.startWorker("worker" + i);
    c.awaitReal(() -> {
      long epoch = await(c.controller.view()).epoch();
      for (WorkerApi w : c.workers.values()) {
        var s = await(w.status()).worker();
        assertEquals("registered", s.membership(), w.nodeId());
        assertEquals(epoch, s.view().epoch(), w.nodeId() + " has not caught up with the controller's view");
        assertEquals(new TreeSet<>(c.workers.keySet()), new TreeSet<>(s.view().ring().nodes()), w.nodeId());
      }
    });
    return c;
  }

  // ---- nodes

  void startController() {
    Clock clock = new Clock() {
      @Override public ZoneId getZone() { return ZoneOffset.UTC; }
      @Override public Clock withZone(ZoneId zone) { return this; }
      @Override public Instant instant() { return Instant.ofEpochMilli(nowMillis.get()); }
    };
    NodeSettings s = base.withNode(InMemoryPeers.CONTROLLER, "controller.sim", 8000);
    controllerRef = testKit.spawn(Controller.create(s, peers.forNode(InMemoryPeers.CONTROLLER), clock),
        prefix + "-controller-" + (++controllerGeneration));
    controller = new ControllerApi(controllerRef, testKit.system(), s.replicationFactor());
    peers.setController(controller);
  }

  /** The controller process dies: calls to it are refused, its state is gone. */
  void stopController() {
    peers.crash(InMemoryPeers.CONTROLLER);
    testKit.stop(controllerRef);
    controller = null;
  }

  WorkerApi startWorker(String id) {
    NodeSettings s = base.withNode(id, id + ".sim", 8001);
    TestProbe<WorkerApi> started = testKit.createTestProbe();
    ActorRef<Void> node = testKit.spawn(Behaviors.<Void>setup(ctx -> {
      started.ref().tell(Guardian.workerApi(ctx, s, peers.forNode(id)));
      return Behaviors.empty();
    }), prefix + "-" + id);
    WorkerApi api = started.receiveMessage(WAIT);
    peers.addWorker(api);
    nodes.put(id, node);
    workers.put(id, api);
    return api;
  }

  /** The worker's process dies: calls to or from it are refused and its actors (and data) are gone. */
  void crashWorker(String id) {
    peers.crash(id);
    testKit.stop(nodes.remove(id));
    workers.remove(id);
    epochsSeen.remove(id);
  }

  ControllerApi controller() {
    return controller;
  }

  WorkerApi worker(String id) {
    return workers.get(id);
  }

  /** The workers still running. */
  List<WorkerApi> live() {
    return List.copyOf(workers.values());
  }

  ClusterView controllerView() {
    return await(controller.view());
  }

  // ---- time

  /**
   * One heartbeat interval of virtual time, then a real-time wait until each live worker's
   * heartbeat of this interval reached the controller (when one runs). Also checks that no
   * worker's epoch ever went backwards.
   */
  void step() {
    Duration interval = base.heartbeatInterval();
    long now = nowMillis.addAndGet(interval.toMillis());   // before the ticks fire: heartbeats see the new time
    time.timePasses(interval);
    if (controller != null) {
      awaitReal(() -> {
        Map<String, Double> seen = await(controller.nodes()).lastSeen();
        for (String id : workers.keySet())
          assertEquals(now / 1000.0, seen.getOrDefault(id, 0.0).doubleValue(), () -> id + "'s heartbeat did not arrive at " + now);
      });
    }
    for (WorkerApi w : workers.values()) {
      long epoch = await(w.status()).worker().view().epoch();
      Long before = epochsSeen.put(w.nodeId(), epoch);
      assertTrue(before == null || epoch >= before, () -> w.nodeId() + "'s epoch went back from " + before + " to " + epoch);
    }
  }

  void steps(Duration total) {
    for (long t = 0; t < total.toMillis(); t += base.heartbeatInterval().toMillis()) step();
  }

  /** Steps virtual time until {@code check} passes, giving up after {@link #WAIT} of real time. */
  void stepUntil(Check check) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      try {
        check.run();
        return;
      } catch (AssertionError | Exception e) {
        if (System.nanoTime() > deadline) throw new AssertionError("still failing after " + WAIT, e);
      }
      step();
    }
  }

  /** Waits in real time (no virtual time passes) until {@code check} passes. */
  void awaitReal(Check check) {
    probe.awaitAssert(WAIT, Duration.ofMillis(5), () -> {
      check.run();
      return null;
    });
  }

  interface Check {
    void run() throws Exception;
  }

  // ---- data

  /** For each key, the live workers whose own copy is exactly {@code expected}'s. */
  Map<String, List<String>> holders(Map<String, Versioned> expected) {
    Map<String, List<CompletableFuture<Optional<Versioned>>>> copies = new LinkedHashMap<>();
    for (String key : expected.keySet()) {
      List<CompletableFuture<Optional<Versioned>>> perWorker = new ArrayList<>();
      for (WorkerApi w : workers.values()) perWorker.add(w.local(key).toCompletableFuture());
      copies.put(key, perWorker);
    }
    List<String> ids = List.copyOf(workers.keySet());
    Map<String, List<String>> out = new LinkedHashMap<>();
    copies.forEach((key, perWorker) -> {
      List<String> holding = new ArrayList<>();
      for (int i = 0; i < ids.size(); i++)
        if (await(perWorker.get(i)).filter(expected.get(key)::equals).isPresent()) holding.add(ids.get(i));
      out.put(key, holding);
    });
    return out;
  }

  static <T> T await(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError("no answer: " + e, e);
    }
  }

  @Override
  public void close() {
    for (ActorRef<Void> node : nodes.values()) testKit.stop(node);
    nodes.clear();
    workers.clear();
    if (controller != null) testKit.stop(controllerRef);
    controller = null;
  }
}
