package io.ringkv.worker;

import com.typesafe.config.Config;
import io.ringkv.cluster.ClusterView;
import io.ringkv.config.NodeSettings;
import io.ringkv.cluster.MembershipReply;
import io.ringkv.net.ControlPlane;
import java.time.Duration;
import java.util.UUID;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Keeps this worker in the controller's membership: once the worker serves ({@link Start}), registers
 * (retrying with back-off), then heartbeats on a timer. Views come from the controller only: its
 * registration answer, or a fetch of its {@code /ring} (a pushed {@code /node_down} is only a hint
 * to fetch). A heartbeat answer carries the controller's epoch: when it is newer than
 * the worker's view, the link fetches the view, so a missed push is caught up within one interval.
 * A 404 (the controller restarted and forgot us) re-registers, carrying the last view so the
 * controller can resume from it.
 */
public final class MembershipLink extends AbstractBehavior<MembershipLink.Command> {
  public sealed interface Command {}

  /** The worker adopted a view; its epoch is what heartbeats report. */
  public record ViewAdopted(ClusterView view) implements Command {}

  /** The worker brought its data in line with the view of {@code epoch} (its rebalance done); heartbeats report it. */
  public record Settled(long epoch) implements Command {}

  /** Start registering: the worker's HTTP server and link are listening (UP means serving). */
  public enum Start implements Command { INSTANCE }

  /** Fetch the view from the controller (a push hinted at a change, or a heartbeat showed a newer epoch). */
  public enum FetchView implements Command { INSTANCE }

  /** Stop heartbeating and tell the controller this worker leaves. */
  public enum Leave implements Command { INSTANCE }

  /** The controller's answer to a leave; null when it did not answer. */
  private record LeftWith(MembershipReply reply) implements Command {}

  private enum Tick implements Command { INSTANCE }

  private enum RegisterNow implements Command { INSTANCE }

  private record RegisterAnswered(MembershipReply reply, long sentMillis) implements Command {}

  private record RegisterFailed(Throwable cause) implements Command {}

  private record HeartbeatAnswered(MembershipReply reply, long sentMillis) implements Command {}

  private record HeartbeatFailed(Throwable cause) implements Command {}

  private record ViewFetched(ClusterView view) implements Command {}

  private record FetchFailed(Throwable cause) implements Command {}

  /** {@code wallMillis}: this node's wall clock, which it checks against the controller's. */
  public static Behavior<Command> create(NodeSettings settings, ControlPlane controller, LongSupplier wallMillis,
      ActorRef<Worker.Command> worker) {
    return create(settings, controller, wallMillis, worker, LocalData.inMemory(0));
  }

