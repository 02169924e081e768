package io.ringkv.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The store's open-addressing table against a HashMap doing the same thing the obvious way: random
 * writes, tombstones, conditional removals and purges over a key space small enough for long probe
 * runs, removals inside them, and growth.
 */
class KvStoreModelTest {
  private static final String[] NODES = {"w1", "w2", "w3"};

  @Test
  void behavesLikeAMapUnderRandomOperations() {
    for (long seed = 1; seed <= 20; seed++) run(seed, 600 + (int) seed * 50, 20_000);
  }

  private static void run(long seed, int keySpace, int ops) {
    Random r = new Random(seed);
    KvStore store = new KvStore();
    Map<String, Versioned> model = new HashMap<>();
    for (int op = 0; op < ops; op++) {
      String key = "k" + r.nextInt(keySpace);
      int what = r.nextInt(100);
      String where = "seed " + seed + " op " + op + " key " + key;
      if (what < 60) {
        Version v = new Version(r.nextInt(1000), NODES[r.nextInt(NODES.length)]);
        Versioned val = r.nextInt(5) == 0 ? Versioned.tombstone(v) : new Versioned("v" + op + "-é✓", v);
        Versioned old = model.get(key);
        boolean expected = val.isNewerThan(old);
        if (expected) model.put(key, val);
        assertEquals(expected, store.apply(key, val), where);
      } else if (what < 85) {
        Versioned old = model.get(key);
        Version asked = old != null && r.nextBoolean() ? old.version() : new Version(r.nextInt(1000), NODES[r.nextInt(NODES.length)]);
        boolean expected = old != null && old.version().equals(asked);
        if (expected) model.remove(key);
        assertEquals(expected, store.removeIfVersion(key, asked), where);
      } else if (what < 86) {
        long cutoff = r.nextInt(1000);
        int expected = 0;
        for (var it = model.entrySet().iterator(); it.hasNext(); ) {
          Versioned v = it.next().getValue();
          if (v.isTombstone() && v.version().timestamp() < cutoff) {
            it.remove();
            expected++;
          }
        }
        assertEquals(expected, store.purgeTombstones((k, ts) -> ts < cutoff).size(), where);
      }
      assertEquals(model.get(key), store.get(key), where);
    }
    assertEquals(model.size(), store.size(), "seed " + seed);
    assertEquals(model.values().stream().filter(v -> !v.isTombstone()).count(), store.liveCount(), "seed " + seed);
    for (int k = 0; k < keySpace; k++) assertEquals(model.get("k" + k), store.get("k" + k), "seed " + seed + " k" + k);
    Map<String, Versioned> snap = new TreeMap<>();
    for (Entry e : store.snapshot()) snap.put(e.key(), e.versioned());
    assertEquals(new TreeMap<>(model), snap, "seed " + seed);
  }
}
