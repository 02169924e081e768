package io.ringkv.controller;

/**
 * Whether the failure detector itself was asleep. A tick is expected every {@code interval}; a tick
 * later than {@code 3 x interval} means this process did not run meanwhile (a starved CPU, a GC
 * pause, a SIGSTOP), and silence heard while not running proves nothing about the workers: their
 * heartbeats wait unread in the sockets. So a worker may only be called DOWN after a full
 * {@code timeout} of silence counted from the end of the last stall. Plain Java; times in
 * milliseconds of the controller's clock (virtual in the simulations, like its timers).
 */
public final class StallGuard {
  private final long intervalMillis;
  private final long timeoutMillis;
  private long lastTick;
  /** When the last stall ended; a timeout before the start when there was none. */
  private long stallEnd;

  public StallGuard(long intervalMillis, long timeoutMillis, long now) {
    this.intervalMillis = intervalMillis;
    this.timeoutMillis = timeoutMillis;
    this.lastTick = now;
    this.stallEnd = now - timeoutMillis;
  }

  /** The periodic tick ran at {@code now}. */
  public void tick(long now) {
    if (overdue(now)) stallEnd = now;
    lastTick = now;
  }

  /**
   * Whether silence up to {@code now} may be trusted: false while the tick is overdue (asleep until
   * a moment ago, the tick not yet run) or within a timeout of the end of the last stall.
   */
  public boolean silenceCounts(long now) {
    return !overdue(now) && now - stallEnd >= timeoutMillis;
  }

  /** More than 3 intervals since the last tick: this process was not running. */
  private boolean overdue(long now) {
    return now - lastTick > 3 * intervalMillis;
  }
}
