package io.ringkv.bench;

import java.util.random.RandomGenerator;

/**
 * Picks key indexes in {@code [0, n)}: uniformly, or Zipf-distributed (YCSB's generator, theta 0.99
 * by default) with the ranks scrambled so that the hot keys spread over the ring instead of
 * being neighbours. Pure and thread-safe; the caller brings its own random source.
 */
public final class KeyChooser {
  private final int n;
  private final double theta;
  private final double zetan;
  private final double alpha;
  private final double eta;
  private final double half;

  private KeyChooser(int n, double theta) {
    if (n < 1) throw new IllegalArgumentException("need at least one key");
    this.n = n;
    this.theta = theta;
    if (theta <= 0) {
      zetan = alpha = eta = half = 0;
      return;
    }
    double z = 0;
    for (int i = 1; i <= n; i++) z += 1 / Math.pow(i, theta);
    zetan = z;
    double zeta2 = 1 + Math.pow(0.5, theta);
    alpha = 1 / (1 - theta);
    eta = (1 - Math.pow(2.0 / n, 1 - theta)) / (1 - zeta2 / zetan);
    half = 1 + Math.pow(0.5, theta);
  }

  public static KeyChooser uniform(int n) {
    return new KeyChooser(n, 0);
  }

  /** Zipf over {@code n} keys; {@code theta} in (0, 1), 0.99 is YCSB's default. */
  public static KeyChooser zipf(int n, double theta) {
    if (theta <= 0 || theta >= 1) throw new IllegalArgumentException("zipf theta must be in (0, 1)");
    return new KeyChooser(n, theta);
  }

  public int next(RandomGenerator rnd) {
    if (theta == 0) return rnd.nextInt(n);
    return scramble(rank(rnd.nextDouble()));
  }

  /** The popularity rank (0 = hottest) for a uniform draw {@code u} in [0, 1). */
  long rank(double u) {
    double uz = u * zetan;
    if (uz < 1) return 0;
    if (uz < half) return 1;
    return Math.min(n - 1, (long) (n * Math.pow(eta * u - eta + 1, alpha)));
  }

  private int scramble(long rank) {
    long h = rank * 0x9e3779b97f4a7c15L + 0x632be59bd9b4e019L;
    h ^= h >>> 32;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 29;
    return (int) Math.floorMod(h, (long) n);
  }
}
