package io.ringkv.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class KeyChooserTest {
  private static int[] histogram(KeyChooser c, int n, int draws) {
    int[] h = new int[n];
    SplittableRandom rnd = new SplittableRandom(42);
    for (int i = 0; i < draws; i++) h[c.next(rnd)]++;
    return h;
  }

  @Test
  void uniformKeysAreSpreadEvenly() {
    int[] h = histogram(KeyChooser.uniform(100), 100, 200_000);
    int max = Arrays.stream(h).max().orElseThrow();
    int min = Arrays.stream(h).min().orElseThrow();
    assertTrue(min > 1700 && max < 2300, "min " + min + " max " + max);
  }

  @Test
  void zipfKeysFollowThePowerLawAndStayInRange() {
    int n = 10_000;
    int[] h = histogram(KeyChooser.zipf(n, 0.99), n, 1_000_000);
    int[] sorted = Arrays.stream(h).sorted().toArray();
    long top10 = 0;
    for (int i = 0; i < 10; i++) top10 += sorted[n - 1 - i];
    // theta 0.99 over 10,000 keys: the hottest key gets ~10% of draws, the 10 hottest ~29%
    assertTrue(sorted[n - 1] > 80_000 && sorted[n - 1] < 120_000, "hottest " + sorted[n - 1]);
    assertTrue(top10 > 250_000 && top10 < 340_000, "top 10 " + top10);
    assertEquals(1_000_000, Arrays.stream(h).sum());
  }

  @Test
  void theHotKeysAreScatteredNotNeighbours() {
    int n = 10_000;
    KeyChooser c = KeyChooser.zipf(n, 0.99);
    SplittableRandom rnd = new SplittableRandom(7);
    int hottest = -1;
    int[] h = new int[n];
    for (int i = 0; i < 200_000; i++) h[c.next(rnd)]++;
    for (int i = 0; i < n; i++) if (hottest < 0 || h[i] > h[hottest]) hottest = i;
    assertTrue(hottest != 0, "rank 0 is scrambled away from key 0");
  }

  @Test
  void rankZeroIsTheMostLikely() {
    KeyChooser c = KeyChooser.zipf(1000, 0.99);
    assertEquals(0, c.rank(0.0));
    assertEquals(999, c.rank(0.999999999));
  }
}
