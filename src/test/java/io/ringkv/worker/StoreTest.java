package io.ringkv.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ringkv.storage.Applied;
import io.ringkv.storage.Committer;
import io.ringkv.storage.Entry;
import io.ringkv.storage.HybridClock;
import io.ringkv.storage.KvStore;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** A store actor with a data directory acknowledges a write only once the disk has it, and shows only what the disk has. */
class StoreTest {
  static final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  /** A committer the test drives: each submitted write waits until the test says how it went. */
  static final class HandCommitter implements Committer {
    @Override
    public boolean submitWipe(Callback callback) {
      return submit(List.of(), List.of(), callback);
    }

    record Submitted(List<Entry> puts, List<String> deletes, Callback callback) {}

    final BlockingQueue<Submitted> submitted = new LinkedBlockingQueue<>();
    /** Set: the committer refuses what is submitted (too many writes waiting). */
    volatile boolean refuse;

    @Override
    public boolean submit(List<Entry> puts, List<String> deletes, Callback callback) {
      if (refuse) return false;
      submitted.add(new Submitted(puts, deletes, callback));
      return true;
    }

    Submitted next() throws InterruptedException {
      Submitted s = submitted.poll(5, TimeUnit.SECONDS);
      if (s == null) throw new AssertionError("nothing was sent to the disk");
      return s;
    }
  }

  private final HybridClock clock = new HybridClock(() -> 1_000);
  private final HandCommitter disk = new HandCommitter();
  private final ActorRef<Store.Command> store = testKit.spawn(Store.create(clock, Duration.ofHours(1), new KvStore(), disk));

  private static Entry entry(String key, String value, long ts) {
    return new Entry(key, new Versioned(value, new Version(HybridClock.fromMillis(1_000) - 1_000 + ts, "w1")));
  }

  private TestProbe<Store.Offered> apply(Entry... entries) {
    TestProbe<Store.Offered> p = testKit.createTestProbe();
    store.tell(new Store.Apply(List.of(entries), p.getRef()::tell));
    return p;
  }

  private Optional<Versioned> read(String key) {
    TestProbe<Store.ReadReply> p = testKit.createTestProbe();
    store.tell(new Store.Read(key, p.getRef()::tell));
    return p.receiveMessage().value();
  }

  @Test
  void aWriteIsAcknowledgedAndReadOnlyOnceItIsOnDisk() throws Exception {
    TestProbe<Store.Offered> acked = apply(entry("a", "1", 1));
    HandCommitter.Submitted s = disk.next();
    assertEquals(List.of(entry("a", "1", 1)), s.puts());
    acked.expectNoMessage(Duration.ofMillis(100));
    assertEquals(Optional.empty(), read("a"), "a write on its way to disk is not read");
    s.callback().done(true);
    assertEquals(List.of(Applied.STORED), acked.receiveMessage().outcomes());
    assertEquals(Optional.of(entry("a", "1", 1).versioned()), read("a"));
  }

  @Test
  void aWriteTheDiskCouldNotTakeIsNotStoredAndNotRead() throws Exception {
    TestProbe<Store.Offered> acked = apply(entry("b", "1", 1));
    disk.next().callback().done(false);
    assertEquals(List.of(Applied.NOT_STORED), acked.receiveMessage().outcomes());
    assertEquals(Optional.empty(), read("b"));
    // the same write again, once the disk works: stored
    TestProbe<Store.Offered> again = apply(entry("b", "1", 1));
    disk.next().callback().done(true);
    assertEquals(List.of(Applied.STORED), again.receiveMessage().outcomes());
  }

  @Test
  void writesOfAKeyOnTheirWayToDiskAreOrderedAgainstEachOther() throws Exception {
    TestProbe<Store.Offered> first = apply(entry("c", "new", 5));
    HandCommitter.Submitted s1 = disk.next();
    // an older version is superseded by the one on its way, once that one is on disk
    TestProbe<Store.Offered> older = apply(entry("c", "old", 3));
    HandCommitter.Submitted sOlder = disk.next();
    assertTrue(sOlder.puts().isEmpty(), "the older version is not written: " + sOlder.puts());
    // the very same version waits for the disk too
    TestProbe<Store.Offered> repeat = apply(entry("c", "new", 5));
    HandCommitter.Submitted s2 = disk.next();
    repeat.expectNoMessage(Duration.ofMillis(100));
    older.expectNoMessage(Duration.ofMillis(10));
    TestProbe<Store.Offered> newer = apply(entry("c", "newer", 7));
    HandCommitter.Submitted s3 = disk.next();
    s1.callback().done(true);
    sOlder.callback().done(true);
    s2.callback().done(true);
    s3.callback().done(true);
    assertEquals(List.of(Applied.STORED), first.receiveMessage().outcomes());
    assertEquals(List.of(Applied.superseded(entry("c", "new", 5).versioned().version())), older.receiveMessage().outcomes());
    assertEquals(List.of(Applied.ALREADY_HELD), repeat.receiveMessage().outcomes());
    assertEquals(List.of(Applied.STORED), newer.receiveMessage().outcomes());
    assertEquals("newer", read("c").orElseThrow().value());
  }

