package io.ringkv.storage;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A hybrid logical clock (Kulkarni et al.): a 64-bit timestamp whose high 48 bits are wall-clock
 * milliseconds and whose low 16 bits count events within one millisecond. {@link #now()} never goes
 * backwards, even when the wall clock does, and {@link #observe(long)} pulls the clock past a
 * timestamp received from another node, so that a write stamped after reading a value always
 * carries a larger timestamp.
 *
 * <p>A clock that runs ahead cannot pull the others along: a timestamp more than
 * {@code maxSkewMillis} ahead of this node's wall clock is not {@link #admits admitted} (its write is
 * refused, and it is never observed), like CockroachDB's maximum clock offset. Every refusal is
 * counted, with how far ahead the timestamp was, for {@code /status}. The arithmetic saturates.
 *
 * <p>Thread-safe (one CAS per call): every store actor of a node shares the node's clock.
 */
public final class HybridClock {
  static final int LOGICAL_BITS = 16;
  /** The default MAX_CLOCK_SKEW. */
  public static final long DEFAULT_MAX_SKEW_MILLIS = 500;
  private static final long MAX_MILLIS = Long.MAX_VALUE >>> LOGICAL_BITS;
  private final LongSupplier wallMillis;
  private final long maxSkewMillis;
  private final AtomicLong last = new AtomicLong();
  private final AtomicLong refused = new AtomicLong();
  private final AtomicLong maxAheadMillis = new AtomicLong();
  private final AtomicLong refusedByPeers = new AtomicLong();

  /**
   * What this clock has seen of skew: timestamps from other nodes it refused (and the farthest
   * ahead), and versions of its own that other nodes refused as too far ahead of theirs.
   */
  public record Skew(long maxSkewMillis, long refused, long maxAheadMillis, long refusedByPeers) {
    /** Whether this node's clock and its peers' have been seen apart by more than the maximum skew. */
    public boolean off() {
      return refused > 0 || refusedByPeers > 0;
    }
  }

  public HybridClock(LongSupplier wallMillis) {
    this(wallMillis, DEFAULT_MAX_SKEW_MILLIS);
  }

  public HybridClock(LongSupplier wallMillis, long maxSkewMillis) {
    if (maxSkewMillis < 0) throw new IllegalArgumentException("MAX_CLOCK_SKEW must not be negative");
    this.wallMillis = wallMillis;
    this.maxSkewMillis = maxSkewMillis;
  }

  /** The system clock, moved by {@code offsetMillis} (0 but in tests that make a clock run fast or slow). */
  public static HybridClock system(long maxSkewMillis, long offsetMillis) {
    return new HybridClock(() -> System.currentTimeMillis() + offsetMillis, maxSkewMillis);
  }

  public static HybridClock system() {
    return system(DEFAULT_MAX_SKEW_MILLIS, 0);
  }

  /** A new timestamp, larger than every one this clock issued or observed (short of saturation). */
  public long now() {
    long physical = fromMillis(wallMillis.getAsLong());
    return last.updateAndGet(prev -> Math.max(prev == Long.MAX_VALUE ? prev : prev + 1, physical));
  }

  /**
   * Whether a timestamp from another node may be stored and observed here: at most
   * {@code maxSkewMillis} ahead of this node's wall clock. A refusal is counted.
   */
  public boolean admits(long timestamp) {
    long ahead = physicalMillis(timestamp) - wallMillis.getAsLong();
    if (ahead <= maxSkewMillis) return true;
    refused.incrementAndGet();
    maxAheadMillis.accumulateAndGet(ahead, Math::max);
    return false;
  }

  /** Moves the clock past a timestamp seen in a message from another node; only an {@link #admits admitted} one. */
  public void observe(long remote) {
    last.accumulateAndGet(remote, Math::max);
  }

  /** This node's wall clock, in milliseconds (the one its timestamps follow). */
  public long wallMillis() {
    return wallMillis.getAsLong();
  }

  /** The latest timestamp issued or observed, without advancing the clock. */
  public long current() {
    return last.get();
  }

  /** Another node refused a version this clock stamped, as too far ahead of its own clock. */
  public void refusedByPeer() {
    refusedByPeers.incrementAndGet();
  }

  public Skew skew() {
    return new Skew(maxSkewMillis, refused.get(), maxAheadMillis.get(), refusedByPeers.get());
  }

  public static long physicalMillis(long timestamp) {
    return timestamp >>> LOGICAL_BITS;
  }

  /** The smallest timestamp whose physical part is {@code millis} (saturating at both ends). */
  public static long fromMillis(long millis) {
    return Math.max(0, Math.min(millis, MAX_MILLIS)) << LOGICAL_BITS;
  }
}
