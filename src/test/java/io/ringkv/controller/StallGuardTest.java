package io.ringkv.controller;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class StallGuardTest {
  private static final long MS = 1L;

  @Test
  void silenceCountsWhileTheTicksArriveOnTime() {
    StallGuard g = new StallGuard(100 * MS, 1800 * MS, 0);
    for (long t = 100; t <= 5000; t += 100) g.tick(t * MS);
    assertTrue(g.silenceCounts(5000 * MS));
    assertTrue(g.silenceCounts(5250 * MS), "a tick 250 ms late is no stall");
  }

  @Test
  void anOverdueTickMeansTheDetectorIsAsleep() {
    StallGuard g = new StallGuard(100 * MS, 1800 * MS, 0);
    g.tick(100 * MS);
    // the process was stopped for 3 s: the suspicion timers fire before the tick has run
    assertFalse(g.silenceCounts(3100 * MS));
  }

  @Test
  void afterAStallSilenceCountsOnlyFromItsEnd() {
    StallGuard g = new StallGuard(100 * MS, 1800 * MS, 0);
    g.tick(100 * MS);
    g.tick(3100 * MS);   // woke up after 3 s
    for (long t = 3200; t < 4900; t += 100) {
      g.tick(t * MS);
      assertFalse(g.silenceCounts(t * MS), "at " + t + " ms");
    }
    g.tick(4900 * MS);
    assertTrue(g.silenceCounts(4900 * MS), "a full timeout after the stall");
  }
}
