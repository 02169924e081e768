package io.ringkv.storage;

import io.ringkv.ring.HashRing;
import java.nio.charset.StandardCharsets;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.List;
import java.util.RandomAccess;

/**
 * An in-memory map from key to versioned value. Plain Java, not thread-safe: one store actor owns
 * each instance. Writes apply only when their version is newer (last writer wins), so late,
 * repeated or reordered messages can never move a key backwards.
 *
 * <p>Laid out for memory: one {@link Slot} per key (the key, the value's UTF-8 bytes, the version's
 * timestamp and its interned node id: 32 bytes plus the arrays) in an open-addressing table with
 * linear probing, instead of a HashMap node, a Versioned, a Version and a value String per key
 * (bench/memory.sh: 179 -> about 100 bytes of overhead per key). Reads build the Versioned anew.
 */
public final class KvStore {
  private static final int MIN_CAPACITY = 16;
  /** Grow when more than 3/4 of the slots are taken (linear probing stays short below that). */
  private static final int LOAD_NUMERATOR = 3;
  private static final int LOAD_DENOMINATOR = 4;

  /** One key's current version; a null value is a tombstone. */
  private static final class Slot {
    final String key;
    final byte[] value;
    final long timestamp;
    final String node;

    Slot(String key, Versioned v) {
      this.key = key;
      this.value = v.isTombstone() ? null : v.value().getBytes(StandardCharsets.UTF_8);
      this.timestamp = v.version().timestamp();
      this.node = v.version().node();   // interned by Version: shared by every key it stamped
    }

    boolean isTombstone() {
      return value == null;
    }

    Versioned versioned() {
      return new Versioned(value == null ? null : new String(value, StandardCharsets.UTF_8), new Version(timestamp, node));
    }

    /** Whether {@code v} is newer than this slot's version (the order of {@link Version#compareTo}). */
    boolean olderThan(Version v) {
      int c = Long.compare(v.timestamp(), timestamp);
      return c != 0 ? c > 0 : v.node().compareTo(node) > 0;
    }

    boolean hasVersion(Version v) {
      return v.timestamp() == timestamp && v.node().equals(node);
    }
  }

  private Slot[] table = new Slot[MIN_CAPACITY];
  /** log2 of the table's length, for Fibonacci hashing. */
  private int bits = 4;
  private int size;
  private int live;
  /** The hash trees kept up to date with every change (see {@link #track}). */
  private RangeTrees trees = RangeTrees.NONE;

  /** Keeps {@code fresh} (empty trees of a new ring) up to date from now on, after adding every entry held. */
  public void track(RangeTrees fresh) {
    for (Slot s : table) if (s != null) fresh.toggle(HashRing.hash(s.key), s.timestamp, s.node);
    trees = fresh;
  }

  /** Drops every entry. */
  public void clear() {
    table = new Slot[MIN_CAPACITY];
    bits = 4;
    size = 0;
    live = 0;
    trees = trees.emptyCopy();
  }

  /** The trees this store keeps up to date (owned by this store's actor). */
  public RangeTrees trees() {
    return trees;
  }

  /** The trees lose {@code gone} (if any) and gain {@code now} (if any). */
  private void changed(String key, Slot gone, Slot now) {
    if (trees.isNone()) return;
    long h = HashRing.hash(key);
    if (gone != null) trees.toggle(h, gone.timestamp, gone.node);
    if (now != null) trees.toggle(h, now.timestamp, now.node);
  }

  public Versioned get(String key) {
    int i = find(key);
    return i < 0 ? null : table[i].versioned();
  }

  /** Stores {@code v} if it is newer than what the key holds, and says what happened. */
  public Applied offer(String key, Versioned v) {
    return apply(key, v) ? Applied.STORED : check(key, v.version());
  }

  /** What {@link #offer} would do with {@code version}, without storing anything. */
  public Applied check(String key, Version version) {
    int i = find(key);
    if (i < 0 || table[i].olderThan(version)) return Applied.STORED;
    Slot held = table[i];
    return held.hasVersion(version) ? Applied.ALREADY_HELD : Applied.superseded(new Version(held.timestamp, held.node));
  }

