package io.ringkv.sim;

import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.controller.Controller;
import io.ringkv.controller.ControllerApi;
import io.ringkv.net.PeerException;
import io.ringkv.net.Peers;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Versioned;
import io.ringkv.worker.WorkerApi;
import java.net.ConnectException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The network of a simulated cluster: every {@link Peers} call goes straight to the target's
 * {@link WorkerApi} or {@link ControllerApi}, which asks the target's actors. Each node gets its own
 * view ({@link #forNode}) so that a call knows where it comes from, and a test can crash a node, cut
 * the link between two nodes, drop chosen calls or make a node silent.
 */
public final class InMemoryPeers {
  /** The controller's node id in calls. */
  public static final String CONTROLLER = "controller";

  /** The kinds of node-to-node call, one per {@link Peers} method. */
  public enum Kind { REPLICATE, FETCH, FORWARD, REGISTER, HEARTBEAT, FETCH_VIEW, PUSH_VIEW, LEAVE }

  /** One call, as fault rules see it. */
  public record Call(Kind kind, String from, String to) {}

  /** Counts the calls a rule matched; a drop rule stops dropping after its quota. */
  public static final class Rule {
    private final Predicate<Call> which;
    private final AtomicInteger quota;
    private final AtomicInteger matched = new AtomicInteger();

    private Rule(Predicate<Call> which, int quota) {
      this.which = which;
      this.quota = new AtomicInteger(quota);
    }

    /** How many calls this rule dropped (a drop rule) or saw (a watch). */
    public int count() {
      return matched.get();
    }

    private boolean drops(Call c) {
      if (!which.test(c) || quota.getAndUpdate(q -> Math.max(0, q - 1)) == 0) return false;
      matched.incrementAndGet();
      return true;
    }

    private void observe(Call c) {
      if (which.test(c)) matched.incrementAndGet();
    }
  }

  private final Map<String, WorkerApi> workers = new ConcurrentHashMap<>();
  private volatile ControllerApi controller;
  private final Set<String> crashed = ConcurrentHashMap.newKeySet();
  private final Set<String> silent = ConcurrentHashMap.newKeySet();
  private final Set<Set<String>> cuts = ConcurrentHashMap.newKeySet();
  private final List<Rule> drops = new CopyOnWriteArrayList<>();
  private final List<Rule> watches = new CopyOnWriteArrayList<>();

  public void addWorker(WorkerApi api) {
    workers.put(api.nodeId(), api);
    crashed.remove(api.nodeId());
  }

  public void setController(ControllerApi api) {
    controller = api;
    crashed.remove(CONTROLLER);
  }

  /** {@code node}'s way to reach the others; the controller's is {@code forNode(CONTROLLER)}. */
  public Peers forNode(String node) {
    return new NodePeers(node);
  }

  // ---- faults

  /** Every call to or from {@code node} fails at once, like a refused connection. */
  public void crash(String node) {
    crashed.add(node);
  }

  /** Calls to or from {@code node} never complete (the caller's own deadline has to give up). */
  public void silence(String node) {
    silent.add(node);
  }

  public void unsilence(String node) {
    silent.remove(node);
  }

  /** Calls between {@code a} and {@code b}, either way, fail at once. */
  public void partition(String a, String b) {
    cuts.add(Set.of(a, b));
  }

  public void heal(String a, String b) {
    cuts.remove(Set.of(a, b));
  }

  /** The next {@code times} calls that match are lost: the caller sees them fail. */
  public Rule drop(Predicate<Call> which, int times) {
    Rule r = new Rule(which, times);
    drops.add(r);
    return r;
  }

  /** Counts the calls that match from now on (delivered or not). */
  public Rule watch(Predicate<Call> which) {
    Rule r = new Rule(which, 0);
    watches.add(r);
    return r;
  }

  /** Calls of {@code kind} from {@code from} to {@code to}; a null node matches any node. */
  public static Predicate<Call> is(Kind kind, String from, String to) {
    return c -> c.kind() == kind && (from == null || c.from().equals(from)) && (to == null || c.to().equals(to));
  }

  // ---- delivery

  /** Runs {@code deliver} unless a fault intervenes. */
  private <T> CompletionStage<T> send(Call call, Supplier<CompletionStage<T>> deliver) {
    for (Rule w : watches) w.observe(call);
    if (crashed.contains(call.from()) || crashed.contains(call.to()))
      return CompletableFuture.failedFuture(new ConnectException("connection refused: " + call));
    if (cuts.contains(Set.of(call.from(), call.to())))
      return CompletableFuture.failedFuture(new ConnectException("network partition: " + call));
    if (silent.contains(call.from()) || silent.contains(call.to())) return new CompletableFuture<>();
    for (Rule d : drops)
      if (d.drops(call)) return CompletableFuture.failedFuture(new ConnectException("message dropped: " + call));
    try {
      return deliver.get();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private WorkerApi worker(String id) {
    WorkerApi api = workers.get(id);
    if (api == null) throw new PeerException(-1, "no such worker " + id);
    return api;
  }

  private ControllerApi controller() {
    ControllerApi api = controller;
    if (api == null) throw new PeerException(-1, "no controller");
    return api;
  }

  /** A 200 reply carries the view; any other status fails the stage, as over HTTP. */
  private static ClusterView viewOf(Controller.Reply r) {
    if (r.status() != 200) throw new PeerException(r.status(), r.detail());
    return r.view();
  }

  private final class NodePeers implements Peers {
    private final String self;

    NodePeers(String self) {
      this.self = self;
    }

    @Override
    public CompletionStage<Integer> replicate(Member to, List<Entry> entries) {
      return send(new Call(Kind.REPLICATE, self, to.id()), () -> worker(to.id()).replicate(entries));
    }

    @Override
    public CompletionStage<Optional<Versioned>> fetch(Member to, String key) {
      return send(new Call(Kind.FETCH, self, to.id()), () -> worker(to.id()).local(key));
    }

    @Override
    public CompletionStage<WriteResult> forward(Member to, String key, String value) {
      return send(new Call(Kind.FORWARD, self, to.id()), () -> worker(to.id()).write(key, value, true));
    }

    @Override
    public CompletionStage<ClusterView> register(Registration registration) {
      return send(new Call(Kind.REGISTER, self, CONTROLLER),
          () -> controller().register(registration).thenApply(InMemoryPeers::viewOf));
    }

    @Override
    public CompletionStage<ClusterView> leave(String nodeId, String instance) {
      return send(new Call(Kind.LEAVE, self, CONTROLLER),
          () -> controller().leave(nodeId, instance).thenApply(InMemoryPeers::viewOf));
    }

    @Override
    public CompletionStage<Long> heartbeat(Heartbeat heartbeat) {
      return send(new Call(Kind.HEARTBEAT, self, CONTROLLER),
          () -> controller().heartbeat(heartbeat).thenApply(r -> viewOf(r).epoch()));
    }

    @Override
    public CompletionStage<ClusterView> fetchView() {
      return send(new Call(Kind.FETCH_VIEW, self, CONTROLLER), () -> controller().view());
    }

    @Override
    public CompletionStage<Long> pushView(Member to, ClusterView view) {
      return send(new Call(Kind.PUSH_VIEW, self, to.id()), () -> {
        worker(to.id()).applyView(view);
        return CompletableFuture.completedFuture(view.epoch());
      });
    }
  }
}
