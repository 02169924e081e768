package io.ringkv.storage;

/** A key with its versioned value (or tombstone): the unit of replication and rebalancing. */
public record Entry(String key, Versioned versioned) {
  /** The key's and the value's characters: the cheap size estimate that batches are bounded by. */
  public int chars() {
    return key.length() + (versioned.isTombstone() ? 0 : versioned.value().length());
  }
}
