package io.ringkv.worker;

import java.util.concurrent.atomic.AtomicLong;

/**
 * How far the rebalance under way has come, for {@code /status} and the ring page: the entries its
 * plan pushes, those pushed so far, and when it started. Written by the {@link Rebalancer} (and its
 * stream), read by the status; plain atomics, no actor.
 */
public final class RebalanceProgress {
  private final AtomicLong planned = new AtomicLong();
  private final AtomicLong pushed = new AtomicLong();
  private final AtomicLong startedMillis = new AtomicLong();

  /** What the status shows. */
  public record Snapshot(long entriesToPush, long entriesPushed, long startedMillis) {}

  void start(long entries, long nowMillis) {
    pushed.set(0);
    planned.set(entries);
    startedMillis.set(nowMillis);
  }

  void pushed(long entries) {
    pushed.addAndGet(entries);
  }

  public Snapshot snapshot() {
    return new Snapshot(planned.get(), pushed.get(), startedMillis.get());
  }
}
