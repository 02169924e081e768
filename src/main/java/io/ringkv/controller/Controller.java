package io.ringkv.controller;

import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.config.NodeSettings;
import io.ringkv.cluster.MembershipReply;
import io.ringkv.net.ControlPlane;
import io.ringkv.net.Wire;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Owns the cluster membership and its epoch. Each worker's heartbeats re-arm a timer of its own;
 * when the timer fires the worker turns DOWN, unless the controller itself was stalled meanwhile
 * ({@link StallGuard}): then the worker gets one more timeout. Every change raises the epoch and pushes the new view
 * to all UP workers. For one heartbeat timeout after its start it resumes from the newest view a
 * worker reports, so epochs keep growing and no data moves; after that, a view or epoch a worker
 * reports never moves it.
 */
public final class Controller extends AbstractBehavior<Controller.Command> {
  public sealed interface Command {}

  public record Register(ControlPlane.Registration registration, ActorRef<MembershipReply> replyTo) implements Command {}

  public record Heartbeat(ControlPlane.Heartbeat heartbeat, ActorRef<MembershipReply> replyTo) implements Command {}

  /** A worker shutting down on purpose: DOWN at once, no heartbeat timeout to wait for. */
  public record Leave(String nodeId, String instance, ActorRef<MembershipReply> replyTo) implements Command {}

  public record GetView(ActorRef<ClusterView> replyTo) implements Command {}

  public record GetNodes(ActorRef<Nodes> replyTo) implements Command {}

  /** The view plus when each node was last heard from (epoch seconds). */
  public record Nodes(ClusterView view, Map<String, Double> lastSeen) {}

  private record SuspectAfter(String node) implements Command {}

  /** Proof of this actor's own liveness, every heartbeat interval (see {@link StallGuard}). */
  private enum Tick implements Command { INSTANCE }

  /** The end of the window in which this controller may take over a view or epoch a worker reports. */
  private enum ResumeWindowOver implements Command { INSTANCE }

  /** Epochs stay far below overflow: a reported epoch above this is never taken over. */
  static final long MAX_EPOCH = 1L << 48;

