package io.ringkv.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class KvStoreTest {
  private static Versioned value(String v, long ts, String node) {
    return new Versioned(v, new Version(ts, node));
  }

  @Test
  void newerVersionWins() {
    KvStore store = new KvStore();
    assertTrue(store.apply("k", value("a", 10, "n1")));
    assertTrue(store.apply("k", value("b", 11, "n1")));
    assertEquals("b", store.get("k").value());
    assertTrue(store.apply("k", value("c", 11, "n2")), "same timestamp, larger node id");
    assertEquals("c", store.get("k").value());
    assertEquals(1, store.liveCount());
    assertEquals(1, store.size());
  }

  @Test
  void olderAndEqualVersionsAreIgnored() {
    KvStore store = new KvStore();
    store.apply("k", value("new", 20, "n2"));
    assertFalse(store.apply("k", value("old", 19, "n9")));
    assertFalse(store.apply("k", value("old", 20, "n1")));
    assertFalse(store.apply("k", value("same-version-other-value", 20, "n2")));
    assertEquals(value("new", 20, "n2"), store.get("k"));
    assertFalse(store.apply("k", Versioned.tombstone(new Version(19, "n2"))), "a late delete");
    assertEquals("new", store.get("k").value());
  }

  @Test
  void tombstonesAreStoredButNotCountedAsLive() {
    KvStore store = new KvStore();
    store.apply("a", value("1", 1, "n"));
    store.apply("b", value("2", 1, "n"));
    assertEquals(2, store.liveCount());

    assertTrue(store.apply("a", Versioned.tombstone(new Version(2, "n"))));
    assertEquals(1, store.liveCount());
    assertEquals(2, store.size());
    assertTrue(store.get("a").isTombstone());
    assertFalse(store.apply("a", value("stale", 1, "z")), "a tombstone shadows older writes");

    assertTrue(store.apply("c", Versioned.tombstone(new Version(3, "n"))), "a delete of an unknown key");
    assertEquals(1, store.liveCount());
    assertTrue(store.apply("c", Versioned.tombstone(new Version(4, "n"))));
    assertEquals(1, store.liveCount(), "tombstone over tombstone");

    assertTrue(store.apply("a", value("back", 5, "n")), "a newer write resurrects the key");
    assertEquals(2, store.liveCount());
    assertEquals(3, store.size());
  }

  @Test
  void removeIfVersionRemovesOnlyTheExactVersion() {
    KvStore store = new KvStore();
    store.apply("k", value("v", 7, "n1"));
    assertFalse(store.removeIfVersion("k", new Version(6, "n1")));
    assertFalse(store.removeIfVersion("k", new Version(7, "n2")));
    assertFalse(store.removeIfVersion("missing", new Version(7, "n1")));
    assertEquals(1, store.liveCount());

    assertTrue(store.removeIfVersion("k", new Version(7, "n1")));
    assertNull(store.get("k"));
    assertEquals(0, store.liveCount());
    assertEquals(0, store.size());

    store.apply("t", Versioned.tombstone(new Version(8, "n1")));
    assertTrue(store.removeIfVersion("t", new Version(8, "n1")));
    assertEquals(0, store.liveCount(), "removing a tombstone does not touch the live count");
    assertEquals(0, store.size());
  }

  @Test
  void purgeDropsOnlyTombstonesOlderThanTheCutoff() {
    KvStore store = new KvStore();
    store.apply("live-old", value("x", 1, "n"));
    store.apply("dead-old", Versioned.tombstone(new Version(5, "n")));
    store.apply("dead-edge", Versioned.tombstone(new Version(10, "n")));
    store.apply("dead-new", Versioned.tombstone(new Version(20, "n")));

    assertEquals(1, store.purgeTombstones((k, ts) -> ts < 10).size());
    assertNull(store.get("dead-old"));
    assertTrue(store.get("dead-edge").isTombstone(), "the cutoff is exclusive");
    assertTrue(store.get("dead-new").isTombstone());
    assertEquals("x", store.get("live-old").value(), "live values never expire");
    assertEquals(1, store.liveCount());
    assertEquals(3, store.size());

    assertEquals(2, store.purgeTombstones((k, ts) -> ts < Long.MAX_VALUE).size());
    assertEquals(1, store.size());
    assertEquals(0, store.purgeTombstones((k, ts) -> ts < Long.MAX_VALUE).size());
  }

  @Test
  void snapshotIsAnImmutableCopy() {
    KvStore store = new KvStore();
    store.apply("a", value("1", 1, "n"));
    store.apply("b", Versioned.tombstone(new Version(2, "n")));
    List<Entry> snap = store.snapshot();
    assertEquals(2, snap.size());
    assertTrue(snap.contains(new Entry("a", value("1", 1, "n"))));
    assertTrue(snap.contains(new Entry("b", Versioned.tombstone(new Version(2, "n")))), "tombstones included");

    store.apply("a", value("2", 3, "n"));
    store.apply("c", value("3", 3, "n"));
    store.removeIfVersion("b", new Version(2, "n"));
    assertEquals(2, snap.size(), "later writes do not show in an earlier snapshot");
    assertTrue(snap.contains(new Entry("a", value("1", 1, "n"))));
    assertThrows(UnsupportedOperationException.class, () -> snap.add(new Entry("d", value("4", 4, "n"))));
  }

  @Test
  void aValueNeedsAVersion() {
    assertThrows(IllegalArgumentException.class, () -> new Versioned("v", null));
  }
}
