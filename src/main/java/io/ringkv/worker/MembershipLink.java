package io.ringkv.worker;

import com.typesafe.config.Config;
import io.ringkv.cluster.ClusterView;
import io.ringkv.config.NodeSettings;
import io.ringkv.net.PeerException;
import io.ringkv.net.Peers;
import java.time.Duration;
import java.util.UUID;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Keeps this worker in the controller's membership: registers (retrying with back-off), then
 * heartbeats on a timer. A heartbeat answer carries the controller's epoch: when it is newer than
 * the worker's view, the link fetches the view, so a missed push is caught up within one interval.
 * A 404 (the controller restarted and forgot us) re-registers, carrying the last view so the
 * controller can resume from it.
 */
public final class MembershipLink extends AbstractBehavior<MembershipLink.Command> {
  public sealed interface Command {}

  /** The worker adopted a view; its epoch is what heartbeats report. */
  public record ViewAdopted(ClusterView view) implements Command {}

  public enum FetchView implements Command { INSTANCE }

  /** Stop heartbeating and tell the controller this worker leaves. */
  public enum Leave implements Command { INSTANCE }

  private record LeftWith(ClusterView view) implements Command {}

  private enum Tick implements Command { INSTANCE }

  private enum RegisterNow implements Command { INSTANCE }

  private record Registered(ClusterView view) implements Command {}

  private record RegisterFailed(Throwable cause) implements Command {}

  private record HeartbeatAnswered(long epoch) implements Command {}

  private record HeartbeatFailed(Throwable cause) implements Command {}

  private record ViewFetched(ClusterView view) implements Command {}

  private record FetchFailed(Throwable cause) implements Command {}

  public static Behavior<Command> create(NodeSettings settings, Peers peers, ActorRef<Worker.Command> worker) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new MembershipLink(ctx, timers, settings, peers, worker)));
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
  private final Peers peers;
  private final ActorRef<Worker.Command> worker;
  private final String instance = UUID.randomUUID().toString();
  private ClusterView lastView;
  private boolean registered;
  private boolean registering;
  private boolean fetching;
  private int inFlight;
  private Duration backoff;
  private String state = "registering";
  private boolean leaving;

  private MembershipLink(ActorContext<Command> ctx, TimerScheduler<Command> timers, NodeSettings settings, Peers peers,
      ActorRef<Worker.Command> worker) {
    super(ctx);
    this.timers = timers;
    this.settings = settings;
    this.peers = peers;
    this.worker = worker;
    this.lastView = ClusterView.empty(settings.vnodes());
    this.backoff = settings.registerBackoffMin();
    timers.startTimerAtFixedRate(Tick.INSTANCE, settings.heartbeatInterval());
    ctx.getSelf().tell(RegisterNow.INSTANCE);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(ViewAdopted.class, this::onViewAdopted)
        .onMessageEquals(FetchView.INSTANCE, this::onFetchView)
        .onMessageEquals(RegisterNow.INSTANCE, this::onRegisterNow)
        .onMessage(Registered.class, this::onRegistered)
        .onMessage(RegisterFailed.class, this::onRegisterFailed)
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onMessage(HeartbeatAnswered.class, this::onHeartbeatAnswered)
        .onMessage(HeartbeatFailed.class, this::onHeartbeatFailed)
        .onMessage(ViewFetched.class, this::onViewFetched)
        .onMessage(FetchFailed.class, f -> { fetching = false; return this; })
        .onMessageEquals(Leave.INSTANCE, this::onLeave)
        .onMessage(LeftWith.class, this::onLeftWith)
        .build();
  }

  private Behavior<Command> onViewAdopted(ViewAdopted v) {
    if (v.view().epoch() > lastView.epoch()) lastView = v.view();
    return this;
  }

  private Behavior<Command> onLeave() {
    leaving = true;
    timers.cancelAll();
    getContext().pipeToSelf(peers.leave(settings.nodeId(), instance),
        (view, err) -> err == null ? new LeftWith(view) : new LeftWith(null));
    return this;
  }

  private Behavior<Command> onLeftWith(LeftWith l) {
    if (l.view() == null) worker.tell(Worker.LeaveFailed.INSTANCE);
    else worker.tell(new Worker.ViewChanged(l.view()));
    return this;
  }

  private Behavior<Command> onRegisterNow() {
    if (registering || leaving) return this;
    registering = true;
    var reg = new Peers.Registration(settings.nodeId(), settings.advertiseHost(), settings.advertisePort(), instance, lastView);
    getContext().pipeToSelf(peers.register(reg), (view, err) -> err == null ? new Registered(view) : new RegisterFailed(err));
    return this;
  }

  private Behavior<Command> onRegistered(Registered r) {
    registering = false;
    registered = true;
    backoff = settings.registerBackoffMin();
    if (!"registered".equals(state))
      getContext().getLog().info("{} registered with the controller at epoch {}", settings.nodeId(), r.view().epoch());
    setState("registered");
    worker.tell(new Worker.ViewChanged(r.view()));
    return this;
  }

  private Behavior<Command> onRegisterFailed(RegisterFailed f) {
    registering = false;
    if (PeerException.statusOf(f.cause()) == 409) {
      String why = PeerException.detailOf(f.cause());
      getContext().getLog().error("node id {} is refused by the controller: {}", settings.nodeId(), why);
      setState("refused: " + why);
    } else {
      getContext().getLog().debug("registration failed: {}", f.cause().toString());
      setState("registering: controller unreachable");
    }
    timers.startSingleTimer(RegisterNow.INSTANCE, backoff);
    Duration doubled = backoff.multipliedBy(2);
    backoff = doubled.compareTo(settings.registerBackoffMax()) > 0 ? settings.registerBackoffMax() : doubled;
    return this;
  }

  private Behavior<Command> onTick() {
    if (!registered || leaving || inFlight >= MAX_HEARTBEATS_IN_FLIGHT) return this;
    inFlight++;
    var hb = new Peers.Heartbeat(settings.nodeId(), instance, lastView.epoch());
    getContext().pipeToSelf(peers.heartbeat(hb), (epoch, err) -> err == null ? new HeartbeatAnswered(epoch) : new HeartbeatFailed(err));
    return this;
  }

  private Behavior<Command> onHeartbeatAnswered(HeartbeatAnswered a) {
    inFlight--;
    setState("registered");
    if (a.epoch() > lastView.epoch()) onFetchView();
    return this;
  }

  private Behavior<Command> onHeartbeatFailed(HeartbeatFailed f) {
    inFlight--;
    int status = PeerException.statusOf(f.cause());
    if (status == 404 || status == 409) {
      if (registered) getContext().getLog().info("controller does not know {} ({}): registering again", settings.nodeId(), status);
      registered = false;
      getContext().getSelf().tell(RegisterNow.INSTANCE);
    } else {
      setState("registered: controller unreachable");
    }
    return this;
  }

  private Behavior<Command> onFetchView() {
    if (fetching) return this;
    fetching = true;
    getContext().pipeToSelf(peers.fetchView(), (view, err) -> err == null ? new ViewFetched(view) : new FetchFailed(err));
    return this;
  }

  private Behavior<Command> onViewFetched(ViewFetched v) {
    fetching = false;
    worker.tell(new Worker.ViewChanged(v.view()));
    return this;
  }

  private void setState(String s) {
    if (!s.equals(state)) {
      state = s;
      worker.tell(new Worker.MembershipState(s));
    }
  }
}
