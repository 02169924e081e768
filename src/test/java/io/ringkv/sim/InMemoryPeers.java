package io.ringkv.sim;

import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.cluster.MembershipReply;
import io.ringkv.controller.ControllerApi;
import io.ringkv.net.ControlPlane;
import io.ringkv.net.Peers;
import io.ringkv.net.Forwarded;
import io.ringkv.net.NotSent;
import io.ringkv.net.WriteOutcome;
import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.KeyVersion;
import io.ringkv.net.Frames;
import io.ringkv.storage.Versioned;
import io.ringkv.util.Stages;
import io.ringkv.worker.WorkerApi;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
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
 * The network of a simulated cluster: every {@link Peers} and {@link ControlPlane} call goes straight to the target's
 * {@link WorkerApi} or {@link ControllerApi}, which asks the target's actors. Each node gets its own
 * view ({@link #forNode}) so that a call knows where it comes from, and a test can crash a node, cut
 * the link between two nodes, drop chosen calls, delay them on virtual time or make a node silent.
 */
public final class InMemoryPeers {
  /** The controller's node id in calls. */
  public static final String CONTROLLER = "controller";

  /** The kinds of node-to-node call, one per {@link Peers} and {@link ControlPlane} method. */
  public enum Kind { REPLICATE, FETCH, FORWARD, TREE, KEYS, REGISTER, HEARTBEAT, FETCH_VIEW, PUSH_VIEW, LEAVE }

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
  private final List<Delay> delays = new CopyOnWriteArrayList<>();
  /** Delayed calls, released by {@link #advanceTo}; guarded by itself. */
  private final List<Held> held = new ArrayList<>();
  private volatile long nowMillis;
  private final AtomicInteger heartbeatsInFlight = new AtomicInteger();

  private record Delay(Rule rule, long millis) {}

  private record Held(long dueMillis, Call call, Runnable release, Runnable reset) {}

  public void addWorker(WorkerApi api) {
    workers.put(api.nodeId(), api);
    crashed.remove(api.nodeId());
  }

  /**
   * A new process is starting for crashed worker {@code id}: calls from it go through again (it
   * registers while it starts), calls to it fail until {@link #addWorker} hands over its new api.
   */
  public void revive(String id) {
    workers.remove(id);
    crashed.remove(id);
  }

  public void setController(ControllerApi api) {
    controller = api;
    crashed.remove(CONTROLLER);
  }

  /** {@code node}'s way to reach the others; the controller's is {@code forNode(CONTROLLER)}. */
  public NodePeers forNode(String node) {
    return new NodePeers(node);
  }

  // ---- faults

  /**
   * Every call to or from {@code node} fails at once, like a refused connection; its delayed calls
   * in either direction fail now (their connections died with the process).
   */
  public void crash(String node) {
    crashed.add(node);
    List<Held> reset = new ArrayList<>();
    synchronized (held) {
      held.removeIf(h -> {
        if (!h.call().from().equals(node) && !h.call().to().equals(node)) return false;
        reset.add(h);
        return true;
      });
    }
    for (Held h : reset) h.reset().run();
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

  /**
   * The next {@code times} calls that match are held for {@code by} of virtual time: released (and
   * only then checked against crashes and partitions, and delivered) by the {@link #advanceTo} that
   * reaches their due time. The caller's own deadline may give up first.
   */
  public Rule delay(Predicate<Call> which, Duration by, int times) {
    Rule r = new Rule(which, times);
    delays.add(new Delay(r, by.toMillis()));
    return r;
  }

  /** Stops every drop and delay rule (calls already held stay held until their time). */
  public void clearRules() {
    drops.clear();
    delays.clear();
  }

  /** Virtual time is now {@code millis}: delivers the held calls that are due, in due order. */
  public void advanceTo(long millis) {
    List<Held> due = new ArrayList<>();
    synchronized (held) {
      nowMillis = millis;
      held.removeIf(h -> {
        if (h.dueMillis() > millis) return false;
        due.add(h);
        return true;
      });
    }
    due.sort((a, b) -> Long.compare(a.dueMillis(), b.dueMillis()));
    for (Held h : due) h.release().run();
  }

  /** Heartbeats sent and not answered yet (silenced ones not counted: they never are). */
  public int heartbeatsInFlight() {
    return heartbeatsInFlight.get();
  }

  /** Calls held for a later time. */
  public int heldCount() {
    synchronized (held) {
      return held.size();
    }
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

  /** Runs {@code deliver} unless a fault intervenes (a refused, cut or dropped call was never delivered: {@link NotSent}). */
  private <T> CompletionStage<T> send(Call call, Supplier<CompletionStage<T>> deliver) {
    for (Rule w : watches) w.observe(call);
    CompletionStage<T> refused = refused(call);
    if (refused != null) return refused;
    if (silent.contains(call.from()) || silent.contains(call.to())) return new CompletableFuture<>();
    for (Rule d : drops)
      if (d.drops(call)) return CompletableFuture.failedFuture(new NotSent(new ConnectException("message dropped: " + call)));
    for (Delay d : delays) {
      if (!d.rule().drops(call)) continue;
      CompletableFuture<T> later = new CompletableFuture<>();
      Runnable release = () -> {
        CompletionStage<T> r = refused(call);
        (r != null ? r : deliverNow(deliver)).whenComplete((v, e) -> {
          if (e != null) later.completeExceptionally(e);
          else later.complete(v);
        });
      };
      Runnable reset = () -> later.completeExceptionally(new NotSent(new ConnectException("connection reset: " + call)));
      synchronized (held) {
        held.add(new Held(nowMillis + d.millis(), call, release, reset));
      }
      return later;
    }
    return deliverNow(deliver);
  }

  /** A failed stage when a crash or a partition stops {@code call}, else null. */
  private <T> CompletionStage<T> refused(Call call) {
    if (crashed.contains(call.from()) || crashed.contains(call.to()))
      return CompletableFuture.failedFuture(new NotSent(new ConnectException("connection refused: " + call)));
    if (cuts.contains(Set.of(call.from(), call.to())))
      return CompletableFuture.failedFuture(new NotSent(new ConnectException("network partition: " + call)));
    return null;
  }

  /** Delivers; the answer stage is a plain one (see {@link Stages}), as PeerLinks hands out. */
  private static <T> CompletionStage<T> deliverNow(Supplier<CompletionStage<T>> deliver) {
    try {
      return Stages.plain(deliver.get());
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private WorkerApi worker(String id) {
    WorkerApi api = workers.get(id);
    if (api == null) throw new IllegalStateException("no such worker " + id);
    return api;
  }

  private ControllerApi controller() {
    ControllerApi api = controller;
    if (api == null) throw new IllegalStateException("no controller");
    return api;
  }

  /** One node's end of the simulated network: its data calls and its membership calls. */
  public final class NodePeers implements Peers, ControlPlane {
    private final String self;

    NodePeers(String self) {
      this.self = self;
    }

    @Override
    public CompletionStage<List<Applied>> replicate(Member to, List<Entry> entries) {
      return send(new Call(Kind.REPLICATE, self, to.id()), () -> worker(to.id()).replicate(entries));
    }

    @Override
    public CompletionStage<Optional<Versioned>> fetch(Member to, String key) {
      return send(new Call(Kind.FETCH, self, to.id()), () -> worker(to.id()).copies(List.of(key)).thenApply(c -> c.get(0)));
    }

    @Override
    public CompletionStage<WriteOutcome> forward(Member to, Forwarded write) {
      return send(new Call(Kind.FORWARD, self, to.id()),
          () -> worker(to.id()).coordinate(List.of(write)).thenApply(outcomes -> outcomes.get(0)));
    }

    @Override
    public CompletionStage<List<Optional<Versioned>>> copies(Member to, List<String> keys) {
      return send(new Call(Kind.FETCH, self, to.id()), () -> worker(to.id()).copies(keys));
    }

    @Override
    public CompletionStage<long[]> tree(Member to, Frames.TreeQuery query) {
      return send(new Call(Kind.TREE, self, to.id()), () -> worker(to.id()).tree(query));
    }

    @Override
    public CompletionStage<List<KeyVersion>> keyVersions(Member to, Frames.SegmentQuery query) {
      return send(new Call(Kind.KEYS, self, to.id()), () -> worker(to.id()).keyVersions(query));
    }

    @Override
    public CompletionStage<MembershipReply> register(Registration registration) {
      return send(new Call(Kind.REGISTER, self, CONTROLLER), () -> controller().register(registration));
    }

    @Override
    public CompletionStage<MembershipReply> leave(String nodeId, String instance) {
      return send(new Call(Kind.LEAVE, self, CONTROLLER), () -> controller().leave(nodeId, instance));
    }

    @Override
    public CompletionStage<MembershipReply> heartbeat(Heartbeat heartbeat) {
      boolean counted = !silent.contains(self) && !silent.contains(CONTROLLER);
      if (counted) heartbeatsInFlight.incrementAndGet();
      CompletionStage<MembershipReply> answer = send(new Call(Kind.HEARTBEAT, self, CONTROLLER),
          () -> controller().heartbeat(heartbeat));
      if (counted) answer.whenComplete((v, e) -> heartbeatsInFlight.decrementAndGet());
      return answer;
    }

    @Override
    public CompletionStage<ClusterView> fetchView() {
      return send(new Call(Kind.FETCH_VIEW, self, CONTROLLER), () -> controller().view());
    }

    @Override
    public CompletionStage<Void> pushView(Member to, ClusterView view) {
      return send(new Call(Kind.PUSH_VIEW, self, to.id()), () -> {
        worker(to.id()).syncView();   // a hint: the worker fetches the view from the controller
        return CompletableFuture.completedFuture(null);
      });
    }
  }
}
