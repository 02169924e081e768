package io.ringkv.worker;

import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.net.ControlPlane;
import io.ringkv.net.Forwarded;
import io.ringkv.net.NotSent;
import io.ringkv.net.WriteOutcome;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Owns this worker's membership view and routes every client request: a write is stamped here and
 * goes to the key's primary (or is coordinated here when this node is the primary, or the primary
 * does not take it), reads are coordinated here. Starts a rebalance on every new view.
 */
public final class Worker extends AbstractBehavior<Worker.Command> {
  public sealed interface Command {}

  /** A client write entering the cluster here; {@code value == null} deletes. */
  public record Put(String key, String value, ActorRef<WriteOutcome> replyTo) implements Command {}

  /** A client write that another worker forwarded to this one as the key's primary. */
  public record CoordinateForwarded(Forwarded write, ActorRef<WriteOutcome> replyTo) implements Command {}

  public record Get(String key, ActorRef<ReadOutcome> replyTo) implements Command {}

  /** A view from the controller (a registration answer, or fetched by the membership link); older epochs are ignored. */
  public record ViewChanged(ClusterView view) implements Command {}

  /** The controller hinted at a change (a push to {@code /node_down}): fetch the view from it. */
  public enum SyncView implements Command { INSTANCE }

  /**
   * From the membership link: this node was DOWN for longer than TOMBSTONE_TTL. It drops its data
   * (kept aside on disk for the operator) and its hints, and rejoins as a new, empty node, JOINING
   * until its peers have pushed it what it owns.
   */
  public enum RejoinEmpty implements Command { INSTANCE }

  /** The worker's HTTP server and link listen: it may register (UP means serving). */
  public enum Serving implements Command { INSTANCE }

  public record GetStatus(ActorRef<Status> replyTo) implements Command {}

  public record GetAntiEntropy(ActorRef<AntiEntropy.Report> replyTo) implements Command {}

  public record GetHints(ActorRef<Hints.Counts> replyTo) implements Command {}

  public record Status(String nodeId, ClusterView view, boolean rebalancing, long keysMoved, long keysHandedOff,
      int rebalances, Membership membership, boolean leaving, ClockChecked clock, boolean joining,
      RebalanceProgress.Snapshot progress) {}

  /**
   * Leave the cluster on purpose (shutdown): the controller marks this node DOWN at once, and the
   * reply comes once its keys are with their new owners, or at once if the controller is unreachable.
   */
  public record Leave(ActorRef<Left> replyTo) implements Command {}

  public record Left(boolean handedOff) {}

  /** From the membership link: the controller could not be told. */
  public enum LeaveFailed implements Command { INSTANCE }

  /** From the membership link: this node's clock against the controller's, when it moves out of or back into MAX_CLOCK_SKEW. */
  public record ClockChecked(long offsetMillis, boolean off) implements Command {}

  /** From the membership link: the oldest epoch every UP worker has settled (see {@link #joinedAt}). */
  public record SettledEverywhere(long epoch) implements Command {}

  /** From the membership link: where registration stands, for /status. */
  public record MembershipChanged(Membership membership) implements Command {}

  private record WrappedFinished(Rebalancer.Finished finished) implements Command {}

  /** The primary did not take a forwarded write: coordinate the same versioned entry here. */
  private record CoordinateHere(Entry entry, ActorRef<WriteOutcome> replyTo) implements Command {}

  /** A forward failed in a way that does not say whether the primary got it: coordinate here at {@code atMillis}. */
  private record CoordinateAfter(CoordinateHere then, long atMillis) implements Command {}

  private enum RetryRebalance implements Command { INSTANCE }

