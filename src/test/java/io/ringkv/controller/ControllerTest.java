package io.ringkv.controller;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.config.NodeSettings;
import io.ringkv.cluster.MembershipReply;
import io.ringkv.net.ControlPlane;
import io.ringkv.net.NoPeers;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The controller's failure detector and membership on virtual time, with a Peers stub that records pushes. */
class ControllerTest {
  static final ActorTestKit testKit = ActorTestKit.create(ManualTime.config().withFallback(ConfigFactory.load()));
  static final ManualTime time = ManualTime.get(testKit.system());
  static final NodeSettings settings = NodeSettings.from(ConfigFactory.parseMap(Map.of(
      "ringkv.node-id", "controller", "ringkv.advertise-host", "127.0.0.1")).withFallback(ConfigFactory.load()));
  static final Duration TIMEOUT = settings.heartbeatTimeout();

  /** A view pushed to one worker: its epoch and UP nodes. */
  record Pushed(String to, long epoch, List<String> up) {
    static Pushed of(String to, ClusterView view) {
      return new Pushed(to, view.epoch(), view.ring().nodes().stream().sorted().toList());
    }
  }

  /**
   * Records every pushView; the controller makes no other call. The controller pushes inside the
   * handler of the message that changed the view, so once it has answered a later message, every
   * push before that answer is recorded.
   */
  static final class RecordingPeers extends NoPeers {
    private final Queue<Pushed> pushes = new ConcurrentLinkedQueue<>();

    /** The pushes recorded since the last call. */
    List<Pushed> takePushes() {
      List<Pushed> out = new ArrayList<>();
      for (Pushed p = pushes.poll(); p != null; p = pushes.poll()) out.add(p);
      return out;
    }

    @Override
    public CompletionStage<Void> pushView(Member to, ClusterView view) {
      pushes.add(Pushed.of(to.id(), view));
      return CompletableFuture.completedFuture(null);
    }







  }

  private final RecordingPeers peers = new RecordingPeers();
  private final ActorRef<Controller.Command> controller =
      testKit.spawn(Controller.create(settings, peers, virtualClock()));
  private final TestProbe<MembershipReply> replies = testKit.createTestProbe();
  private final TestProbe<ClusterView> views = testKit.createTestProbe();

  /** The controller's clock, moved with ManualTime by {@link #pass}: it reads the time its timers run on. */
  private static final AtomicLong NOW = new AtomicLong(1_000_000);

  private static Clock virtualClock() {
    return new Clock() {
      @Override public ZoneId getZone() { return ZoneOffset.UTC; }
      @Override public Clock withZone(ZoneId zone) { return this; }
      @Override public Instant instant() { return Instant.ofEpochMilli(NOW.get()); }
    };
  }

  /** Virtual time passes in heartbeat-interval steps, the clock with it (as it does for a running controller). */
  private static void pass(Duration d) {
    long left = d.toMillis();
    while (left > 0) {
      long step = Math.min(left, 100);
      NOW.addAndGet(step);
      time.timePasses(Duration.ofMillis(step));
      left -= step;
    }
  }

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @AfterEach
  void stopController() {
    testKit.stop(controller);
  }

  @Test
  void aNodeWhoseHeartbeatsStopTurnsDownExactlyAfterTheTimeout() {
    register("worker1", "i1", null);
    pass(Duration.ofSeconds(1));
    register("worker2", "i2", null);
    register("worker3", "i3", null);
    long epoch = view().epoch();
    assertEquals(3, epoch);
    peers.takePushes();

    pass(TIMEOUT.minus(Duration.ofSeconds(1)).minusMillis(1));
    assertTrue(view().isUp("worker1"), "DOWN before the timeout");
    assertEquals(List.of(), peers.takePushes());

    pass(Duration.ofMillis(2));
    ClusterView down = view();
    assertFalse(down.isUp("worker1"));
    assertEquals(Member.Status.DOWN, down.member("worker1").status());
    assertTrue(down.isUp("worker2") && down.isUp("worker3"));
    assertEquals(epoch + 1, down.epoch());
    Set<String> pushedTo = new HashSet<>();
    for (Pushed p : peers.takePushes()) {
      assertEquals(down.epoch(), p.epoch());
      assertEquals(List.of("worker2", "worker3"), p.up());
      pushedTo.add(p.to());
    }
    assertEquals(Set.of("worker2", "worker3"), pushedTo);
  }

