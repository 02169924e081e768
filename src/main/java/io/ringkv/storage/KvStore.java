package io.ringkv.storage;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * An in-memory map from key to versioned value. Plain Java, not thread-safe: one store actor owns
 * each instance. Writes apply only when their version is newer (last writer wins), so late,
 * repeated or reordered messages can never move a key backwards.
 */
public final class KvStore {
  private final HashMap<String, Versioned> map = new HashMap<>();
  private int live;

  public Versioned get(String key) {
    return map.get(key);
  }

  /** Stores {@code v} if it is newer than what the key holds; returns whether it was stored. */
  public boolean apply(String key, Versioned v) {
    Versioned old = map.get(key);
    if (!v.isNewerThan(old)) return false;
    map.put(key, v);
    live += (v.isTombstone() ? 0 : 1) - (old == null || old.isTombstone() ? 0 : 1);
    return true;
  }

  /** Removes the key only if it still holds exactly {@code version} (a hand-off that lost no write). */
  public boolean removeIfVersion(String key, Version version) {
    Versioned old = map.get(key);
    if (old == null || !old.version().equals(version)) return false;
    map.remove(key);
    if (!old.isTombstone()) live--;
    return true;
  }

  /** Drops tombstones whose version is older than {@code timestamp}; returns how many. */
  public int purgeTombstonesBefore(long timestamp) {
    int purged = 0;
    for (Iterator<Map.Entry<String, Versioned>> it = map.entrySet().iterator(); it.hasNext(); ) {
      Versioned v = it.next().getValue();
      if (v.isTombstone() && v.version().timestamp() < timestamp) {
        it.remove();
        purged++;
      }
    }
    return purged;
  }

  /** Live keys (tombstones not counted). */
  public int liveCount() {
    return live;
  }

  /** Live keys and tombstones. */
  public int size() {
    return map.size();
  }

  /** An immutable copy of every entry, tombstones included (the values themselves are immutable). */
  public List<Entry> snapshot() {
    List<Entry> out = new ArrayList<>(map.size());
    for (Map.Entry<String, Versioned> e : map.entrySet()) out.add(new Entry(e.getKey(), e.getValue()));
    return List.copyOf(out);
  }
}