  public static Behavior<Command> create(WorkerEnv env, ControlPlane controlPlane) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Worker(ctx, timers, env, controlPlane)));
  }

  private static final Duration REBALANCE_RETRY = Duration.ofSeconds(1);
  /** How many keys' last coordinated versions this worker remembers (about 100 bytes each). */
  static final int RECENT_KEYS = 65_536;
  private static final String NO_VIEW = "no UP workers in this node's view yet";
  private final WorkerEnv env;
  private final TimerScheduler<Command> timers;
  private final ActorRef<Rebalancer.Command> rebalancer;
  private final ActorRef<MembershipLink.Command> link;
  private final ActorRef<Hints.Command> hints;
  private final ActorRef<AntiEntropy.Command> antiEntropy;
  private final RebalanceProgress progress = new RebalanceProgress();
  private final int n;
  private ClusterView view;
  /** The last view the local data was fully brought in line with. */
  private ClusterView settled;
  private boolean rebalancing;
  private long keysMoved;
  private long keysHandedOff;
  private int rebalances;
  private Membership membership = Membership.registering();
  /** The last clock check against the controller's (null before one). */
  private ClockChecked clock;
  /**
   * The epoch of the first view in which this process was UP: it started empty (JOINING), and it
   * does not answer replica reads, nor count itself in its reads, until every UP worker has settled
   * that epoch, i.e. pushed it the keys it owns. -1 before such a view.
   */
  private long joinedAt = -1;
  /** The last {@link SettledEverywhere} the membership link passed on. */
  private long settledEverywhere = -1;
  /**
   * The newest version this worker coordinated, per recently written key. A key's writes are
   * coordinated by its primary, one after the other here; a write whose version is not above the
   * last one (it entered elsewhere a moment earlier, or on a node whose clock is a little behind) is
   * stamped above it before anything is sent, so it has one version still, and concurrent writes of
   * a hot key do not supersede each other at the replicas.
   */
  private final java.util.LinkedHashMap<String, Version> recent = new java.util.LinkedHashMap<>(1024, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(java.util.Map.Entry<String, Version> eldest) {
      return size() > RECENT_KEYS;
    }
  };
  private ActorRef<Left> leaving;

  private Worker(ActorContext<Command> ctx, TimerScheduler<Command> timers, WorkerEnv env, ControlPlane controlPlane) {
    super(ctx);
    this.env = env;
    this.timers = timers;
    this.n = env.settings().replicationFactor();
    this.view = ClusterView.empty(env.settings().vnodes());
    this.settled = view;
    ActorRef<Rebalancer.Finished> finished = ctx.messageAdapter(Rebalancer.Finished.class, WrappedFinished::new);
    this.rebalancer = ctx.spawn(Rebalancer.create(env, finished, progress), "rebalancer");
    this.hints = ctx.spawn(Hints.create(env), "hints");
    this.antiEntropy = ctx.spawn(AntiEntropy.create(env), "anti-entropy");
    this.link = ctx.spawn(MembershipLink.create(env.settings(), controlPlane, env.clock()::wallMillis, ctx.getSelf(), env.data()), "membership",
        MembershipLink.dispatcher(ctx.getSystem().settings().config()));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Put.class, this::onPut)
        .onMessage(CoordinateForwarded.class, this::onCoordinateForwarded)
        .onMessage(CoordinateHere.class, this::onCoordinateHere)
        .onMessage(CoordinateAfter.class, this::onCoordinateAfter)
        .onMessage(Get.class, this::onGet)
        .onMessage(ViewChanged.class, this::onViewChanged)
        .onMessageEquals(SyncView.INSTANCE, this::onSyncView)
        .onMessageEquals(Serving.INSTANCE, this::onServing)
        .onMessageEquals(RejoinEmpty.INSTANCE, this::onRejoinEmpty)
        .onMessage(WrappedFinished.class, this::onRebalanceFinished)
        .onMessageEquals(RetryRebalance.INSTANCE, this::onRetryRebalance)
        .onMessage(MembershipChanged.class, this::onMembershipChanged)
        .onMessage(ClockChecked.class, c -> { clock = c; return this; })
        .onMessage(SettledEverywhere.class, this::onSettledEverywhere)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(GetAntiEntropy.class, g -> { antiEntropy.tell(new AntiEntropy.GetReport(g.replyTo())); return this; })
        .onMessage(GetHints.class, g -> { hints.tell(new Hints.GetCounts(g.replyTo())); return this; })
        .onMessage(Leave.class, this::onLeave)
        .onMessageEquals(LeaveFailed.INSTANCE, this::onLeaveFailed)
        .build();
  }

  /**
   * A client write enters the cluster here and is stamped here. The key's primary coordinates it
   * (stamping it above the last version it coordinated for the key first, if need be, before anything
   * is sent: see {@link #recent}); when this node is not the primary, the write is forwarded with its
   * version and a deadline. Should the primary be unreachable, be without a view, answer after it can
   * no longer be writing it, or hold a newer version, this node coordinates the same versioned entry
   * itself. So, short of a primary that stops answering in the middle of a write, the owners are sent
   * one version of each write.
   */
  private Behavior<Command> onPut(Put put) {
    List<Member> owners = view.owners(put.key(), n);
    if (owners.isEmpty()) {
      put.replyTo().tell(new WriteOutcome.NoView(NO_VIEW));
      return this;
    }
    if (clock != null && clock.off()) {
      put.replyTo().tell(new WriteOutcome.NotReached(List.of(), "this node's clock is " + clock.offsetMillis()
          + " ms off the controller's, more than MAX_CLOCK_SKEW: it stamps no writes until the clocks agree"));
      return this;
    }
    Entry entry = new Entry(put.key(), new Versioned(put.value(), new Version(env.clock().now(), env.self())));
    Member primary = owners.get(0);
    if (primary.id().equals(env.self())) return coordinate(inOrder(entry), owners, put.replyTo());
    ActorRef<Command> self = getContext().getSelf();
    long deadline = env.clock().wallMillis() + env.settings().requestTimeout().toMillis();
    env.peers().forward(primary, new Forwarded(entry, deadline)).whenComplete((outcome, err) -> {
      if (err == null && (outcome instanceof WriteOutcome.Acked || outcome instanceof WriteOutcome.NotReached))
        put.replyTo().tell(outcome);
      else if (err == null || NotSent.of(err)) self.tell(new CoordinateHere(entry, put.replyTo()));
      // the forward may have reached the primary: coordinate it here only once the primary cannot be
      // writing it any more (it starts nothing after the deadline, and ends within one request timeout)
      else self.tell(new CoordinateAfter(new CoordinateHere(entry, put.replyTo()), deadline + env.settings().requestTimeout().toMillis()));
    });
    return this;
  }

  /** A write another worker forwarded to this one as its key's primary: at the version it came with. */
  private Behavior<Command> onCoordinateForwarded(CoordinateForwarded c) {
    Entry entry = c.write().entry();
    List<Member> owners = view.owners(entry.key(), n);
    if (owners.isEmpty()) {
      // this node just restarted: the others saw it UP before it had its own view
      c.replyTo().tell(new WriteOutcome.NoView(NO_VIEW));
    } else if (env.clock().wallMillis() > c.write().deadlineMillis()) {
      c.replyTo().tell(new WriteOutcome.Expired("arrived after its deadline: the forwarder coordinates it itself"));
    } else {
      coordinate(inOrder(entry), owners, c.replyTo());
    }
    return this;
  }

  /** The entry as this primary coordinates it: above the last version it coordinated for the key (see {@link #recent}). */
  private Entry inOrder(Entry e) {
    Version last = recent.get(e.key());
    Entry out = e;
    if (last != null && !e.versioned().version().isNewerThan(last)) {
      env.clock().observe(last.timestamp());
      out = new Entry(e.key(), new Versioned(e.versioned().value(), new Version(env.clock().now(), env.self())));
    }
    if (env.clock().admits(out.versioned().version().timestamp())) recent.put(e.key(), out.versioned().version());
    return out;
  }

  private Behavior<Command> onCoordinateAfter(CoordinateAfter c) {
    long wait = c.atMillis() - env.clock().wallMillis();
    if (wait <= 0) return onCoordinateHere(c.then());
    timers.startSingleTimer(c.then(), c.then(), Duration.ofMillis(wait));
    return this;
  }

  private Behavior<Command> onCoordinateHere(CoordinateHere c) {
    List<Member> owners = view.owners(c.entry().key(), n);
    if (owners.isEmpty()) c.replyTo().tell(new WriteOutcome.NoView(NO_VIEW));
    else coordinate(c.entry(), owners, c.replyTo());
    return this;
  }

  private Behavior<Command> coordinate(Entry entry, List<Member> owners, ActorRef<WriteOutcome> replyTo) {
    getContext().spawnAnonymous(QuorumWrite.create(env, hints, entry, owners, replyTo));
    return this;
  }

  private Behavior<Command> onGet(Get get) {
    List<Member> owners = view.owners(get.key(), n);
    if (owners.isEmpty()) {
      get.replyTo().tell(new ReadOutcome.NoView(NO_VIEW));
      return this;
    }
    getContext().spawnAnonymous(QuorumRead.create(env, get.key(), owners, env.servesReads().get(), get.replyTo()));
    return this;
  }

  private Behavior<Command> onViewChanged(ViewChanged vc) {
    ClusterView next = vc.view();
    if (next.epoch() <= view.epoch()) return this;
    getContext().getLog().info("view epoch {} -> {}: UP {}", view.epoch(), next.epoch(), next.ring().nodes());
    view = next;
    // the hash trees follow the ring's ranges; anti-entropy waits until the data is in line with it
    Store.Track track = new Store.Track(next.epoch(), next.ring().tokens());
    for (var store : env.shards().stores()) store.tell(track);
    antiEntropy.tell(AntiEntropy.Unsettled.INSTANCE);
    hints.tell(new Hints.ViewChanged(next));
    if (joinedAt < 0 && next.isUp(env.self())) {
      joinedAt = next.epoch();
      getContext().getLog().info("{} joined at epoch {}: JOINING until every worker has settled it", env.self(), joinedAt);
      checkJoined();
    }
    link.tell(new MembershipLink.ViewAdopted(next));
    startRebalance();
    return this;
  }

  private void startRebalance() {
    timers.cancel(RetryRebalance.INSTANCE);
    rebalancing = true;
    rebalances++;
    rebalancer.tell(new Rebalancer.Start(settled, view));
  }

  private Behavior<Command> onRebalanceFinished(WrappedFinished w) {
    Rebalancer.Finished f = w.finished();
    keysMoved += f.keysMoved();
    keysHandedOff += f.keysDropped();
    if (f.to().epoch() != view.epoch()) return this;   // a newer run is under way
    if (f.complete()) {
      settled = f.to();
      link.tell(new MembershipLink.Settled(settled.epoch()));
      antiEntropy.tell(new AntiEntropy.Settled(settled));
      rebalancing = false;
      if (leaving != null && !settled.isUp(env.self())) replyLeft(true);
    } else {
      timers.startSingleTimer(RetryRebalance.INSTANCE, REBALANCE_RETRY);
    }
    return this;
  }

  private Behavior<Command> onRetryRebalance() {
    startRebalance();
    return this;
  }

  private Behavior<Command> onRejoinEmpty() {
    getContext().getLog().warn("{} was away longer than TOMBSTONE_TTL: dropping its data and rejoining empty", env.self());
    for (var store : env.shards().stores()) store.tell(Store.Clear.INSTANCE);
    settled = ClusterView.empty(env.settings().vnodes());
    view = settled;   // the next view is adopted as a first one: a fresh join, a full rebalance
    joinedAt = -1;
    env.servesReads().set(false);
    return this;
  }

  private Behavior<Command> onServing() {
    link.tell(MembershipLink.Start.INSTANCE);
    return this;
  }

  private Behavior<Command> onSyncView() {
    link.tell(MembershipLink.FetchView.INSTANCE);
    return this;
  }

  private Behavior<Command> onSettledEverywhere(SettledEverywhere s) {
    settledEverywhere = s.epoch();
    checkJoined();
    return this;
  }

  /** Once every UP worker has settled the epoch this process joined at, it has its data: it serves reads, for good. */
  private void checkJoined() {
    if (!env.servesReads().get() && joinedAt >= 0 && settledEverywhere >= joinedAt) {
      env.servesReads().set(true);
      getContext().getLog().info("{} has its data (every worker settled epoch {}): serving reads", env.self(), joinedAt);
    }
  }

  private Behavior<Command> onMembershipChanged(MembershipChanged m) {
    membership = m.membership();
    return this;
  }

  private Behavior<Command> onGetStatus(GetStatus g) {
    g.replyTo().tell(new Status(env.self(), view, rebalancing, keysMoved, keysHandedOff, rebalances, membership,
        leaving != null, clock, !env.servesReads().get(), progress.snapshot()));
    return this;
  }

  private Behavior<Command> onLeave(Leave l) {
    if (leaving != null) {
      l.replyTo().tell(new Left(false));
      return this;
    }
    getContext().getLog().info("{} leaving the cluster: handing its keys over", env.self());
    leaving = l.replyTo();
    link.tell(MembershipLink.Leave.INSTANCE);
    return this;
  }

  private Behavior<Command> onLeaveFailed() {
    getContext().getLog().warn("{} could not tell the controller it leaves: stopping without a hand-off", env.self());
    replyLeft(false);
    return this;
  }

  private void replyLeft(boolean handedOff) {
    if (leaving == null) return;
    leaving.tell(new Left(handedOff));
    if (handedOff) getContext().getLog().info("{} handed its keys over ({} in all)", env.self(), keysHandedOff);
  }
}
