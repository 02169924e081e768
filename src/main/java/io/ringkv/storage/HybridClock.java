package io.ringkv.storage;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * A hybrid logical clock (Kulkarni et al.): a 64-bit timestamp whose high 48 bits are wall-clock
 * milliseconds and whose low 16 bits count events within one millisecond. {@link #now()} never goes
 * backwards, even when the wall clock does, and {@link #observe(long)} pulls the clock past any
 * timestamp received from another node, so that a write stamped after reading a value always
 * carries a larger timestamp.
 *
 * <p>Thread-safe (one CAS per call): every store actor of a node shares the node's clock.
 */
public final class HybridClock {
  static final int LOGICAL_BITS = 16;
  private final LongSupplier wallMillis;
  private final AtomicLong last = new AtomicLong();

  public HybridClock(LongSupplier wallMillis) {
    this.wallMillis = wallMillis;
  }

  public static HybridClock system() {
    return new HybridClock(System::currentTimeMillis);
  }

  /** A new timestamp, larger than every one this clock issued or observed. */
  public long now() {
    long physical = wallMillis.getAsLong() << LOGICAL_BITS;
    return last.updateAndGet(prev -> Math.max(prev + 1, physical));
  }

  /** Moves the clock past a timestamp seen in a message from another node. */
  public void observe(long remote) {
    last.accumulateAndGet(remote, Math::max);
  }

  /** The latest timestamp issued or observed, without advancing the clock. */
  public long current() {
    return last.get();
  }

  public static long physicalMillis(long timestamp) {
    return timestamp >>> LOGICAL_BITS;
  }

  /** The smallest timestamp whose physical part is {@code millis}. */
  public static long fromMillis(long millis) {
    return millis << LOGICAL_BITS;
  }
}
