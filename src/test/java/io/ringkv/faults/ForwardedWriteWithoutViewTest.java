package io.ringkv.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ringkv.Guardian;
import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.config.NodeSettings;
import io.ringkv.cluster.MembershipReply;
import io.ringkv.net.NoPeers;
import io.ringkv.net.Forwarded;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import io.ringkv.net.WriteOutcome;
import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import java.util.Collections;
import io.ringkv.worker.WorkerApi;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * What the fault suite found after a worker's restart: the other workers see it UP (the controller
 * pushed them the view) a moment before it has a view of its own, and forward it writes it cannot
 * coordinate. It answers those {@link WriteOutcome.NoView}, which the forwarder takes as "primary
 * unavailable" and coordinates the write itself, instead of passing a 503 on to the client.
 */
class ForwardedWriteWithoutViewTest {
  static final ActorTestKit testKit = ActorTestKit.create();
  private static final NodeSettings BASE = NodeSettings.from(
      ConfigFactory.parseMap(Map.of("ringkv.advertise-host", "test")).withFallback(ConfigFactory.load()));

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private static WorkerApi start(String id, NoPeers peers) {
    NodeSettings s = BASE.withNode(id, id + ".test", 8001);
    TestProbe<WorkerApi> started = testKit.createTestProbe();
    testKit.spawn(Behaviors.<Void>setup(ctx -> {
      started.ref().tell(Guardian.workerApi(ctx, s, peers, peers));
      return Behaviors.empty();
    }), id + "-" + System.nanoTime());
    WorkerApi api = started.receiveMessage(Duration.ofSeconds(5));
    api.startServing();
    return api;
  }

  /** A controller that registers the worker into {@code view} and takes its heartbeats; its clock {@code controllerAhead} ms ahead. */
  private static class InView extends NoPeers {
    final ClusterView view;
    final java.util.concurrent.atomic.AtomicLong controllerAhead = new java.util.concurrent.atomic.AtomicLong();

    InView(ClusterView view) {
      this.view = view;
    }

    @Override
    public CompletionStage<MembershipReply> register(Registration registration) {
      return CompletableFuture.completedFuture(new MembershipReply.Accepted(view, System.currentTimeMillis() + controllerAhead.get(), false));
    }

    @Override
    public CompletionStage<MembershipReply> heartbeat(Heartbeat heartbeat) {
      return CompletableFuture.completedFuture(new MembershipReply.Alive(view.epoch(), System.currentTimeMillis() + controllerAhead.get(), Long.MAX_VALUE));
    }
  }

  /** A view of two UP workers. */
  private static ClusterView twoWorkers(String a, String b) {
    return ClusterView.empty(BASE.vnodes())
        .with(new Member(a, a + ".test", 8001, Member.Status.UP, "i1"), 1)
        .with(new Member(b, b + ".test", 8001, Member.Status.UP, "i2"), 2);
  }

  /** A key whose primary in {@code view} is {@code primary}. */
  private static String keyWithPrimary(ClusterView view, String primary) {
    for (int i = 0; ; i++) if (view.owners("k" + i, 3).get(0).id().equals(primary)) return "k" + i;
  }

