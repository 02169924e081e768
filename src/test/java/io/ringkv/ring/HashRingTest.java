package io.ringkv.ring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HashRingTest {
  private static final int KEYS = 100_000;
  private static final double MAX_SKEW = 1.10;

  /** The shipped default, so that this test checks what operators run. */
  private static int defaultVnodes() {
    return ConfigFactory.load().getInt("ringkv.ring.vnodes");
  }

  private static List<String> workers(int count) {
    List<String> ids = new ArrayList<>();
    for (int i = 1; i <= count; i++) ids.add("worker" + i);
    return ids;
  }

  private static List<String> randomKeys(long seed, int count) {
    Random rnd = new Random(seed);
    List<String> keys = new ArrayList<>(count);
    for (int i = 0; i < count; i++) keys.add("key-" + Long.toHexString(rnd.nextLong()));
    return keys;
  }

  @ParameterizedTest(name = "{0} nodes")
  @ValueSource(ints = {3, 4, 5, 6, 7, 8})
  void defaultVnodesBalancePrimariesWithinTenPercentOfTheMean(int nodeCount) {
    HashRing ring = HashRing.of(workers(nodeCount), defaultVnodes());
    // several independent key sets: the bound must hold for any random keys, not for one lucky sample
    for (long seed : new long[] {1, 42, 99}) {
      Map<String, Integer> counts = new HashMap<>();
      for (String key : randomKeys(seed, KEYS)) counts.merge(ring.primary(key), 1, Integer::sum);

      assertEquals(nodeCount, counts.size(), "every node owns some keys: " + counts);
      double mean = KEYS / (double) nodeCount;
      int max = Collections.max(counts.values());
      assertTrue(max <= MAX_SKEW * mean, String.format("max share %.3f x mean with vnodes=%d, seed %d: %s",
          max / mean, defaultVnodes(), seed, counts));
    }
  }

  @Test
  void nodeOrderDoesNotChangeTheRing() {
    List<String> ids = workers(5);
    List<String> shuffled = new ArrayList<>(ids);
    Collections.shuffle(shuffled, new Random(3));
    shuffled.add("worker2");   // a duplicate is ignored
    HashRing a = HashRing.of(ids, 64);
    HashRing b = HashRing.of(shuffled, 64);
    assertEquals(a.nodes(), b.nodes());
    for (String key : randomKeys(5, 2_000)) assertEquals(a.preferenceList(key, 3), b.preferenceList(key, 3), key);
  }

  @Test
  void preferenceListHasDistinctNodesPrimaryFirstCappedAtNodeCount() {
    HashRing ring = HashRing.of(workers(4), 32);
    for (String key : randomKeys(11, 2_000)) {
      List<String> three = ring.preferenceList(key, 3);
      assertEquals(3, three.size());
      assertEquals(3, new HashSet<>(three).size(), "distinct: " + three);
      assertEquals(ring.primary(key), three.get(0));

      List<String> all = ring.preferenceList(key, 10);
      assertEquals(4, all.size(), "capped at the node count");
      assertEquals(new HashSet<>(workers(4)), new HashSet<>(all));
      assertEquals(three, all.subList(0, 3), "a longer list extends the shorter one");
    }
    assertEquals(List.of(), ring.preferenceList("k", 0));
  }

  @Test
  void emptyRingHasNoOwners() {
    HashRing ring = HashRing.empty(16);
    assertTrue(ring.isEmpty());
    assertEquals(List.of(), ring.preferenceList("k", 3));
    assertNull(ring.primary("k"));
    assertEquals(List.of(), HashRing.of(List.of(), 16).without("x").preferenceList("k", 1));
  }

  @Test
  void singleNodeOwnsEverything() {
    HashRing ring = HashRing.of(List.of("only"), 8);
    assertEquals(List.of("only"), ring.preferenceList("k", 3));
    assertEquals("only", ring.primary("k"));
  }

  @Test
  void removingANodeMovesOnlyItsKeysAndAddingItBackRestoresThem() {
    int vnodes = defaultVnodes();
    HashRing before = HashRing.of(workers(5), vnodes);
    HashRing after = before.without("worker3");
    assertEquals(List.of("worker1", "worker2", "worker4", "worker5"), after.nodes());
    HashRing restored = after.with("worker3");

    List<String> keys = randomKeys(77, 20_000);
    int primariesMoved = 0;
    for (String key : keys) {
      List<String> old = before.preferenceList(key, 3);
      List<String> now = after.preferenceList(key, 3);
      assertTrue(!now.contains("worker3"));
      if (!old.contains("worker3")) assertEquals(old, now, "list of " + key + " changed needlessly");
      else {
        // the surviving owners keep their relative order; the next node clockwise fills the gap
        List<String> survivors = new ArrayList<>(old);
        survivors.remove("worker3");
        assertEquals(survivors, now.subList(0, 2), key);
      }
      if (!"worker3".equals(old.get(0))) assertEquals(old.get(0), now.get(0), "primary of " + key + " moved");
      else primariesMoved++;

      assertEquals(old, restored.preferenceList(key, 3), "adding worker3 back restores " + key);
    }
    double moved = primariesMoved / (double) keys.size();
    assertTrue(moved >= 0.15 && moved <= 0.25, "share of primaries moved: " + moved);
  }

  @Test
  void hashIsStable() {
    // every process must agree on key placement, so the hash is pinned: changing it moves every key
    assertEquals(-591258238410053723L, HashRing.hash("alpha"));
    assertEquals(-7383625480396504504L, HashRing.hash("user:42"));
    assertTrue(HashRing.hash("alpha") != HashRing.hash("alphb"));
    assertEquals(HashRing.fmix64(0xcbf29ce484222325L), HashRing.hash(""));
  }

  @Test
  void everyKeyBetweenTwoBoundariesHasTheSameListsInBothRings() {
    HashRing four = HashRing.of(List.of("w1", "w2", "w3", "w4"), 64);
    HashRing[] others = {four.without("w2"), four.with("w5"), HashRing.of(List.of("w9"), 3), HashRing.empty(64)};
    Random rnd = new Random(7);
    for (HashRing other : others) {
      long[] bounds = HashRing.boundaries(four, other);
      for (int i = 1; i < bounds.length; i++) assertTrue(bounds[i - 1] < bounds[i], "sorted, no repeats");
      for (int k = 0; k < 20_000; k++) {
        String key = "key-" + rnd.nextInt();
        long at = bounds[HashRing.firstAtOrAfter(bounds, HashRing.hash(key))];
        assertEquals(four.preferenceList(key, 3), four.preferenceListForHash(at, 3), key);
        assertEquals(other.preferenceList(key, 3), other.preferenceListForHash(at, 3), key);
      }
    }
  }

  @Test
  void listsForDifferentNsDoNotMixUp() {
    HashRing ring = HashRing.of(List.of("a", "b", "c", "d", "e"), 16);
    for (int k = 0; k < 1000; k++) {
      String key = "k" + k;
      List<String> three = ring.preferenceList(key, 3);
      assertEquals(three.subList(0, 1), ring.preferenceList(key, 1));
      assertEquals(three, ring.preferenceList(key, 3));
      assertEquals(5, ring.preferenceList(key, 9).size(), "n beyond the nodes: every node once");
      assertEquals(three, ring.preferenceList(key, 5).subList(0, 3));
    }
  }
}
