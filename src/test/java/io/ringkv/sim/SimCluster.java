package io.ringkv.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ringkv.Guardian;
import io.ringkv.cluster.ClusterView;
import io.ringkv.config.NodeSettings;
import io.ringkv.controller.Controller;
import io.ringkv.controller.ControllerApi;
import io.ringkv.net.Peers;
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
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.testkit.ExplicitlyTriggeredScheduler;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Adapter;
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
  /** Workers whose heartbeats cannot reach the controller (cut off): {@link #step} does not wait for them. */
  private final Set<String> unheard = ConcurrentHashMap.newKeySet();
  /** How many times each worker id was started: the incarnation of its current process. */
  private final Map<String, Integer> incarnations = new LinkedHashMap<>();
  /** Wraps each worker's transport (a test's planted fault); identity by default. */
  private final BiFunction<String, Peers, Peers> transport;
  /** Virtual time passes without ManualTime's real 100 ms sleep per step (see {@link #passTime}). */
  private final boolean fastTime;
  private final TestProbe<Object> probe;
  private ActorRef<Controller.Command> controllerRef;
  private ControllerApi controller;
  private int controllerGeneration;

  SimCluster(ActorTestKit testKit, ManualTime time) {
    this(testKit, time, ConfigFactory.empty(), (id, p) -> p, false);
  }

  /** {@code overrides}: settings (e.g. {@code ringkv.membership.heartbeat-timeout}) over application.conf. */
  SimCluster(ActorTestKit testKit, ManualTime time, Config overrides, BiFunction<String, Peers, Peers> transport,
      boolean fastTime) {
    this.testKit = testKit;
    this.time = time;
    // the controller runs on virtual time here, the workers' clocks on real time: no clock check between them
    this.base = NodeSettings.from(overrides.withFallback(ConfigFactory.parseMap(Map.of("ringkv.advertise-host", "sim",
            "ringkv.testing.check-clock-against-controller", false)))
        .withFallback(ConfigFactory.load()));
    this.probe = testKit.createTestProbe();
    this.transport = transport;
    this.fastTime = fastTime;
  }

  /** Starts the controller and {@code n} workers and waits until every worker sees all of them UP. */
  static SimCluster start(ActorTestKit testKit, ManualTime time, int n) {
    return start(new SimCluster(testKit, time), n);
  }

  /**
   * As {@link #start(ActorTestKit, ManualTime, int)}, with settings overrides, a transport wrapper,
   * and fast virtual time (see {@link #passTime}).
   */
  static SimCluster start(ActorTestKit testKit, ManualTime time, int n, Config overrides,
      BiFunction<String, Peers, Peers> transport) {
    return start(new SimCluster(testKit, time, overrides, transport, true), n);
  }

  private static SimCluster start(SimCluster c, int n) {
    c.startController();
    for (int i = 1; i <= n; i++) c.startWorker("worker" + i);
    c.awaitReal(() -> {
      long epoch = await(c.controller.view()).epoch();
      for (WorkerApi w : c.workers.values()) {
        var s = await(w.status()).worker();
        assertTrue(s.membership().isRegistered(), w.nodeId());
        // a registration answer that raced with a newer pushed view: in a running cluster the next
        // heartbeat's answer carries the epoch and the worker fetches the view; no virtual time
        // passes here, so ask for that fetch directly
        if (s.view().epoch() < epoch) w.syncView();
        assertEquals(epoch, s.view().epoch(), w.nodeId() + " has not caught up with the controller's view");
        assertEquals(new TreeSet<>(c.workers.keySet()), new TreeSet<>(s.view().ring().nodes()), w.nodeId());
      }
    });
    c.stepUntil(c::noneJoining);   // heartbeats carry the settled epochs: a few intervals
    return c;
  }

  /** No worker is JOINING any more: each has received the data it owns. */
  void noneJoining() {
    for (WorkerApi w : workers.values()) assertFalse(await(w.status()).worker().joining(), w.nodeId() + " is JOINING");
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
    peers.revive(id);
    TestProbe<WorkerApi> started = testKit.createTestProbe();
    ActorRef<Void> node = testKit.spawn(Behaviors.<Void>setup(ctx -> {
      InMemoryPeers.NodePeers own = peers.forNode(id);
      started.ref().tell(Guardian.workerApi(ctx, s, transport.apply(id, own), own));
      return Behaviors.empty();
    }), prefix + "-" + id);
    WorkerApi api = started.receiveMessage(WAIT);
    peers.addWorker(api);
    api.startServing();   // no servers to bind in a simulation: it may register at once
    nodes.put(id, node);
    workers.put(id, api);
    incarnations.merge(id, 1, Integer::sum);
    return api;
  }

  /**
   * Starts a new process for a crashed worker id (empty, with a new instance id) and waits in real
   * time until it registered, so that its heartbeats are due from the next {@link #step}.
   */
  WorkerApi restartWorker(String id) {
    WorkerApi api = startWorker(id);
    awaitReal(() -> assertTrue(await(api.status()).worker().membership().isRegistered(), id));
    return api;
  }

  /** Every worker id ever started, running or crashed. */
  Set<String> workerIds() {
    return Set.copyOf(incarnations.keySet());
  }

  /** How many times worker {@code id} was started (1 for its first process). */
  int incarnation(String id) {
    return incarnations.getOrDefault(id, 0);
  }

  /** Cuts worker {@code id} off from every other worker and from the controller. */
  void cutOff(String id) {
    unheard.add(id);
    peers.partition(id, InMemoryPeers.CONTROLLER);
    for (String other : incarnations.keySet()) if (!other.equals(id)) peers.partition(id, other);
  }

  /** Heals {@link #cutOff}; the worker's heartbeats are due again from the next {@link #step}. */
  void reconnect(String id) {
    peers.heal(id, InMemoryPeers.CONTROLLER);
    for (String other : incarnations.keySet()) if (!other.equals(id)) peers.heal(id, other);
    unheard.remove(id);
  }

  /** The virtual time the cluster has reached, in milliseconds. */
  long nowMillis() {
    return nowMillis.get();
  }

  /** The worker's process dies: calls to or from it are refused and its actors (and data) are gone. */
  void crashWorker(String id) {
    peers.crash(id);
    unheard.remove(id);
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
    passTime(interval);
    peers.advanceTo(now);
    if (controller != null) {
      awaitReal(() -> {
        Map<String, Double> seen = await(controller.nodes()).lastSeen();
        for (String id : workers.keySet())
          if (!unheard.contains(id)) assertEquals(now / 1000.0, seen.getOrDefault(id, 0.0).doubleValue(), () -> id + "'s heartbeat did not arrive at " + now);
      });
    }
    for (WorkerApi w : workers.values()) {
      long epoch = await(w.status()).worker().view().epoch();
      Long before = epochsSeen.put(w.nodeId(), epoch);
      assertTrue(before == null || epoch >= before, () -> w.nodeId() + "'s epoch went back from " + before + " to " + epoch);
    }
  }

  /**
   * Fires the timers due within {@code d}. {@link ManualTime#timePasses} first sleeps 100 ms of real
   * time (to let the dispatchers drain); with {@link #fastTime} the due timers run as soon as the
   * last heartbeats are answered instead: {@link #step} waits for the heartbeats in real time
   * anyway, which is the drain that matters here.
   */
  private void passTime(Duration d) {
    if (!fastTime) {
      time.timePasses(d);
      return;
    }
    // a worker skips its heartbeat while 3 are unanswered: let the answers of the last ones land
    awaitReal(() -> assertEquals(0, peers.heartbeatsInFlight(), "heartbeats in flight"));
    ExplicitlyTriggeredScheduler scheduler = (ExplicitlyTriggeredScheduler) Adapter.toClassic(testKit.system()).scheduler();
    // a no-op due exactly at the new time: running it moves the scheduler's clock there
    scheduler.scheduleOnce(d, () -> {}, testKit.system().executionContext());
    scheduler.executeTasks(scheduler.currentTimeMs() + d.toMillis());
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
    probe.awaitAssert(WAIT, Duration.ofMillis(1), () -> {
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