  /** Stores {@code v} if it is newer than what the key holds; returns whether it was stored. */
  public boolean apply(String key, Versioned v) {
    int i = find(key);
    if (i >= 0) {
      Slot old = table[i];
      if (!old.olderThan(v.version())) return false;
      table[i] = new Slot(key, v);
      changed(key, old, table[i]);
      live += (v.isTombstone() ? 0 : 1) - (old.isTombstone() ? 0 : 1);
      return true;
    }
    table[-i - 1] = new Slot(key, v);
    changed(key, null, table[-i - 1]);
    size++;
    if (!v.isTombstone()) live++;
    if (size * LOAD_DENOMINATOR > table.length * LOAD_NUMERATOR) grow();
    return true;
  }

  /** Removes the key only if it still holds exactly {@code version} (a hand-off that lost no write). */
  public boolean removeIfVersion(String key, Version version) {
    int i = find(key);
    if (i < 0 || !table[i].hasVersion(version)) return false;
    removeAt(i);
    return true;
  }

  /** Which tombstones a purge drops. */
  public interface TombstoneRule {
    boolean purge(String key, long timestamp);
  }

  /** Drops the tombstones that {@code rule} accepts; returns their keys. */
  public List<String> purgeTombstones(TombstoneRule rule) {
    List<String> old = new ArrayList<>();
    for (Slot s : table) if (s != null && s.isTombstone() && rule.purge(s.key, s.timestamp)) old.add(s.key);
    for (String key : old) removeAt(find(key));   // removing shifts slots: find each afresh
    return old;
  }


  /** Live keys (tombstones not counted). */
  public int liveCount() {
    return live;
  }

  /** Live keys and tombstones. */
  public int size() {
    return size;
  }

  /**
   * An immutable copy of every entry, tombstones included. Taking it copies only the slot references
   * (slots never change): the entries are built as the list is read, so a rebalance's snapshot of a
   * million keys costs its store actor milliseconds and leaves the decoding to whoever reads it.
   */
  public Snapshot snapshot() {
    Slot[] slots = new Slot[size];
    int n = 0;
    for (Slot s : table) if (s != null) slots[n++] = s;
    return new Snapshot(slots);
  }

  /** A {@link #snapshot}: every entry, built as it is read; keys and versions can be read without the values. */
  public static final class Snapshot extends AbstractList<Entry> implements RandomAccess {
    private final Slot[] slots;

    Snapshot(Slot[] slots) {
      this.slots = slots;
    }

    @Override
    public Entry get(int i) {
      return new Entry(slots[i].key, slots[i].versioned());
    }

    public String key(int i) {
      return slots[i].key;
    }

    public KeyVersion keyVersion(int i) {
      return new KeyVersion(slots[i].key, new Version(slots[i].timestamp, slots[i].node), slots[i].isTombstone());
    }

    @Override
    public int size() {
      return slots.length;
    }
  }

  // ---- the table: linear probing, Fibonacci hashing, deletion by backward shift (no markers)

  private int home(String key) {
    return (key.hashCode() * 0x9E3779B9) >>> (32 - bits);
  }

  /** The key's slot index, or {@code -(the free slot where it would go) - 1}. */
  private int find(String key) {
    int mask = table.length - 1;
    for (int i = home(key); ; i = (i + 1) & mask) {
      Slot s = table[i];
      if (s == null) return -i - 1;
      if (s.key.equals(key)) return i;
    }
  }

  private void removeAt(int i) {
    Slot gone = table[i];
    int mask = table.length - 1;
    // pull back every later slot of the run that may sit at i, so that no lookup meets a hole early
    for (int j = (i + 1) & mask; table[j] != null; j = (j + 1) & mask) {
      int h = home(table[j].key);
      boolean reachable = i <= j ? (h <= i || h > j) : (h <= i && h > j);
      if (reachable) {
        table[i] = table[j];
        i = j;
      }
    }
    table[i] = null;
    changed(gone.key, gone, null);
    size--;
    if (!gone.isTombstone()) live--;
  }

  private void grow() {
    Slot[] old = table;
    table = new Slot[old.length * 2];
    bits++;
    int mask = table.length - 1;
    for (Slot s : old) {
      if (s == null) continue;
      int i = home(s.key);
      while (table[i] != null) i = (i + 1) & mask;
      table[i] = s;
    }
  }
}