  public static Behavior<Command> create(NodeSettings settings, ControlPlane workers, Clock clock) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Controller(ctx, timers, settings, workers, clock)));
  }

  private final TimerScheduler<Command> timers;
  private final NodeSettings settings;
  private final ControlPlane workers;
  private final Clock clock;
  private final Map<String, Double> lastSeen = new HashMap<>();
  /** The newest epoch each worker reported settled (its rebalance to it done). */
  private final Map<String, Long> settled = new HashMap<>();
  private final StallGuard stalls;
  private ClusterView view;
  /** Until one heartbeat timeout after start: the views and epochs workers report may be taken over. */
  private boolean resuming = true;

  private Controller(ActorContext<Command> ctx, TimerScheduler<Command> timers, NodeSettings settings,
      ControlPlane workers, Clock clock) {
    super(ctx);
    this.timers = timers;
    this.settings = settings;
    this.workers = workers;
    this.clock = clock;
    this.view = ClusterView.empty(settings.vnodes());
    this.stalls = new StallGuard(settings.heartbeatInterval().toMillis(), settings.heartbeatTimeout().toMillis(), clock.millis());
    timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.heartbeatInterval());
    timers.startSingleTimer(ResumeWindowOver.INSTANCE, settings.heartbeatTimeout());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Register.class, this::onRegister)
        .onMessage(Heartbeat.class, this::onHeartbeat)
        .onMessage(SuspectAfter.class, this::onSuspectAfter)
        .onMessageEquals(Tick.INSTANCE, () -> { stalls.tick(clock.millis()); return this; })
        .onMessage(Leave.class, this::onLeave)
        .onMessageEquals(ResumeWindowOver.INSTANCE, () -> { resuming = false; return this; })
        .onMessage(GetView.class, g -> { g.replyTo().tell(view); return this; })
        .onMessage(GetNodes.class, g -> { g.replyTo().tell(new Nodes(view, Map.copyOf(lastSeen))); return this; })
        .build();
  }

  private Behavior<Command> onRegister(Register r) {
    ControlPlane.Registration reg = r.registration();
    resumeFrom(reg.lastView(), reg.nodeId());
    Member known = view.member(reg.nodeId());
    if (known != null && known.isUp() && !known.sameAddress(reg.host(), reg.port())) {
      r.replyTo().tell(new MembershipReply.Conflict("node id " + reg.nodeId() + " is already UP at " + known.host() + ":"
          + known.port() + "; stop that process or give this one another NODE_ID"));
      return this;
    }
    if (known == null && view.members().size() >= Wire.MAX_MEMBERS) {
      r.replyTo().tell(new MembershipReply.Conflict("the cluster has " + Wire.MAX_MEMBERS + " members, the most a view holds"));
      return this;
    }
    Member next = new Member(reg.nodeId(), reg.host(), reg.port(), Member.Status.UP, reg.instance());
    boolean stale = awayTooLong(known);
    if (stale)
      getContext().getLog().warn("{} was DOWN for longer than TOMBSTONE_TTL ({}): it rejoins empty, since deletes it missed"
          + " may have been purged", reg.nodeId(), settings.tombstoneTtl());
    seen(reg.nodeId());
    if (known == null || !known.isUp() || !known.sameAddress(reg.host(), reg.port())) {
      getContext().getLog().info("{} registered at {}:{}{}", reg.nodeId(), reg.host(), reg.port(),
          known == null ? "" : " (was DOWN)");
      change(next);
    } else if (known.instance() == null) {
      view = view.with(next, view.epoch());   // resumed from a worker's view: learn the instance, move nothing
    } else if (!known.instance().equals(reg.instance())) {
      getContext().getLog().info("{} restarted at {}:{} (a new process: the others refill it)", reg.nodeId(), reg.host(), reg.port());
      change(next);
    }
    r.replyTo().tell(new MembershipReply.Accepted(view, clock.millis(), stale));
    return this;
  }

  private Behavior<Command> onHeartbeat(Heartbeat h) {
    ControlPlane.Heartbeat hb = h.heartbeat();
    Member known = view.member(hb.nodeId());
    if (known == null) {
      h.replyTo().tell(new MembershipReply.UnknownNode("unknown node " + hb.nodeId() + "; register first"));
      return this;
    }
    if (known.instance() != null && hb.instance() != null && !known.instance().equals(hb.instance())) {
      h.replyTo().tell(new MembershipReply.Conflict("node id " + hb.nodeId() + " belongs to another process"));
      return this;
    }
    if (awayTooLong(known)) {
      // it must drop its data before it takes part again: that happens at registration
      h.replyTo().tell(new MembershipReply.UnknownNode(hb.nodeId() + " was DOWN for longer than TOMBSTONE_TTL; register again"));
      return this;
    }
    seen(hb.nodeId());
    if (!known.isUp() || known.instance() == null) {
      if (!known.isUp()) getContext().getLog().info("{} is UP again", hb.nodeId());
      Member up = new Member(known.id(), known.host(), known.port(), Member.Status.UP,
          hb.instance() != null ? hb.instance() : known.instance());
      if (known.isUp()) view = view.with(up, view.epoch());
      else change(up);
    }
    if (hb.epoch() > view.epoch() && resumable(hb.epoch(), hb.nodeId())) {
      // a worker is ahead of us (we restarted and resumed from an older view): overtake it
      view = new ClusterView(hb.epoch() + 1, view.members(), settings.vnodes());
      pushToAll();
    }
    settled.put(hb.nodeId(), Math.min(hb.settled(), view.epoch()));
    h.replyTo().tell(new MembershipReply.Alive(view.epoch(), clock.millis(), settledEverywhere()));
    return this;
  }

  /**
   * Whether {@code m} is DOWN and has not been heard from for longer than TOMBSTONE_TTL (the grace
   * period): the others may have purged deletes it never saw, so its data could bring keys back.
   * Unknown after a restart of this controller (it did not hear the node): then false.
   */
  private boolean awayTooLong(Member m) {
    Double lastHeard = m == null ? null : lastSeen.get(m.id());
    return m != null && !m.isUp() && lastHeard != null
        && clock.millis() - (long) (lastHeard * 1000) > settings.tombstoneTtl().toMillis();
  }

  private Behavior<Command> onSuspectAfter(SuspectAfter s) {
    Member m = view.member(s.node());
    if (m != null && m.isUp() && !stalls.silenceCounts(clock.millis())) {
      // this process was not running for part of the silence: the heartbeats may be waiting unread
      getContext().getLog().info("{} silent for {}, but so was this controller (stalled): waiting one more timeout",
          s.node(), settings.heartbeatTimeout());
      armSuspicion(s.node());
      return this;
    }
    if (m != null && m.isUp()) {
      getContext().getLog().info("{} is DOWN: no heartbeat for {}", s.node(), settings.heartbeatTimeout());
      change(m.withStatus(Member.Status.DOWN));
    }
    return this;
  }

  private Behavior<Command> onLeave(Leave l) {
    Member m = view.member(l.nodeId());
    if (m == null) {
      l.replyTo().tell(new MembershipReply.UnknownNode("unknown node " + l.nodeId()));
      return this;
    }
    // only the registered process itself may leave: a leave without its instance (or a stale one from
    // an earlier incarnation) would take a live node DOWN
    if (m.instance() != null && !m.instance().equals(l.instance())) {
      l.replyTo().tell(new MembershipReply.Conflict("node id " + l.nodeId() + " is registered by another process instance"));
      return this;
    }
    timers.cancel(new SuspectAfter(l.nodeId()));
    if (m.isUp()) {
      getContext().getLog().info("{} is leaving: DOWN now", l.nodeId());
      change(m.withStatus(Member.Status.DOWN));
      workers.pushView(m, view);   // the leaver learns the view it must hand its keys over by
    }
    l.replyTo().tell(new MembershipReply.Accepted(view));
    return this;
  }

  /** After a restart, take over the newest view a worker reports instead of starting from nothing. */
  private void resumeFrom(ClusterView reported, String from) {
    if (reported == null || reported.epoch() <= view.epoch() || !resumable(reported.epoch(), from)) return;
    Map<String, Member> merged = new HashMap<>(reported.members());
    merged.putAll(view.members());
    view = new ClusterView(reported.epoch(), merged, settings.vnodes());
    getContext().getLog().info("resumed membership from a worker's view at epoch {}: {}", view.epoch(), view.members().keySet());
    for (Member m : view.members().values()) if (m.isUp()) armSuspicion(m.id());
  }

  /** The oldest epoch that every UP worker has settled: the data of every join up to it has arrived. */
  private long settledEverywhere() {
    long min = Long.MAX_VALUE;
    for (Member m : view.members().values()) if (m.isUp()) min = Math.min(min, settled.getOrDefault(m.id(), 0L));
    return min == Long.MAX_VALUE ? 0 : min;
  }

  /**
   * Whether a worker's epoch may be taken over: only while this controller resumes after its own
   * start (for one heartbeat timeout: every live worker has re-registered by then), and only an
   * epoch that leaves room to grow. Otherwise epochs move by this controller's own steps only.
   */
  private boolean resumable(long epoch, String from) {
    if (resuming && epoch < MAX_EPOCH) return true;
    getContext().getLog().warn("{} reports epoch {} ahead of this controller's {}: ignored ({})", from, epoch, view.epoch(),
        resuming ? "too large" : "not resuming after a restart");
    return false;
  }

  private void change(Member m) {
    view = view.with(m, view.epoch() + 1);
    getContext().getLog().info("epoch {}: UP {}", view.epoch(), view.ring().nodes());
    pushToAll();
  }

  private void pushToAll() {
    for (Member m : view.members().values()) if (m.isUp()) workers.pushView(m, view);
  }

  private void seen(String node) {
    lastSeen.put(node, clock.millis() / 1000.0);
    armSuspicion(node);
  }

  private void armSuspicion(String node) {
    SuspectAfter key = new SuspectAfter(node);
    timers.startSingleTimer(key, key, settings.heartbeatTimeout());   // same key: replaces the old timer
  }
}
