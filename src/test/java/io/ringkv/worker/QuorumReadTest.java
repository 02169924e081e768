package io.ringkv.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ringkv.cluster.Member;
import io.ringkv.config.NodeSettings;
import io.ringkv.net.NoPeers;
import io.ringkv.net.Peers;
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
 * One quorum read (R = 2) coordinated on w1 (an owner, with a real store) with the other two
 * owners behind a stub that answers with a given copy, fails or stays silent.
 */
class QuorumReadTest {
  static final ActorTestKit testKit = ActorTestKit.create(ManualTime.config().withFallback(ConfigFactory.load()));
  static final ManualTime time = ManualTime.get(testKit.system());
  static final NodeSettings settings = NodeSettings.from(ConfigFactory.parseMap(Map.of(
      "ringkv.node-id", "w1", "ringkv.advertise-host", "127.0.0.1",
      "ringkv.replication.factor", 3, "ringkv.replication.read-quorum", 2)).withFallback(ConfigFactory.load()));
  static final List<Member> OWNERS = List.of(member("w2"), member("w1"), member("w3"));

  /** What a remote owner does with a fetch: answer with its copy, fail, or never answer. */
  record Replica(Optional<Versioned> copy, boolean fails, boolean silent) {
    static Replica holding(Versioned v) {
      return new Replica(Optional.ofNullable(v), false, false);
    }

    static final Replica FAILING = new Replica(Optional.empty(), true, false);
    static final Replica SILENT = new Replica(Optional.empty(), false, true);
  }

  /** The remote owners; records which were asked and the repairs sent to them. */
  static final class ReplicaStub extends NoPeers {
    final Map<String, Replica> replicas;
    final Set<String> asked = ConcurrentHashMap.newKeySet();
    final Map<String, List<Entry>> repairs = new ConcurrentHashMap<>();

    ReplicaStub(Map<String, Replica> replicas) {
      this.replicas = replicas;
    }

    @Override
    public CompletionStage<Optional<Versioned>> fetch(Member to, String key) {
      asked.add(to.id());
      Replica r = replicas.get(to.id());
      if (r.silent()) return new CompletableFuture<>();
      if (r.fails()) return CompletableFuture.failedFuture(new IllegalStateException(to.id() + " failed"));
      return CompletableFuture.completedFuture(r.copy());
    }

    @Override
    public CompletionStage<List<Applied>> replicate(Member to, List<Entry> entries) {
      repairs.put(to.id(), entries);
      return CompletableFuture.completedFuture(Collections.nCopies(entries.size(), Applied.STORED));
    }






  }

  private final HybridClock clock = HybridClock.system();
  private final ActorRef<Store.Command> store = testKit.spawn(Store.create(clock, Duration.ofHours(1)));
  private final TestProbe<ReadOutcome> replies = testKit.createTestProbe();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void theNewestCopyWinsAndTheStaleLocalCopyIsRepaired() {
    Versioned older = version("old");
    Versioned newer = version("new");
    storeLocally("k1", older);
    ReplicaStub peers = new ReplicaStub(Map.of("w2", Replica.holding(newer), "w3", Replica.holding(older)));
    start(peers, "k1");

    ReadOutcome r = replies.receiveMessage();
    assertTrue(Outcomes.ok(r) && Outcomes.found(r), Outcomes.detail(r));
    assertEquals(Optional.of(newer), Outcomes.newest(r));
    assertEquals(Set.of("w1", "w2"), Set.copyOf(Outcomes.answeredBy(r)));
    assertEquals(Set.of("w2"), peers.asked, "asks only READ_QUORUM owners, itself first");
    replies.awaitAssert(() -> {
      assertEquals(Optional.of(newer), readLocal("k1"));
      return null;
    });
    assertEquals(Map.of(), peers.repairs);
  }

  @Test
  void aStaleRemoteCopyIsRepaired() {
    Versioned older = version("old");
    Versioned newer = version("new");
    storeLocally("k2", newer);
    ReplicaStub peers = new ReplicaStub(Map.of("w2", Replica.holding(older), "w3", Replica.holding(older)));
    start(peers, "k2");

    assertEquals(Optional.of(newer), Outcomes.newest(replies.receiveMessage()));
    replies.awaitAssert(() -> {
      assertEquals(List.of(new Entry("k2", newer)), peers.repairs.get("w2"));
      return null;
    });
  }

  @Test
  void aFailingOwnerIsReplacedByTheThird() {
    Versioned v = version("v");
    storeLocally("k3", v);
    ReplicaStub peers = new ReplicaStub(Map.of("w2", Replica.FAILING, "w3", Replica.holding(v)));
    start(peers, "k3");

    ReadOutcome r = replies.receiveMessage();
    assertTrue(Outcomes.ok(r), Outcomes.detail(r));
    assertEquals(Optional.of(v), Outcomes.newest(r));
    assertEquals(Set.of("w1", "w3"), Set.copyOf(Outcomes.answeredBy(r)));
  }

