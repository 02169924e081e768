package io.ringkv.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ringkv.net.Frames;
import io.ringkv.ring.HashRing;
import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.KeyVersion;
import io.ringkv.storage.KvStore;
import io.ringkv.storage.RangeTrees;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

class ExchangeTest {
  private static final HashRing RING = HashRing.of(List.of("a", "b", "c"), 32);
  private static final int KEYS = 5000;

  /** One side over a KvStore, answering at once. */
  private static class StoreSide implements Exchange.Side {
    final KvStore store = new KvStore();
    int calls;

    StoreSide() {
      store.track(new RangeTrees(3, RING.tokens()));
    }

    @Override
    public CompletionStage<long[]> tree(Frames.TreeQuery q) {
      calls++;
      return CompletableFuture.completedFuture(store.trees().values(q.level(), q.ids()));
    }

    @Override
    public CompletionStage<List<KeyVersion>> keyVersions(Frames.SegmentQuery q) {
      calls++;
      int[] wanted = q.segments().clone();
      Arrays.sort(wanted);
      KvStore.Snapshot snap = store.snapshot();
      List<KeyVersion> out = new ArrayList<>();
      for (int i = 0; i < snap.size(); i++)
        if (Arrays.binarySearch(wanted, store.trees().segmentOf(HashRing.hash(snap.key(i)))) >= 0) out.add(snap.keyVersion(i));
      return CompletableFuture.completedFuture(out);
    }

    @Override
    public CompletionStage<List<Optional<Versioned>>> copies(List<String> keys) {
      calls++;
      return CompletableFuture.completedFuture(keys.stream().map(k -> Optional.ofNullable(store.get(k))).toList());
    }

    @Override
    public CompletionStage<List<Applied>> replicate(List<Entry> entries) {
      calls++;
      return CompletableFuture.completedFuture(entries.stream().map(e -> store.offer(e.key(), e.versioned())).toList());
    }

    Map<String, Versioned> contents() {
      Map<String, Versioned> m = new TreeMap<>();
      for (Entry e : store.snapshot()) m.put(e.key(), e.versioned());
      return m;
    }
  }

  private static int[] allRanges() {
    int[] r = new int[RING.tokens().length];
    for (int i = 0; i < r.length; i++) r[i] = i;
    return r;
  }

  private static Versioned v(String value, long ts) {
    return new Versioned(value, new Version(ts, "w1"));
  }

  @Test
  void missingStaleAndDeletedKeysAreCopiedEachWayAndNothingElse() {
    StoreSide a = new StoreSide();
    StoreSide b = new StoreSide();
    for (int i = 0; i < KEYS; i++) {
      a.store.apply("k" + i, v("v" + i, 100 + i));
      b.store.apply("k" + i, v("v" + i, 100 + i));
    }
    // b: 20 keys missing, 20 newer values, 20 newer tombstones; a: 15 newer values, 5 keys only a has
    for (int i = 0; i < 20; i++) {
      b.store.purgeTombstones((k, ts) -> false);
      b.store.removeIfVersion("k" + i, new Version(100 + i, "w1"));
      b.store.apply("k" + (100 + i), v("newer-on-b", 50_000));
      b.store.apply("k" + (200 + i), Versioned.tombstone(new Version(50_000, "w1")));
    }
    for (int i = 0; i < 15; i++) a.store.apply("k" + (300 + i), v("newer-on-a", 60_000));
    for (int i = 0; i < 5; i++) a.store.apply("only-a-" + i, v("x", 70_000));
    Map<String, Versioned> expected = new TreeMap<>(a.contents());
    for (int i = 0; i < 20; i++) {
      expected.put("k" + (100 + i), v("newer-on-b", 50_000));
      expected.put("k" + (200 + i), Versioned.tombstone(new Version(50_000, "w1")));
    }

    Exchange.Result r = Exchange.run(a, b, new RangeTrees(3, RING.tokens()), allRanges(), 1_000_000, 0).join();

    assertEquals(expected, a.contents());
    assertEquals(expected, b.contents());
    assertEquals(40, r.pulled(), "pulled: b's 20 newer values and 20 tombstones");
    assertEquals(40, r.pushed(), "pushed: 20 missing, 15 newer, 5 only on a");
    assertTrue(r.incomplete().isEmpty());
    assertEquals(80, Arrays.stream(r.repairedPerRange()).sum());
    // the differing entries are ~80 x 30 bytes; a full copy would be 5,000 of them
    assertTrue(r.bytes() < 100_000, "bytes exchanged: " + r.bytes());

    Exchange.Result again = Exchange.run(a, b, new RangeTrees(3, RING.tokens()), allRanges(), 1_000_000, 0).join();
    assertEquals(0, again.segments(), "in agreement: the roots match");
    assertEquals(0, again.pulled() + again.pushed());
  }

  @Test
  void aCopyTheOtherSideCouldNotStoreLeavesItsRangeIncomplete() {
    StoreSide a = new StoreSide();
    StoreSide b = new StoreSide() {
      @Override
      public CompletionStage<List<Applied>> replicate(List<Entry> entries) {
        return CompletableFuture.completedFuture(Collections.nCopies(entries.size(), Applied.NOT_STORED));
      }
    };
    a.store.apply("lonely", v("x", 5));
    RangeTrees layout = new RangeTrees(3, RING.tokens());
    Exchange.Result r = Exchange.run(a, b, layout, allRanges(), 1_000_000, 0).join();
    assertEquals(0, r.pushed());
    assertTrue(r.incomplete().get(layout.rangeOf(HashRing.hash("lonely"))));
    assertEquals(1, r.incomplete().cardinality());
  }

  @Test
  void onlyTheRangesAskedForAreCompared() {
    StoreSide a = new StoreSide();
    StoreSide b = new StoreSide();
    a.store.apply("here", v("x", 5));
    RangeTrees layout = new RangeTrees(3, RING.tokens());
    int range = layout.rangeOf(HashRing.hash("here"));
    int[] others = Arrays.stream(allRanges()).filter(x -> x != range).toArray();
    assertEquals(0, Exchange.run(a, b, layout, others, 1_000_000, 0).join().pushed());
    assertFalse(b.contents().containsKey("here"));
    assertEquals(1, Exchange.run(a, b, layout, new int[] {range}, 1_000_000, 0).join().pushed());
  }

  @Test
  void repairsStopAtTheLimitAndTheRestIsIncomplete() {
    StoreSide a = new StoreSide();
    StoreSide b = new StoreSide();
    for (int i = 0; i < 3000; i++) a.store.apply("k" + i, v("v", 10 + i));
    Exchange.Result r = Exchange.run(a, b, new RangeTrees(3, RING.tokens()), allRanges(), 100, 0).join();
    assertTrue(r.pushed() >= 100 && r.pushed() < 3000, "pushed " + r.pushed());
    assertFalse(r.incomplete().isEmpty());
  }
}