  /** Waits until the worker has adopted {@code view}. */
  private static void awaitView(WorkerApi w, ClusterView view) {
    testKit.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
      assertEquals(view.epoch(), w.status().toCompletableFuture().join().worker().view().epoch());
      return null;
    });
  }

  private static Forwarded forwarded(String key, long deadlineMillis) {
    return new Forwarded(new Entry(key, new Versioned("v", new Version(1L << 40, "elsewhere"))), deadlineMillis);
  }

  private static <T> T await(CompletionStage<T> s) throws Exception {
    return s.toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void aWorkerWithoutAViewAnswersForwardedAndDirectWritesWithNoView() throws Exception {
    WorkerApi w = start("fresh", new NoPeers() {
      @Override
      public CompletionStage<MembershipReply> register(Registration registration) {
        return new CompletableFuture<>();   // the controller's answer has not arrived yet
      }
    });
    WriteOutcome forwarded = await(w.coordinate(List.of(forwarded("k", System.currentTimeMillis() + 60_000)))).get(0);
    assertTrue(forwarded instanceof WriteOutcome.NoView, forwarded.toString());
    WriteOutcome direct = await(w.write("k", "v"));
    assertTrue(direct instanceof WriteOutcome.NoView, direct.toString());
  }

  @Test
  void theForwarderCoordinatesAWriteItsPrimaryAnsweredWithoutAView() throws Exception {
    ClusterView view = twoWorkers("w1", "w2");
    String key = keyWithPrimary(view, "w2");
    AtomicInteger forwards = new AtomicInteger();
    AtomicInteger replicated = new AtomicInteger();
    java.util.concurrent.atomic.AtomicReference<Forwarded> sent = new java.util.concurrent.atomic.AtomicReference<>();
    WorkerApi w1 = start("w1", new InView(view) {
      @Override
      public CompletionStage<WriteOutcome> forward(Member to, Forwarded write) {
        forwards.incrementAndGet();
        sent.set(write);
        return CompletableFuture.completedFuture(new WriteOutcome.NoView("no UP workers in this node's view yet"));
      }

      @Override
      public CompletionStage<List<Applied>> replicate(Member to, List<Entry> entries) {
        replicated.addAndGet(entries.size());
        return CompletableFuture.completedFuture(Collections.nCopies(entries.size(), Applied.STORED));
      }
    });
    awaitView(w1, view);
    WriteOutcome r = await(w1.write(key, "v"));
    assertTrue(r instanceof WriteOutcome.Acked, r.toString());
    assertEquals(1, forwards.get(), "the write went to its primary first");
    assertEquals(List.of("w1", "w2"), r.ackedBy().stream().sorted().toList());
    assertTrue(replicated.get() >= 1, "w1 coordinated it, replicating to w2");
    // one version per client write: fixed where it entered, carried to the primary, and the one the forwarder wrote
    assertEquals(sent.get().entry().versioned().version(), ((WriteOutcome.Acked) r).version());
    assertTrue(sent.get().deadlineMillis() > System.currentTimeMillis() - 10_000, "the forwarded write carries a deadline");
  }

  /** A forwarded write that arrives after its deadline is not started: its forwarder coordinates it itself by then. */
  @Test
  void aForwardedWriteAfterItsDeadlineIsNotStarted() throws Exception {
    ClusterView view = ClusterView.empty(BASE.vnodes()).with(new Member("late", "late.test", 8001, Member.Status.UP, "i1"), 1);
    WorkerApi w = start("late", new InView(view));
    awaitView(w, view);
    WriteOutcome expired = await(w.coordinate(List.of(forwarded("too-late", System.currentTimeMillis() - 1)))).get(0);
    assertTrue(expired instanceof WriteOutcome.Expired, expired.toString());
    assertTrue(await(w.local("too-late")).isEmpty(), "an expired forwarded write was applied");
    WriteOutcome inTime = await(w.coordinate(List.of(forwarded("in-time", System.currentTimeMillis() + 60_000)))).get(0);
    assertTrue(inTime instanceof WriteOutcome.NotReached, "one owner of a quorum of two: " + inTime);
    assertEquals("v", await(w.local("in-time")).orElseThrow().value());
    assertEquals(new Version(1L << 40, "elsewhere"), await(w.local("in-time")).orElseThrow().version(),
        "the primary writes the version the forwarder fixed, not one of its own");
  }

  /**
   * A worker whose wall clock is further from the controller's than MAX_CLOCK_SKEW stamps no writes:
   * its versions would beat later writes on its own copy, and every other replica would refuse them.
   * It says so in its answer and in /status; once the clocks agree again, it takes writes.
   */
  @Test
  void aWorkerWhoseClockIsOffTheControllersStampsNoWrites() throws Exception {
    ClusterView view = ClusterView.empty(BASE.vnodes()).with(new Member("skewed", "skewed.test", 8001, Member.Status.UP, "i1"), 1);
    InView controller = new InView(view);
    controller.controllerAhead.set(3_000);
    WorkerApi w = start("skewed", controller);
    awaitView(w, view);
    WriteOutcome refused = await(w.write("k", "v"));
    assertTrue(refused instanceof WriteOutcome.NotReached n && n.detail().contains("clock"), refused.toString());
    assertTrue(await(w.local("k")).isEmpty(), "a write was stamped by a clock that is off");
    var clock = await(w.status()).worker().clock();
    assertTrue(clock.off() && clock.offsetMillis() < -2_000, clock.toString());

    controller.controllerAhead.set(0);   // NTP fixed it: the next heartbeat finds the clocks together
    testKit.createTestProbe().awaitAssert(Duration.ofSeconds(5), () -> {
      assertTrue(!w.status().toCompletableFuture().join().worker().clock().off());
      return null;
    });
    WriteOutcome taken = await(w.write("k", "v"));
    assertTrue(taken instanceof WriteOutcome.NotReached n && !n.detail().contains("clock"), "one owner of a quorum of two: " + taken);
    assertEquals("v", await(w.local("k")).orElseThrow().value());
  }

  /**
   * A forward that failed after it may have left (the link broke with the call on it) is not
   * coordinated by the forwarder until the primary cannot be writing it any more: otherwise the
   * primary could apply it late, after writes acknowledged since. One that certainly did not leave
   * ({@link NotSent}: the connection never opened) is coordinated at once.
   */
  @Test
  void aForwardThatMayHaveLeftIsCoordinatedHereOnlyOnceThePrimaryCannotBeWritingIt() throws Exception {
    ClusterView view = twoWorkers("f1", "f2");
    String key = keyWithPrimary(view, "f2");
    java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
    WorkerApi f1 = start("f1", new InView(view) {
      @Override
      public CompletionStage<WriteOutcome> forward(Member to, Forwarded write) {
        return CompletableFuture.failedFuture(failure.get());
      }

      @Override
      public CompletionStage<List<Applied>> replicate(Member to, List<Entry> entries) {
        return CompletableFuture.completedFuture(Collections.nCopies(entries.size(), Applied.STORED));
      }
    });
    awaitView(f1, view);
    long window = BASE.requestTimeout().toMillis();   // the forward's deadline: one request timeout after it entered

    failure.set(new io.ringkv.net.NotSent(new java.net.ConnectException("connection refused")));
    long t0 = System.nanoTime();
    assertTrue(await(f1.write(key, "never-left")) instanceof WriteOutcome.Acked);
    assertTrue((System.nanoTime() - t0) / 1_000_000 < window, "a forward that never left waited for the window");

    failure.set(new IllegalStateException("the link broke with the call on it"));
    long t1 = System.nanoTime();
    WriteOutcome late = await(f1.write(key, "may-have-left"));
    long waited = (System.nanoTime() - t1) / 1_000_000;
    assertTrue(late instanceof WriteOutcome.Acked, late.toString());
    assertTrue(waited >= 2 * window - 100, "coordinated here after " + waited + " ms, while the primary could still be writing it");
  }
}