  @Test
  void supersededByAWriteTheDiskThenRefusesIsNotStoredRatherThanSuperseded() throws Exception {
    apply(entry("s", "new", 5));
    HandCommitter.Submitted s1 = disk.next();
    TestProbe<Store.Offered> older = apply(entry("s", "old", 3));
    HandCommitter.Submitted s2 = disk.next();
    s1.callback().done(false);
    s2.callback().done(false);
    // the newer version never reached the disk: the sender (a hint, a rebalance) must offer it again
    assertEquals(List.of(Applied.NOT_STORED), older.receiveMessage().outcomes());
    assertEquals(Optional.empty(), read("s"));
  }

  @Test
  void aWriteRefusedForAFullQueueDoesNotLetAnOlderWriteOverTakeOneOnItsWay() throws Exception {
    TestProbe<Store.Offered> v5 = apply(entry("q", "v5", 5));
    HandCommitter.Submitted s5 = disk.next();
    disk.refuse = true;
    assertEquals(List.of(Applied.NOT_STORED), apply(entry("q", "v7", 7)).receiveMessage().outcomes());
    disk.refuse = false;
    TestProbe<Store.Offered> v3 = apply(entry("q", "v3", 3));
    HandCommitter.Submitted s3 = disk.next();
    assertTrue(s3.puts().isEmpty(), "an older version than the one on its way must not be written after it: " + s3.puts());
    s5.callback().done(true);
    s3.callback().done(true);
    assertEquals(List.of(Applied.STORED), v5.receiveMessage().outcomes());
    assertEquals(Applied.Outcome.SUPERSEDED, v3.receiveMessage().outcomes().get(0).outcome());
    assertEquals("v5", read("q").orElseThrow().value());
  }

  @Test
  void aCopyAlreadyOnDiskIsAcknowledgedAtOnce() throws Exception {
    TestProbe<Store.Offered> first = apply(entry("h", "1", 1));
    disk.next().callback().done(true);
    first.receiveMessage();
    assertEquals(List.of(Applied.ALREADY_HELD), apply(entry("h", "1", 1)).receiveMessage().outcomes());
    assertTrue(disk.submitted.isEmpty(), "nothing more to write: " + disk.submitted);
  }

  @Test
  void aHandOffDoesNotDropAKeyWithANewerWriteOnItsWayToDisk() throws Exception {
    TestProbe<Store.Offered> acked = apply(entry("d", "1", 1));
    disk.next().callback().done(true);
    acked.receiveMessage();
    apply(entry("d", "2", 2));
    HandCommitter.Submitted pendingWrite = disk.next();
    TestProbe<Store.Dropped> dropped = testKit.createTestProbe();
    store.tell(new Store.DropIfUnchanged(List.of(entry("d", "1", 1)), dropped.getRef()));
    assertEquals(0, dropped.receiveMessage().count());
    pendingWrite.callback().done(true);
    assertEquals("2", read("d").orElseThrow().value());
    // once nothing is on its way, the drop reaches the disk as a delete
    store.tell(new Store.DropIfUnchanged(List.of(entry("d", "2", 2)), dropped.getRef()));
    assertEquals(1, dropped.receiveMessage().count());
    HandCommitter.Submitted delete = disk.next();
    assertEquals(List.of("d"), delete.deletes());
    assertTrue(delete.puts().isEmpty());
    assertEquals(Optional.empty(), read("d"));
  }

  @Test
  void aBatchAnswersEachEntryInOrder() throws Exception {
    apply(entry("e", "held", 9));
    disk.next().callback().done(true);
    TestProbe<Store.Offered> p = apply(entry("f", "1", 1), entry("e", "old", 2), entry("g", "1", 1));
    HandCommitter.Submitted s = disk.next();
    assertEquals(new ArrayList<>(List.of("f", "g")), s.puts().stream().map(Entry::key).toList());
    s.callback().done(true);
    List<Applied> outcomes = p.receiveMessage().outcomes();
    assertEquals(Applied.STORED, outcomes.get(0));
    assertEquals(Applied.Outcome.SUPERSEDED, outcomes.get(1).outcome());
    assertEquals(Applied.STORED, outcomes.get(2));
  }
}
