package io.ringkv.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ringkv.ring.HashRing;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RangeTreesTest {
  private static final HashRing RING = HashRing.of(List.of("a", "b", "c", "d"), 16);

  private static RangeTrees trees() {
    return new RangeTrees(7, RING.tokens());
  }

  private static long[] all(RangeTrees t, int level) {
    int[] ids = new int[t.ids(level)];
    for (int i = 0; i < ids.length; i++) ids[i] = i;
    return t.values(level, ids);
  }

  @Test
  void theSameEntriesInAnyOrderGiveTheSameTreesAndAWriteUndoneLeavesNoTrace() {
    List<Entry> entries = new ArrayList<>();
    for (int i = 0; i < 2000; i++) entries.add(new Entry("k" + i, new Versioned("v", new Version(1000 + i, "n" + i % 3))));
    KvStore a = new KvStore();
    KvStore b = new KvStore();
    a.track(trees());
    for (Entry e : entries) a.apply(e.key(), e.versioned());
    Collections.shuffle(entries, new Random(1));
    for (Entry e : entries) b.apply(e.key(), e.versioned());
    b.track(trees());   // built from what b holds, after the fact
    for (int level = 0; level <= 2; level++) assertArrayEquals(all(a.trees(), level), all(b.trees(), level), "level " + level);

    // a newer version, then its key deleted and the tombstone purged: b holds less than a now
    b.apply("k5", new Versioned("w", new Version(9_999, "n1")));
    assertNotEquals(a.trees().values(0, new int[] {rangeOf("k5")})[0], b.trees().values(0, new int[] {rangeOf("k5")})[0]);
    b.apply("k5", Versioned.tombstone(new Version(10_000, "n1")));
    b.purgeTombstones((k, ts) -> true);
    KvStore c = new KvStore();
    c.track(trees());
    for (Entry e : entries) if (!e.key().equals("k5")) c.apply(e.key(), e.versioned());
    assertArrayEquals(all(c.trees(), 0), all(b.trees(), 0), "b's trees are those of its entries");
  }

  @Test
  void aRootIsTheXorOfItsBranchesAndABranchOfItsLeaves() {
    KvStore s = new KvStore();
    s.track(trees());
    for (int i = 0; i < 500; i++) s.apply("key-" + i, new Versioned("v", new Version(i + 1, "n")));
    RangeTrees t = s.trees();
    long[] roots = all(t, RangeTrees.ROOTS);
    long[] branches = all(t, RangeTrees.BRANCHES_OF_RANGE);
    long[] leaves = all(t, RangeTrees.LEAVES_OF_BRANCH);
    for (int r = 0; r < t.ranges(); r++) {
      long x = 0;
      for (int b = 0; b < RangeTrees.BRANCHES; b++) {
        long y = 0;
        int branch = r * RangeTrees.BRANCHES + b;
        for (int j = 0; j < RangeTrees.LEAVES_PER_BRANCH; j++) y ^= leaves[branch * RangeTrees.LEAVES_PER_BRANCH + j];
        assertEquals(y, branches[branch], "branch " + branch);
        x ^= y;
      }
      assertEquals(x, roots[r], "range " + r);
    }
  }

  @Test
  void aKeyFallsInTheRangeWhoseTokenFollowsItsHash() {
    RangeTrees t = trees();
    long[] tokens = RING.tokens();
    for (int i = 0; i < 1000; i++) {
      String key = "x" + i;
      int r = t.rangeOf(HashRing.hash(key));
      assertEquals(RING.preferenceList(key, 3), RING.preferenceListForHash(tokens[r], 3), key);
      int seg = t.segmentOf(HashRing.hash(key));
      assertEquals(r, seg / RangeTrees.LEAVES);
    }
  }

  @Test
  void idsOutOfBoundsAndUnknownLevelsAreRefused() {
    RangeTrees t = trees();
    assertThrows(IllegalArgumentException.class, () -> t.values(RangeTrees.ROOTS, new int[] {t.ranges()}));
    assertThrows(IllegalArgumentException.class, () -> t.values(RangeTrees.LEAVES_OF_BRANCH, new int[] {-1}));
    assertThrows(IllegalArgumentException.class, () -> t.values(3, new int[] {0}));
  }

  private static int rangeOf(String key) {
    return trees().rangeOf(HashRing.hash(key));
  }
}
