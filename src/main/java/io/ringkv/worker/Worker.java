package io.ringkv.worker;

import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.net.ControlPlane;
import io.ringkv.net.Write;
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
 * Owns this worker's membership view and routes every client request: writes go to the key's
 * primary (or are coordinated here when this node is the primary, or the primary cannot be
 * reached), reads are coordinated here. Starts a rebalance on every new view.
 */
public final class Worker extends AbstractBehavior<Worker.Command> {
  public sealed interface Command {}

  /** A client write. {@code forwarded}: it came from another worker, so coordinate here, never forward again. */
  public record Put(Write write, boolean forwarded, ActorRef<WriteOutcome> replyTo) implements Command {}

  public record Get(String key, ActorRef<ReadOutcome> replyTo) implements Command {}

  /** A view from the controller (pushed, or fetched by the membership link); older epochs are ignored. */
  public record ViewChanged(ClusterView view) implements Command {}

  /** The controller hinted at a change without sending the view: fetch it. */
  public enum SyncView implements Command { INSTANCE }

  public record GetStatus(ActorRef<Status> replyTo) implements Command {}

  public record Status(String nodeId, ClusterView view, boolean rebalancing, long keysMoved, long keysHandedOff,
      int rebalances, Membership membership, boolean leaving) {}

  /**
   * Leave the cluster on purpose (shutdown): the controller marks this node DOWN at once, and the
   * reply comes once its keys are with their new owners, or at once if the controller is unreachable.
   */
  public record Leave(ActorRef<Left> replyTo) implements Command {}

  public record Left(boolean handedOff) {}

  /** From the membership link: the controller could not be told. */
  public enum LeaveFailed implements Command { INSTANCE }

  /** From the membership link: where registration stands, for /status. */
  public record MembershipChanged(Membership membership) implements Command {}

  private record WrappedFinished(Rebalancer.Finished finished) implements Command {}

  /** The primary could not take a forwarded write: coordinate it here. */
  private record CoordinateHere(Put put) implements Command {}

  private enum RetryRebalance implements Command { INSTANCE }

  public static Behavior<Command> create(WorkerEnv env, ControlPlane controlPlane) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Worker(ctx, timers, env, controlPlane)));
  }

  private static final Duration REBALANCE_RETRY = Duration.ofSeconds(1);
  private static final String NO_VIEW = "no UP workers in this node's view yet";
  private final WorkerEnv env;
  private final TimerScheduler<Command> timers;
  private final ActorRef<Rebalancer.Command> rebalancer;
  private final ActorRef<MembershipLink.Command> link;
  private final ActorRef<Hints.Command> hints;
  private final int n;
  private ClusterView view;
  /** The last view the local data was fully brought in line with. */
  private ClusterView settled;
  private boolean rebalancing;
  private long keysMoved;
  private long keysHandedOff;
  private int rebalances;
  private Membership membership = Membership.registering();
  private ActorRef<Left> leaving;

  private Worker(ActorContext<Command> ctx, TimerScheduler<Command> timers, WorkerEnv env, ControlPlane controlPlane) {
    super(ctx);
    this.env = env;
    this.timers = timers;
    this.n = env.settings().replicationFactor();
    this.view = ClusterView.empty(env.settings().vnodes());
    this.settled = view;
    ActorRef<Rebalancer.Finished> finished = ctx.messageAdapter(Rebalancer.Finished.class, WrappedFinished::new);
    this.rebalancer = ctx.spawn(Rebalancer.create(env, finished), "rebalancer");
    this.hints = ctx.spawn(Hints.create(env), "hints");
    this.link = ctx.spawn(MembershipLink.create(env.settings(), controlPlane, ctx.getSelf()), "membership",
        MembershipLink.dispatcher(ctx.getSystem().settings().config()));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Put.class, this::onPut)
        .onMessage(CoordinateHere.class, c -> coordinate(c.put()))
        .onMessage(Get.class, this::onGet)
        .onMessage(ViewChanged.class, this::onViewChanged)
        .onMessageEquals(SyncView.INSTANCE, this::onSyncView)
        .onMessage(WrappedFinished.class, this::onRebalanceFinished)
        .onMessageEquals(RetryRebalance.INSTANCE, this::onRetryRebalance)
        .onMessage(MembershipChanged.class, this::onMembershipChanged)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(Leave.class, this::onLeave)
        .onMessageEquals(LeaveFailed.INSTANCE, this::onLeaveFailed)
        .build();
  }

  private Behavior<Command> onPut(Put put) {
    List<Member> owners = view.owners(put.write().key(), n);
    if (owners.isEmpty()) {
      // a forwarder takes this as "primary unavailable" and coordinates the write itself (this node
      // just restarted: the others saw it UP before it had its own view)
      put.replyTo().tell(new WriteOutcome.NoView(NO_VIEW));
      return this;
    }
    Member primary = owners.get(0);
    if (put.forwarded() || primary.id().equals(env.self())) return coordinate(put);
    ActorRef<Command> self = getContext().getSelf();
    env.peers().forward(primary, put.write()).whenComplete((outcome, err) -> {
      // primary unreachable, or without a view: any node may coordinate
      if (err != null || outcome instanceof WriteOutcome.NoView) self.tell(new CoordinateHere(put));
      else put.replyTo().tell(outcome);
    });
    return this;
  }

  private Behavior<Command> coordinate(Put put) {
    List<Member> owners = view.owners(put.write().key(), n);
    if (owners.isEmpty()) {
      put.replyTo().tell(new WriteOutcome.NoView(NO_VIEW));
      return this;
    }
    Versioned v = new Versioned(put.write().value(), new Version(env.clock().now(), env.self()));
    getContext().spawnAnonymous(QuorumWrite.create(env, hints, new Entry(put.write().key(), v), owners, put.replyTo()));
    return this;
  }

  private Behavior<Command> onGet(Get get) {
    List<Member> owners = view.owners(get.key(), n);
    if (owners.isEmpty()) {
      get.replyTo().tell(new ReadOutcome.NoView(NO_VIEW));
      return this;
    }
    getContext().spawnAnonymous(QuorumRead.create(env, get.key(), owners, get.replyTo()));
    return this;
  }

  private Behavior<Command> onViewChanged(ViewChanged vc) {
    ClusterView next = vc.view();
    if (next.epoch() <= view.epoch()) return this;
    getContext().getLog().info("view epoch {} -> {}: UP {}", view.epoch(), next.epoch(), next.ring().nodes());
    view = next;
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

  private Behavior<Command> onSyncView() {
    link.tell(MembershipLink.FetchView.INSTANCE);
    return this;
  }

  private Behavior<Command> onMembershipChanged(MembershipChanged m) {
    membership = m.membership();
    return this;
  }

  private Behavior<Command> onGetStatus(GetStatus g) {
    g.replyTo().tell(new Status(env.self(), view, rebalancing, keysMoved, keysHandedOff, rebalances, membership,
        leaving != null));
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
