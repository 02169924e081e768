package io.ringkv.storage;

/**
 * What a replica did with one versioned entry it was offered. Only {@link Outcome#STORED} and
 * {@link Outcome#ALREADY_HELD} acknowledge the write: a replica that holds a newer version says
 * which ({@code held}), so that the coordinator can stamp above it.
 */
public record Applied(Outcome outcome, Version held) {
  public enum Outcome {
    /** The entry was newer than the replica's copy and is now stored. */
    STORED,
    /** The replica already held exactly this version (a repeated message): the write is there. */
    ALREADY_HELD,
    /** The replica holds a newer version ({@code held}): this entry was not stored. */
    SUPERSEDED,
    /** The entry's timestamp is further ahead of the replica's wall clock than MAX_CLOCK_SKEW: refused. */
    TOO_FAR_AHEAD,
    /** The replica could not make the entry durable (its disk failed or is full): not stored. */
    NOT_STORED
  }

  public static final Applied STORED = new Applied(Outcome.STORED, null);
  public static final Applied ALREADY_HELD = new Applied(Outcome.ALREADY_HELD, null);
  public static final Applied TOO_FAR_AHEAD = new Applied(Outcome.TOO_FAR_AHEAD, null);
  public static final Applied NOT_STORED = new Applied(Outcome.NOT_STORED, null);

  public Applied {
    if ((outcome == Outcome.SUPERSEDED) != (held != null))
      throw new IllegalArgumentException("a held version goes with SUPERSEDED, and only with it");
  }

  public static Applied superseded(Version held) {
    return new Applied(Outcome.SUPERSEDED, held);
  }

  /** Whether the replica holds the entry's version now: an acknowledgement. */
  public boolean holds() {
    return outcome == Outcome.STORED || outcome == Outcome.ALREADY_HELD;
  }
}
