package io.ringkv.storage;

import java.util.Locale;

/** What a replica's acknowledgement of a write means ({@code DURABILITY}). */
public enum Durability {
  /** In the write-ahead log and fsynced before the acknowledgement: survives a power cut. Writes that arrive together share one fsync. */
  FSYNC,
  /** In the write-ahead log (the operating system's cache) before the acknowledgement, fsynced every SYNC_INTERVAL: survives a process crash, not a power cut. */
  ASYNC,
  /** In memory only: lost when the process stops. For tests and throwaway demos. */
  MEMORY;

  public static Durability parse(String s) {
    try {
      return valueOf(s.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("DURABILITY must be fsync, async or memory, not '" + s + "'");
    }
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
