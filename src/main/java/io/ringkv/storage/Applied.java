package io.ringkv.storage;

/** What a replica did with one versioned entry it was sent. */
public enum Applied {
  /** The entry was newer than the replica's copy and is now stored. */
  STORED,
  /** The replica already held exactly this version (a repeated message): the write is there. */
  ALREADY_HELD,
  /** The replica holds a newer version: this entry was not stored. */
  SUPERSEDED;

  /** Whether the replica holds the entry's version now. */
  public boolean holds() {
    return this != SUPERSEDED;
  }
}
