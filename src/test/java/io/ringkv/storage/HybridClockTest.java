package io.ringkv.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class HybridClockTest {
  private static final long T0 = 1_700_000_000_000L;

  @Test
  void nowIsStrictlyIncreasingWithinOneMillisecond() {
    AtomicLong wall = new AtomicLong(T0);
    HybridClock clock = new HybridClock(wall::get);
    long prev = clock.now();
    assertEquals(T0, HybridClock.physicalMillis(prev));
    for (int i = 0; i < 10_000; i++) {
      long next = clock.now();
      assertTrue(next > prev, "step " + i);
      prev = next;
    }
    assertEquals(prev, clock.current());
  }

  @Test
  void followsTheWallClockForward() {
    AtomicLong wall = new AtomicLong(T0);
    HybridClock clock = new HybridClock(wall::get);
    clock.now();
    clock.now();
    wall.set(T0 + 5);
    assertEquals(HybridClock.fromMillis(T0 + 5), clock.now(), "a new millisecond resets the logical part");
  }

  @Test
  void doesNotGoBackwardsWhenTheWallClockDoes() {
    AtomicLong wall = new AtomicLong(T0);
    HybridClock clock = new HybridClock(wall::get);
    long before = clock.now();
    wall.set(T0 - 60_000);
    long after = clock.now();
    assertTrue(after > before);
    assertEquals(T0, HybridClock.physicalMillis(after), "keeps the larger physical time");
  }

  @Test
  void observingARemoteTimestampPullsTheClockPastIt() {
    AtomicLong wall = new AtomicLong(T0);
    HybridClock clock = new HybridClock(wall::get);
    clock.now();
    long remote = HybridClock.fromMillis(T0 + 10_000) + 3;   // a node whose clock runs ahead
    clock.observe(remote);
    assertEquals(remote, clock.current());
    assertTrue(clock.now() > remote);

    long current = clock.current();
    clock.observe(HybridClock.fromMillis(T0 - 1));             // an older timestamp changes nothing
    assertEquals(current, clock.current());
  }

  @Test
  void physicalMillisAndFromMillisAreInverse() {
    long ts = HybridClock.fromMillis(T0);
    assertEquals(T0 << 16, ts);
    assertEquals(T0, HybridClock.physicalMillis(ts));
    assertEquals(T0, HybridClock.physicalMillis(ts + 0xffff), "the logical part stays below one millisecond");
    assertEquals(T0 + 1, HybridClock.physicalMillis(ts + 0x10000));
  }

  @Test
  void systemClockIsNearTheWallClock() {
    long wallNow = System.currentTimeMillis();
    long millis = HybridClock.physicalMillis(HybridClock.system().now());
    assertTrue(Math.abs(millis - wallNow) < 60_000, "millis " + millis + " vs " + wallNow);
  }

  @Test
  void aTimestampFurtherAheadThanTheMaxSkewIsNotAdmittedAndIsCounted() {
    AtomicLong wall = new AtomicLong(T0);
    HybridClock clock = new HybridClock(wall::get, 500);
    assertTrue(clock.admits(HybridClock.fromMillis(T0 + 500)));
    assertTrue(clock.admits(HybridClock.fromMillis(T0 - 60_000)));
    assertEquals(0, clock.skew().refused());
    assertFalse(clock.admits(HybridClock.fromMillis(T0 + 501)));
    assertFalse(clock.admits(9_223_372_036_854_000_000L), "the far future a forged replica carried");
    assertFalse(clock.admits(-1), "a negative timestamp reads as the far future");
    assertEquals(3, clock.skew().refused());
    assertTrue(clock.skew().maxAheadMillis() > 1_000_000, "the farthest refusal is kept: " + clock.skew());
    assertTrue(clock.skew().off());
    wall.set(T0 + 10_000);
    assertTrue(clock.admits(HybridClock.fromMillis(T0 + 501)), "once the wall clock caught up");
  }

  @Test
  void theArithmeticSaturates() {
    assertEquals(0, HybridClock.fromMillis(-5));
    assertEquals(Long.MAX_VALUE >>> 16, HybridClock.physicalMillis(HybridClock.fromMillis(Long.MAX_VALUE)));
    HybridClock clock = new HybridClock(() -> T0);
    clock.observe(Long.MAX_VALUE);
    assertEquals(Long.MAX_VALUE, clock.now(), "no overflow into negative timestamps");
    assertEquals(Long.MAX_VALUE, clock.now());
  }
}