  @Test
  void twoFailingOwnersAnswer503AtOnce() {
    storeLocally("k4", version("v"));
    start(new ReplicaStub(Map.of("w2", Replica.FAILING, "w3", Replica.FAILING)), "k4");

    ReadOutcome r = replies.receiveMessage();   // no virtual time passes: not the deadline
    assertFalse(Outcomes.ok(r));
    assertEquals(503, Outcomes.status(r));
    assertFalse(Outcomes.detail(r).contains("deadline"), Outcomes.detail(r));
  }

  @Test
  void aJoiningWorkerThatIsTheOnlyOwnerAnswers503AtOnce() {
    // RF 1, and the one owner is this worker, still receiving its data: nobody may answer (it threw before)
    ReplicaStub peers = new ReplicaStub(Map.of());
    WorkerEnv env = new WorkerEnv(settings, new Shards(List.of(store)), peers, clock);
    QuorumRead.start(env, "k-only", List.of(member(settings.nodeId())), false, testKit.system().scheduler(), replies.ref()::tell);
    ReadOutcome r = replies.receiveMessage();
    assertEquals(503, Outcomes.status(r));
    assertTrue(Outcomes.detail(r).contains("JOINING"), Outcomes.detail(r));
    assertEquals(Set.of(), peers.asked);
  }

  @Test
  void twoFailuresOfThreeOwnersFailTheReadAtOnce() {
    // w1 coordinates without being an owner; w2 and w3 fail (w4 is asked in w2's place and answers,
    // here at once): with two of three owners failed, the quorum of two is out of reach, so the read
    // fails then
    List<Member> owners = List.of(member("w2"), member("w3"), member("w4"));
    ReplicaStub peers = new ReplicaStub(Map.of("w2", Replica.FAILING, "w3", Replica.FAILING,
        "w4", Replica.holding(version("v"))));
    WorkerEnv env = new WorkerEnv(settings, new Shards(List.of(store)), peers, clock);
    QuorumRead.start(env, "k7", owners, true, testKit.system().scheduler(), replies.ref()::tell);

    ReadOutcome r = replies.receiveMessage();   // no virtual time passes: not the deadline
    assertFalse(Outcomes.ok(r));
    assertEquals(503, Outcomes.status(r));
    assertEquals(List.of("w4"), Outcomes.answeredBy(r));
    assertEquals(Set.of("w2", "w3", "w4"), peers.asked);
    assertTrue(Outcomes.detail(r).contains("1 of 2") && !Outcomes.detail(r).contains("deadline"), Outcomes.detail(r));
  }

  @Test
  void aSilentOwnerMeans503AtTheDeadlineAndNotBefore() {
    ReplicaStub peers = new ReplicaStub(Map.of("w2", Replica.SILENT, "w3", Replica.holding(version("v"))));
    start(peers, "k5");
    // the coordinator has started (its deadline is armed) once it asked w2
    replies.awaitAssert(() -> {
      assertTrue(peers.asked.contains("w2"));
      return null;
    });
    time.timePasses(settings.requestTimeout().minusMillis(1));
    replies.expectNoMessage(Duration.ofMillis(200));

    time.timePasses(Duration.ofMillis(2));
    ReadOutcome r = replies.receiveMessage();
    assertFalse(Outcomes.ok(r));
    assertEquals(503, Outcomes.status(r));
    assertTrue(Outcomes.detail(r).contains("deadline"), Outcomes.detail(r));
    assertEquals(List.of("w1"), Outcomes.answeredBy(r));
  }

  @Test
  void aKeyNobodyHoldsIsNotFoundAndATombstoneIsNotFoundEither() {
    start(new ReplicaStub(Map.of("w2", Replica.holding(null), "w3", Replica.holding(null))), "absent");
    ReadOutcome absent = replies.receiveMessage();
    assertTrue(Outcomes.ok(absent));
    assertFalse(Outcomes.found(absent));

    Versioned live = version("v");
    Versioned deleted = Versioned.tombstone(new Version(clock.now(), "w2"));
    storeLocally("k6", live);
    start(new ReplicaStub(Map.of("w2", Replica.holding(deleted), "w3", Replica.holding(live))), "k6");
    ReadOutcome r = replies.receiveMessage();
    assertTrue(Outcomes.ok(r));
    assertFalse(Outcomes.found(r), "a newer tombstone hides the older value");
    assertEquals(Optional.of(deleted), Outcomes.newest(r));
  }

  // ---- helpers

  private void start(Peers peers, String key) {
    WorkerEnv env = new WorkerEnv(settings, new Shards(List.of(store)), peers, clock);
    QuorumRead.start(env, key, OWNERS, true, testKit.system().scheduler(), replies.ref()::tell);
  }

  private Versioned version(String value) {
    return new Versioned(value, new Version(clock.now(), "w1"));
  }

  private void storeLocally(String key, Versioned v) {
    TestProbe<Store.Offered> probe = testKit.createTestProbe();
    store.tell(new Store.Apply(List.of(new Entry(key, v)), probe.ref()::tell));
    probe.receiveMessage();
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
