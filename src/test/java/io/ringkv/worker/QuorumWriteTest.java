package io.ringkv.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ringkv.cluster.Member;
import io.ringkv.config.NodeSettings;
import io.ringkv.net.NoPeers;
import io.ringkv.net.Peers;
import io.ringkv.net.WriteOutcome;
import io.ringkv.storage.Applied;
import java.util.Collections;
import io.ringkv.storage.Entry;
import io.ringkv.storage.HybridClock;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * One quorum write coordinated on w1 (an owner, with a real store) with the other two owners
 * behind a stub that answers, fails or stays silent; the deadline runs on virtual time.
 */
class QuorumWriteTest {
  static final ActorTestKit testKit = ActorTestKit.create(ManualTime.config().withFallback(ConfigFactory.load()));
  static final ManualTime time = ManualTime.get(testKit.system());
  static final NodeSettings settings = NodeSettings.from(ConfigFactory.parseMap(Map.of(
      "ringkv.node-id", "w1", "ringkv.advertise-host", "127.0.0.1",
      "ringkv.replication.factor", 3, "ringkv.replication.write-quorum", 2)).withFallback(ConfigFactory.load()));
  static final Duration DEADLINE = settings.requestTimeout();
  static final List<Member> OWNERS = List.of(member("w1"), member("w2"), member("w3"));

  enum Mode { ANSWER, HOLDS_NEWER, CLOCK_BEHIND, FAIL, SILENT }

  /** A version a replica holds, newer than the one it is offered (by a few logical ticks: well within MAX_CLOCK_SKEW). */
  static Version above(Entry offered) {
    return new Version(offered.versioned().version().timestamp() + 1000, "w9");
  }

  /** The other replicas: each answers, fails or never answers a replicate, as the test set it up. */
  static final class ReplicaStub extends NoPeers {
    final Map<String, Mode> modes;
    final Map<String, List<Entry>> received = new ConcurrentHashMap<>();
    final Map<String, List<Entry>> offers = new ConcurrentHashMap<>();

    ReplicaStub(Map<String, Mode> modes) {
      this.modes = modes;
    }

    @Override
    public CompletionStage<List<Applied>> replicate(Member to, List<Entry> entries) {
      received.put(to.id(), entries);
      offers.computeIfAbsent(to.id(), k -> new java.util.concurrent.CopyOnWriteArrayList<>()).addAll(entries);
      switch (modes.get(to.id())) {
        case ANSWER:
          return CompletableFuture.completedFuture(Collections.nCopies(entries.size(), Applied.STORED));
        case HOLDS_NEWER:
          return CompletableFuture.completedFuture(List.of(Applied.superseded(above(entries.get(0)))));
        case CLOCK_BEHIND:
          return CompletableFuture.completedFuture(Collections.nCopies(entries.size(), Applied.TOO_FAR_AHEAD));
        case FAIL:
          return CompletableFuture.failedFuture(new IllegalStateException(to.id() + " failed"));
        default:
          return new CompletableFuture<>();
      }
    }







  }

  private final HybridClock clock = HybridClock.system();
  private final ActorRef<Store.Command> store = testKit.spawn(Store.create(clock, Duration.ofHours(1)));
  private final TestProbe<WriteOutcome> replies = testKit.createTestProbe();
  private final TestProbe<Hints.Command> hints = testKit.createTestProbe();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void oneSilentReplicaStillMakesTheQuorumOfTwo() {
    ReplicaStub peers = new ReplicaStub(Map.of("w2", Mode.ANSWER, "w3", Mode.SILENT));
    Entry entry = entry("k1", "v1");
    start(peers, entry);

    WriteOutcome.Acked r = (WriteOutcome.Acked) replies.receiveMessage();
    assertEquals(Set.of("w1", "w2"), Set.copyOf(r.ackedBy()));
    assertEquals(entry.versioned().version(), r.version());
    assertEquals(Optional.of(entry.versioned()), readLocal("k1"));
    assertEquals(Set.of("w2", "w3"), peers.received.keySet(), "the write goes to every other owner at once");
    assertEquals(List.of(entry), peers.received.get("w3"));
    replies.expectNoMessage(Duration.ofMillis(100));

    // at the deadline the silent owner is handed to the hints, which will offer it the write again
    time.timePasses(DEADLINE);
    assertEquals(new Hints.Hint(member("w3"), entry), hints.receiveMessage());
  }