  /**
   * The controller's own process stops for 3 s (a starved CPU, a GC pause): when it runs again its
   * suspicion timers are long due, but the silence was partly its own, so the workers get one more
   * timeout, counted from the end of the stall, before any is called DOWN.
   */
  @Test
  void aStalledControllerGivesSilentWorkersOneMoreTimeout() {
    register("worker1", "i1", null);
    register("worker2", "i2", null);
    long epoch = view().epoch();
    pass(Duration.ofMillis(500));
    NOW.addAndGet(3000);   // the process was not running: no tick, no timer, for 3 s of its clock
    pass(TIMEOUT);          // its timers catch up: worker1's and worker2's suspicions fire
    assertTrue(view().isUp("worker1") && view().isUp("worker2"), "called DOWN by a controller that was itself stalled");
    assertEquals(epoch, view().epoch());
    // worker2's heartbeats arrive again; worker1's do not
    alive("worker2", "i2", epoch);
    pass(TIMEOUT.dividedBy(2));
    alive("worker2", "i2", epoch);
    pass(TIMEOUT.dividedBy(2).plusMillis(100));
    ClusterView after = view();
    assertFalse(after.isUp("worker1"), "still UP a full timeout after the stall");
    assertTrue(after.isUp("worker2"));
    assertEquals(epoch + 1, after.epoch());
  }

  @Test
  void onlyTheRegisteredProcessCanLeave() {
    register("worker1", "i1", null);
    register("worker2", "i2", null);
    long epoch = view().epoch();
    for (String instance : new String[] {null, "", "i2", "an-earlier-incarnation"}) {
      controller.tell(new Controller.Leave("worker1", instance, replies.ref()));
      MembershipReply r = replies.receiveMessage();
      assertTrue(r instanceof MembershipReply.Conflict, "a leave of worker1 with instance " + instance + ": " + r);
    }
    assertTrue(view().isUp("worker1"));
    assertEquals(epoch, view().epoch());
    controller.tell(new Controller.Leave("worker1", "i1", replies.ref()));
    assertTrue(replies.receiveMessage() instanceof MembershipReply.Accepted);
    assertFalse(view().isUp("worker1"));
  }

  @Test
  void heartbeatsKeepANodeUp() {
    register("worker1", "i1", null);
    peers.takePushes();
    for (int i = 0; i < 5; i++) {
      pass(TIMEOUT.minusMillis(100));
      alive("worker1", "i1", 1);
    }
    assertTrue(view().isUp("worker1"));
    assertEquals(1, view().epoch());
    assertEquals(List.of(), peers.takePushes());
  }

  @Test
  void aHeartbeatFromADownNodeTurnsItUpWithAHigherEpoch() {
    register("worker1", "i1", null);
    pass(Duration.ofSeconds(1));
    register("worker2", "i2", null);
    pass(TIMEOUT.minus(Duration.ofSeconds(1)).plusMillis(1));
    ClusterView down = view();
    assertFalse(down.isUp("worker1"));
    assertTrue(down.isUp("worker2"));
    peers.takePushes();

    long epoch = alive("worker1", "i1", down.epoch());
    ClusterView v = view();
    assertEquals(epoch, v.epoch());
    assertTrue(v.isUp("worker1"));
    assertTrue(v.epoch() > down.epoch());
    assertEquals(Set.of(Pushed.of("worker1", v), Pushed.of("worker2", v)), Set.copyOf(peers.takePushes()));
  }

  @Test
  void aHeartbeatFromAnUnknownNodeIs404() {
    register("worker1", "i1", null);
    assertTrue(heartbeat("stranger", "x", 0) instanceof MembershipReply.UnknownNode);
    assertFalse(view().members().containsKey("stranger"));
  }

