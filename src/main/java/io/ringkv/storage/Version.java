package io.ringkv.storage;

/**
 * The version of a value: a hybrid logical clock timestamp plus the id of the node that stamped it.
 * Versions are totally ordered (timestamp, then node id), so last-writer-wins has one answer on
 * every node.
 */
public record Version(long timestamp, String node) implements Comparable<Version> {
  public Version {
    if (node == null || node.isEmpty()) throw new IllegalArgumentException("version needs a node id");
    // a handful of node ids stamp every version: one String each, not one per stored key (a
    // version parsed from the wire would otherwise carry its own copy, ~48 bytes per key)
    node = node.intern();
  }

  @Override
  public int compareTo(Version o) {
    int c = Long.compare(timestamp, o.timestamp);
    return c != 0 ? c : node.compareTo(o.node);
  }

  public boolean isNewerThan(Version o) {
    return o == null || compareTo(o) > 0;
  }

  /** Wall-clock milliseconds of the physical part of the timestamp. */
  public long millis() {
    return HybridClock.physicalMillis(timestamp);
  }

  /** Text form {@code <timestamp>@<node>}, as carried in JSON. */
  @Override
  public String toString() {
    return timestamp + "@" + node;
  }

  /** Parses {@link #toString()}; throws IllegalArgumentException on anything else. */
  public static Version parse(String s) {
    int at = s == null ? -1 : s.indexOf('@');
    if (at <= 0 || at == s.length() - 1) throw new IllegalArgumentException("bad version: " + s);
    try {
      return new Version(Long.parseLong(s.substring(0, at)), s.substring(at + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("bad version: " + s, e);
    }
  }
}
