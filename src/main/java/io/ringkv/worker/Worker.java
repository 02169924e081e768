package io.ringkv.worker;

import io.ringkv.cluster.ClusterView;
import io.ringkv.net.ControlPlane;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Owns this worker's membership view: adopts each view from the controller (handing it to the
 * {@link Coordinator}, which routes the client requests by it), starts a rebalance on every new
 * view, and tracks when this node has its data.
 */
public final class Worker extends AbstractBehavior<Worker.Command> {
  public sealed interface Command {}

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

  private enum RetryRebalance implements Command { INSTANCE }

  public static Behavior<Command> create(WorkerEnv env, ControlPlane controlPlane, Coordinator coordinator) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Worker(ctx, timers, env, controlPlane, coordinator)));
  }

  private static final Duration REBALANCE_RETRY = Duration.ofSeconds(1);
  private final WorkerEnv env;
  private final Coordinator coordinator;
  private final TimerScheduler<Command> timers;
  private final ActorRef<Rebalancer.Command> rebalancer;
  private final ActorRef<MembershipLink.Command> link;
  private final ActorRef<Hints.Command> hints;
  private final ActorRef<AntiEntropy.Command> antiEntropy;
  private final RebalanceProgress progress = new RebalanceProgress();
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
  private ActorRef<Left> leaving;

  private Worker(ActorContext<Command> ctx, TimerScheduler<Command> timers, WorkerEnv env, ControlPlane controlPlane,
      Coordinator coordinator) {
    super(ctx);
    this.env = env;
    this.coordinator = coordinator;
    this.timers = timers;
    this.view = ClusterView.empty(env.settings().vnodes());
    this.settled = view;
    ActorRef<Rebalancer.Finished> finished = ctx.messageAdapter(Rebalancer.Finished.class, WrappedFinished::new);
    this.rebalancer = ctx.spawn(Rebalancer.create(env, finished, progress), "rebalancer");
    this.hints = ctx.spawn(Hints.create(env), "hints");
    coordinator.hints(hints);
    this.antiEntropy = ctx.spawn(AntiEntropy.create(env), "anti-entropy");
    this.link = ctx.spawn(MembershipLink.create(env.settings(), controlPlane, env.clock()::wallMillis, ctx.getSelf(), env.data()), "membership",
        MembershipLink.dispatcher(ctx.getSystem().settings().config()));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(ViewChanged.class, this::onViewChanged)
        .onMessageEquals(SyncView.INSTANCE, this::onSyncView)
        .onMessageEquals(Serving.INSTANCE, this::onServing)
        .onMessageEquals(RejoinEmpty.INSTANCE, this::onRejoinEmpty)
        .onMessage(WrappedFinished.class, this::onRebalanceFinished)
        .onMessageEquals(RetryRebalance.INSTANCE, this::onRetryRebalance)
        .onMessage(MembershipChanged.class, this::onMembershipChanged)
        .onMessage(ClockChecked.class, this::onClockChecked)
        .onMessage(SettledEverywhere.class, this::onSettledEverywhere)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(GetAntiEntropy.class, g -> { antiEntropy.tell(new AntiEntropy.GetReport(g.replyTo())); return this; })
        .onMessage(GetHints.class, g -> { hints.tell(new Hints.GetCounts(g.replyTo())); return this; })
        .onMessage(Leave.class, this::onLeave)
        .onMessageEquals(LeaveFailed.INSTANCE, this::onLeaveFailed)
        .build();
  }

  private Behavior<Command> onClockChecked(ClockChecked c) {
    clock = c;
    coordinator.clockChecked(c);
    return this;
  }

  private Behavior<Command> onViewChanged(ViewChanged vc) {
    ClusterView next = vc.view();
    if (next.epoch() <= view.epoch()) return this;
    getContext().getLog().info("view epoch {} -> {}: UP {}", view.epoch(), next.epoch(), next.ring().nodes());
    view = next;
    coordinator.adopt(next);
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
    coordinator.adopt(view);
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