  @Test
  void aSecondProcessWithTheSameIdAtAnotherAddressIsRefusedWhileTheFirstIsUp() {
    register("worker1", "i1", null);
    long epoch = view().epoch();
    peers.takePushes();

    controller.tell(new Controller.Register(new ControlPlane.Registration("worker1", "10.0.0.99", 8001, "other", null), replies.ref()));
    MembershipReply r = replies.receiveMessage();
    assertTrue(r instanceof MembershipReply.Conflict c && c.detail().contains("worker1"), r.toString());
    ClusterView v = view();
    assertEquals(epoch, v.epoch());
    assertTrue(v.member("worker1").sameAddress("worker1.test", 8001));
    assertEquals(List.of(), peers.takePushes());
  }

  @Test
  void aRestartedControllerResumesFromAWorkersViewAndMovesNothing() {
    Map<String, Member> members = new TreeMap<>();
    for (int i = 1; i <= 4; i++) members.put("worker" + i, member("worker" + i, "i" + i));
    ClusterView lastView = new ClusterView(7, members, settings.vnodes());

    ClusterView r = register("worker1", "i1", lastView);
    assertTrue(r.epoch() >= 7);
    assertEquals(List.of("worker1", "worker2", "worker3", "worker4"), r.ring().nodes().stream().sorted().toList());
    assertEquals(lastView.ring().nodes(), r.ring().nodes());
    assertEquals(r.epoch(), register("worker2", "i2", lastView).epoch());
    assertEquals(r.epoch(), alive("worker3", "i3", 7));
    assertEquals(List.of(), peers.takePushes(), "a resumed controller pushed a view");

    // worker1..3 keep heartbeating, worker4 never shows up: the next change comes after epoch 7
    pass(TIMEOUT.dividedBy(2));
    for (String id : List.of("worker1", "worker2", "worker3")) heartbeat(id, "i" + id.charAt(6), 7);
    pass(TIMEOUT.dividedBy(2).plusMillis(1));
    ClusterView later = view();
    assertFalse(later.isUp("worker4"));
    assertTrue(later.epoch() > 7);
    List<Pushed> pushed = peers.takePushes();
    assertEquals(Set.of("worker1", "worker2", "worker3"), Set.copyOf(pushed.stream().map(Pushed::to).toList()));
    for (Pushed p : pushed) {
      assertEquals(later.epoch(), p.epoch());
      assertEquals(List.of("worker1", "worker2", "worker3"), p.up());
    }
  }

  @Test
  void aWorkerAheadOfARestartedControllerIsOvertaken() {
    register("worker1", "i1", null);
    peers.takePushes();
    long epoch = alive("worker1", "i1", 12);
    assertTrue(epoch > 12);
    assertEquals(List.of(Pushed.of("worker1", view())), peers.takePushes());
  }

  // ---- helpers

  private static Member member(String id, String instance) {
    return new Member(id, id + ".test", 8001, Member.Status.UP, instance);
  }

  /** Registers and expects to be accepted: the view the controller answered with. */
  private ClusterView register(String id, String instance, ClusterView lastView) {
    controller.tell(new Controller.Register(new ControlPlane.Registration(id, id + ".test", 8001, instance, lastView), replies.ref()));
    MembershipReply r = replies.receiveMessage();
    if (r instanceof MembershipReply.Accepted a) return a.view();
    throw new AssertionError("registration of " + id + " refused: " + r);
  }

  private MembershipReply heartbeat(String id, String instance, long epoch) {
    controller.tell(new Controller.Heartbeat(new ControlPlane.Heartbeat(id, instance, epoch), replies.ref()));
    return replies.receiveMessage();
  }

  /** Heartbeats and expects to be taken: the controller's epoch. */
  private long alive(String id, String instance, long epoch) {
    MembershipReply r = heartbeat(id, instance, epoch);
    if (r instanceof MembershipReply.Alive a) return a.epoch();
    throw new AssertionError("heartbeat of " + id + " refused: " + r);
  }

  private ClusterView view() {
    controller.tell(new Controller.GetView(views.ref()));
    return views.receiveMessage();
  }
}