  @Test
  void twoSilentReplicasAnswer503AtTheDeadlineAndNotBefore() {
    ReplicaStub peers = new ReplicaStub(Map.of("w2", Mode.SILENT, "w3", Mode.SILENT));
    Entry entry = entry("k2", "v2");
    start(peers, entry);
    // the coordinator has started (its deadline is armed) once its local write is in the store
    replies.awaitAssert(() -> {
      assertEquals(Optional.of(entry.versioned()), readLocal("k2"));
      return null;
    });

    time.timePasses(DEADLINE.minusMillis(1));
    replies.expectNoMessage(Duration.ofMillis(200));

    time.timePasses(Duration.ofMillis(2));
    WriteOutcome.NotReached r = (WriteOutcome.NotReached) replies.receiveMessage();
    assertEquals(List.of("w1"), r.ackedBy());
    assertTrue(r.detail().contains("deadline") && r.detail().contains("1 of 2"), r.detail());
  }

  @Test
  void twoFailingReplicasAnswer503AtOnce() {
    start(new ReplicaStub(Map.of("w2", Mode.FAIL, "w3", Mode.FAIL)), entry("k3", "v3"));

    // no virtual time passes: the deadline cannot have fired
    WriteOutcome.NotReached r = (WriteOutcome.NotReached) replies.receiveMessage();
    assertFalse(r.detail().contains("deadline"), r.detail());
    assertTrue(r.ackedBy().size() <= 1, r.ackedBy().toString());
    Set<Member> hinted = Set.of(((Hints.Hint) hints.receiveMessage()).owner(), ((Hints.Hint) hints.receiveMessage()).owner());
    assertEquals(Set.of(member("w2"), member("w3")), hinted, "each failed owner is handed to the hints");
  }

  /**
   * Owners hold newer versions: they do not acknowledge; the write keeps its one version (no second
   * one is stamped, offered or hinted), is answered 503, and this node's clock now stamps above what
   * the owners hold.
   */
  @Test
  void replicasThatHoldANewerVersionDoNotAcknowledgeAndARetryIsStampedAbove() {
    ReplicaStub peers = new ReplicaStub(Map.of("w2", Mode.HOLDS_NEWER, "w3", Mode.HOLDS_NEWER));
    Entry entry = entry("k5", "v5");
    start(peers, entry);

    // no virtual time passes: both refusals decide it
    WriteOutcome.Superseded r = (WriteOutcome.Superseded) replies.receiveMessage();
    assertTrue(List.of("w1").containsAll(r.ackedBy()), r.ackedBy().toString());
    assertTrue(r.detail().contains("newer"), r.detail());
    assertEquals(List.of(entry), peers.offers.get("w2"), "offered once, at the one version the write has");
    assertTrue(clock.current() >= above(entry).timestamp(), "a retry through this node is stamped above the owners' version");
    hints.expectNoMessage(Duration.ofMillis(100));   // an owner that holds a newer version needs no hint
  }

  @Test
  void aVersionFurtherAheadThanTheReplicasClocksAllowIsRefusedAndSaidSo() {
    long before = clock.skew().refusedByPeers();
    start(new ReplicaStub(Map.of("w2", Mode.CLOCK_BEHIND, "w3", Mode.CLOCK_BEHIND)), entry("k8", "v8"));

    WriteOutcome.NotReached r = (WriteOutcome.NotReached) replies.receiveMessage();
    assertTrue(r.detail().contains("MAX_CLOCK_SKEW") && r.detail().contains("w2"), r.detail());
    assertEquals(before + 2, clock.skew().refusedByPeers(), "the refusals show in /status");
  }

  @Test
  void oneRefusalAndOneAckMakeTheQuorumWithoutTheRefusingReplica() {
    start(new ReplicaStub(Map.of("w2", Mode.HOLDS_NEWER, "w3", Mode.ANSWER)), entry("k6", "v6"));

    WriteOutcome.Acked r = (WriteOutcome.Acked) replies.receiveMessage();
    assertEquals(Set.of("w1", "w3"), Set.copyOf(r.ackedBy()));
  }

  @Test
  void oneFailingAndOneAnsweringReplicaMakeTheQuorum() {
    start(new ReplicaStub(Map.of("w2", Mode.FAIL, "w3", Mode.ANSWER)), entry("k4", "v4"));

    WriteOutcome.Acked r = (WriteOutcome.Acked) replies.receiveMessage();
    assertEquals(Set.of("w1", "w3"), Set.copyOf(r.ackedBy()));
  }

  // ---- helpers

  private void start(Peers peers, Entry entry) {
    WorkerEnv env = new WorkerEnv(settings, new Shards(List.of(store)), peers, clock);
    QuorumWrite.start(env, hints.ref(), entry, OWNERS, testKit.system().scheduler(), replies.ref()::tell);
  }

  private Entry entry(String key, String value) {
    return new Entry(key, new Versioned(value, new Version(clock.now(), "w1")));
  }

  private Optional<Versioned> readLocal(String key) {
    TestProbe<Store.ReadReply> probe = testKit.createTestProbe();
    store.tell(new Store.Read(key, probe.ref()::tell));
    return probe.receiveMessage().value();
  }

  private static Member member(String id) {
    return new Member(id, id + ".test", 8001, Member.Status.UP, "instance-" + id);
  }
}