  /** {@code data}: the last view stored before a restart (offered at registration: a controller that restarted too resumes it), and where to store new ones. */
  public static Behavior<Command> create(NodeSettings settings, ControlPlane controller, LongSupplier wallMillis,
      ActorRef<Worker.Command> worker, LocalData data) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new MembershipLink(ctx, timers, settings, controller, wallMillis, worker, data)));
  }

  /** The link's own thread (application.conf), apart from the dispatcher that carries the data. */
  static final String DISPATCHER = "ringkv.membership-dispatcher";

  /** Where to run the link: its own dispatcher, or the default one in a system configured without it. */
  public static DispatcherSelector dispatcher(Config config) {
    return config.hasPath(DISPATCHER) ? DispatcherSelector.fromConfig(DISPATCHER) : DispatcherSelector.defaultDispatcher();
  }

  private static final int MAX_HEARTBEATS_IN_FLIGHT = 3;
  private final TimerScheduler<Command> timers;
  private final NodeSettings settings;
  private final ControlPlane controller;
  private final LongSupplier wallMillis;
  /** Whether the last clock reading found this node's clock off the controller's; null before any reading. */
  private Boolean clockOff;
  private final ActorRef<Worker.Command> worker;
  private final String instance = UUID.randomUUID().toString();
  private ClusterView lastView;
  private final LocalData data;
  /** The last view stored before this process started (null: none): offered at registration until a view is adopted. */
  private final ClusterView stored;
  private boolean adopted;
  private boolean registered;
  private boolean registering;
  private boolean started;
  private long settled;
  private long settledEverywhere = -1;
  private boolean fetching;
  /** A fetch was asked for while one was under way: fetch again when it ends, it may be newer. */
  private boolean fetchAgain;
  private int inFlight;
  private Duration backoff;
  private Membership state = Membership.registering();
  private boolean leaving;

  private MembershipLink(ActorContext<Command> ctx, TimerScheduler<Command> timers, NodeSettings settings,
      ControlPlane controller, LongSupplier wallMillis, ActorRef<Worker.Command> worker, LocalData data) {
    super(ctx);
    this.data = data;
    this.timers = timers;
    this.settings = settings;
    this.controller = controller;
    this.wallMillis = wallMillis;
    this.worker = worker;
    this.lastView = ClusterView.empty(settings.vnodes());
    this.stored = data.lastView();
    this.backoff = settings.registerBackoffMin();
    timers.startTimerAtFixedRate(Tick.INSTANCE, settings.heartbeatInterval());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(ViewAdopted.class, this::onViewAdopted)
        .onMessage(Settled.class, s -> { settled = Math.max(settled, s.epoch()); return this; })
        .onMessageEquals(Start.INSTANCE, this::onStart)
        .onMessageEquals(FetchView.INSTANCE, this::onFetchView)
        .onMessageEquals(RegisterNow.INSTANCE, this::onRegisterNow)
        .onMessage(RegisterAnswered.class, this::onRegisterAnswered)
        .onMessage(RegisterFailed.class, this::onRegisterFailed)
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onMessage(HeartbeatAnswered.class, this::onHeartbeatAnswered)
        .onMessage(HeartbeatFailed.class, this::onHeartbeatFailed)
        .onMessage(ViewFetched.class, this::onViewFetched)
        .onMessage(FetchFailed.class, this::onFetchFailed)
        .onMessageEquals(Leave.INSTANCE, this::onLeave)
        .onMessage(LeftWith.class, this::onLeftWith)
        .build();
  }

  private Behavior<Command> onViewAdopted(ViewAdopted v) {
    adopted = true;
    if (v.view().epoch() > lastView.epoch()) {
      lastView = v.view();
      data.saveView(lastView);
    }
    return this;
  }

  private Behavior<Command> onLeave() {
    leaving = true;
    timers.cancelAll();
    getContext().pipeToSelf(controller.leave(settings.nodeId(), instance), (reply, err) -> new LeftWith(reply));
    return this;
  }

  private Behavior<Command> onLeftWith(LeftWith l) {
    if (l.reply() instanceof MembershipReply.Accepted a) worker.tell(new Worker.ViewChanged(a.view()));
    else worker.tell(Worker.LeaveFailed.INSTANCE);
    return this;
  }

  private Behavior<Command> onRegisterNow() {
    if (registering || leaving) return this;
    registering = true;
    var reg = new ControlPlane.Registration(settings.nodeId(), settings.advertiseHost(), settings.advertisePort(), instance,
        stored != null && !adopted ? stored : lastView);
    long sent = wallMillis.getAsLong();
    getContext().pipeToSelf(controller.register(reg),
        (reply, err) -> err == null ? new RegisterAnswered(reply, sent) : new RegisterFailed(err));
    return this;
  }

  private Behavior<Command> onRegisterAnswered(RegisterAnswered r) {
    registering = false;
    if (r.reply() instanceof MembershipReply.Accepted a) {
      checkClock(a.controllerMillis(), r.sentMillis());
      registered = true;
      backoff = settings.registerBackoffMin();
      if (!state.isRegistered())
        getContext().getLog().info("{} registered with the controller at epoch {}", settings.nodeId(), a.view().epoch());
      setState(Membership.registered());
      if (a.rejoinEmpty()) worker.tell(Worker.RejoinEmpty.INSTANCE);   // before the view: nothing of the old data moves
      worker.tell(new Worker.ViewChanged(a.view()));
      return this;
    }
    String why = r.reply() instanceof MembershipReply.Conflict c ? c.detail() : "unexpected answer " + r.reply();
    getContext().getLog().error("node id {} is refused by the controller: {}", settings.nodeId(), why);
    setState(Membership.refused(why));
    return retryRegistration();
  }

  private Behavior<Command> onRegisterFailed(RegisterFailed f) {
    registering = false;
    getContext().getLog().debug("registration failed: {}", f.cause().toString());
    setState(Membership.unreachable(Membership.Phase.REGISTERING));
    return retryRegistration();
  }

  private Behavior<Command> retryRegistration() {
    timers.startSingleTimer(RegisterNow.INSTANCE, backoff);
    Duration doubled = backoff.multipliedBy(2);
    backoff = doubled.compareTo(settings.registerBackoffMax()) > 0 ? settings.registerBackoffMax() : doubled;
    return this;
  }

  private Behavior<Command> onTick() {
    if (!registered || leaving || inFlight >= MAX_HEARTBEATS_IN_FLIGHT) return this;
    inFlight++;
    var hb = new ControlPlane.Heartbeat(settings.nodeId(), instance, lastView.epoch(), settled);
    long sent = wallMillis.getAsLong();
    getContext().pipeToSelf(controller.heartbeat(hb),
        (reply, err) -> err == null ? new HeartbeatAnswered(reply, sent) : new HeartbeatFailed(err));
    return this;
  }

  private Behavior<Command> onHeartbeatAnswered(HeartbeatAnswered a) {
    inFlight--;
    if (a.reply() instanceof MembershipReply.Alive alive) {
      checkClock(alive.controllerMillis(), a.sentMillis());
      setState(Membership.registered());
      if (alive.settledEverywhere() != settledEverywhere) {
        settledEverywhere = alive.settledEverywhere();
        worker.tell(new Worker.SettledEverywhere(settledEverywhere));
      }
      if (alive.epoch() > lastView.epoch()) onFetchView();
      return this;
    }
    // unknown (the controller restarted) or another process's: register this process again
    if (registered) getContext().getLog().info("controller does not know {} ({}): registering again", settings.nodeId(), a.reply());
    registered = false;
    getContext().getSelf().tell(RegisterNow.INSTANCE);
    return this;
  }

  private Behavior<Command> onHeartbeatFailed(HeartbeatFailed f) {
    inFlight--;
    setState(Membership.unreachable(Membership.Phase.REGISTERED));
    return this;
  }

  private Behavior<Command> onStart() {
    if (!started) {
      started = true;
      getContext().getSelf().tell(RegisterNow.INSTANCE);
    }
    return this;
  }

  private Behavior<Command> onFetchView() {
    if (fetching) {
      fetchAgain = true;
      return this;
    }
    fetching = true;
    fetchAgain = false;
    getContext().pipeToSelf(controller.fetchView(), (view, err) -> err == null ? new ViewFetched(view) : new FetchFailed(err));
    return this;
  }

  private Behavior<Command> onViewFetched(ViewFetched v) {
    fetching = false;
    worker.tell(new Worker.ViewChanged(v.view()));
    return fetchAgain ? onFetchView() : this;
  }

  private Behavior<Command> onFetchFailed(FetchFailed f) {
    fetching = false;
    getContext().getLog().debug("view fetch failed: {}", f.cause().toString());
    return fetchAgain ? onFetchView() : this;
  }

  /**
   * Compares this node's wall clock with the controller's, read at the middle of the call, and tells
   * the worker when it moves further apart than MAX_CLOCK_SKEW, or back: a node whose clock is off
   * stamps no writes (its versions would beat later writes, or be refused by every replica).
   */
  private void checkClock(long controllerMillis, long sentMillis) {
    if (controllerMillis == MembershipReply.NO_CLOCK || !settings.checkClockAgainstController()) return;
    long received = wallMillis.getAsLong();
    long offset = (sentMillis + received) / 2 - controllerMillis;
    // the call's own time bounds how well the offset is known
    boolean off = Math.abs(offset) - (received - sentMillis) / 2 > settings.maxClockSkew().toMillis();
    if (clockOff == null || off != clockOff) {
      clockOff = off;
      if (off) getContext().getLog().error("{}'s clock is {} ms off the controller's, more than MAX_CLOCK_SKEW ({}): it"
          + " stamps no writes until the clocks agree (check NTP)", settings.nodeId(), offset, settings.maxClockSkew());
      else getContext().getLog().info("{}'s clock is within MAX_CLOCK_SKEW of the controller's ({} ms)", settings.nodeId(), offset);
      worker.tell(new Worker.ClockChecked(offset, off));
    }
  }

  private void setState(Membership s) {
    if (!s.equals(state)) {
      state = s;
      worker.tell(new Worker.MembershipChanged(s));
    }
  }
}
