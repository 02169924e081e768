package io.ringkv.storage;

import io.ringkv.ring.HashRing;

/**
 * TicTac hash trees of one store's entries, one tree per ring range, as in Riak's TicTac active
 * anti-entropy: a leaf is the XOR of {@link #entryHash} over the entries that fall in it, so a write
 * XORs the old version out and the new one in, and no exchange ever needs a rebuild scan. Plain
 * Java, not thread-safe: the store that owns the entries updates it; only {@link #segmentOf} and
 * {@link #rangeOf} (which read the immutable tokens) may be called from other threads.
 *
 * <p>A range is the stretch of the ring that ends at one token of the view's ring (see {@link
 * HashRing#tokens}): every key in it has the same owners, so the owners of a range can compare their
 * trees of it. Each tree has {@link #BRANCHES} branches of {@link #LEAVES_PER_BRANCH} leaves; a
 * segment is one leaf of one range ({@code range * LEAVES + leaf}). Leaves are allocated when a
 * range gets its first entry: a node holds entries in the ranges it owns only.
 */
public final class RangeTrees {
  public static final int BRANCHES = 16;
  public static final int LEAVES_PER_BRANCH = 32;
  public static final int LEAVES = BRANCHES * LEAVES_PER_BRANCH;
  private static final int LEAF_BITS = 9;
  /** Levels of the tree an exchange asks for: roots, branches of a range, leaves of a branch. */
  public static final int ROOTS = 0;
  public static final int BRANCHES_OF_RANGE = 1;
  public static final int LEAVES_OF_BRANCH = 2;

  /** The trees of no ring (a store before its first view): nothing is tracked. */
  public static final RangeTrees NONE = new RangeTrees(-1, new long[0]);

  private final long epoch;
  private final long[] tokens;
  private final long[][] leaves;
  private final long[] roots;

  /** Empty trees for the ranges of a ring with these sorted {@code tokens}, made for view {@code epoch}. */
  public RangeTrees(long epoch, long[] tokens) {
    this.epoch = epoch;
    this.tokens = tokens.clone();
    this.leaves = new long[tokens.length][];
    this.roots = new long[tokens.length];
  }

  /** Empty trees of the same ranges. */
  public RangeTrees emptyCopy() {
    return isNone() ? this : new RangeTrees(epoch, tokens);
  }

  /** The epoch of the view whose ring cut the ranges (-1 for {@link #NONE}). */
  public long epoch() {
    return epoch;
  }

  public int ranges() {
    return tokens.length;
  }

  public boolean isNone() {
    return tokens.length == 0;
  }

  /** The range of a key whose ring hash is {@code keyHash}. */
  public int rangeOf(long keyHash) {
    return HashRing.firstAtOrAfter(tokens, keyHash);
  }

  /** The segment (range and leaf) of a key whose ring hash is {@code keyHash}. */
  public int segmentOf(long keyHash) {
    return rangeOf(keyHash) * LEAVES + leafOf(keyHash);
  }

  /** The leaf of a key within its range: from all the hash's bits (its top bits barely vary inside one range). */
  static int leafOf(long keyHash) {
    return (int) (HashRing.fmix64(keyHash ^ 0x5851f42d4c957f2dL) >>> (64 - LEAF_BITS));
  }

  /** One entry's share of its leaf: a hash of the key and the version (a version is one write: it fixes the value). */
  public static long entryHash(long keyHash, long timestamp, String node) {
    return HashRing.fmix64(keyHash ^ HashRing.fmix64(timestamp ^ (node.hashCode() * 0x9e3779b97f4a7c15L)));
  }

  /** XORs an entry in (a version the store now holds) or out (one it no longer holds): the same call both ways. */
  public void toggle(long keyHash, long timestamp, String node) {
    if (tokens.length == 0) return;
    int r = rangeOf(keyHash);
    long h = entryHash(keyHash, timestamp, node);
    long[] l = leaves[r];
    if (l == null) l = leaves[r] = new long[LEAVES];
    l[leafOf(keyHash)] ^= h;
    roots[r] ^= h;
  }

  /** How many values {@link #values} gives per id at {@code level}. */
  public static int width(int level) {
    return switch (level) {
      case ROOTS -> 1;
      case BRANCHES_OF_RANGE -> BRANCHES;
      case LEAVES_OF_BRANCH -> LEAVES_PER_BRANCH;
      default -> throw new IllegalArgumentException("no tree level " + level);
    };
  }

  /** The highest id {@link #values} takes at {@code level}, plus one. */
  public int ids(int level) {
    return level == LEAVES_OF_BRANCH ? tokens.length * BRANCHES : tokens.length;
  }

  /**
   * The tree's nodes at {@code level} for each id, {@link #width} values per id, in order: {@link
   * #ROOTS} (id: a range), {@link #BRANCHES_OF_RANGE} (id: a range) or {@link #LEAVES_OF_BRANCH} (id:
   * {@code range * BRANCHES + branch}). Throws IllegalArgumentException for an id out of bounds.
   */
  public long[] values(int level, int[] ids) {
    int w = width(level);
    long[] out = new long[ids.length * w];
    for (int i = 0; i < ids.length; i++) {
      int id = ids[i];
      if (id < 0 || id >= ids(level)) throw new IllegalArgumentException("tree id " + id + " out of bounds at level " + level);
      if (level == ROOTS) {
        out[i] = roots[id];
      } else if (level == BRANCHES_OF_RANGE) {
        long[] l = leaves[id];
        if (l == null) continue;
        for (int b = 0; b < BRANCHES; b++) {
          long x = 0;
          for (int j = b * LEAVES_PER_BRANCH; j < (b + 1) * LEAVES_PER_BRANCH; j++) x ^= l[j];
          out[i * w + b] = x;
        }
      } else {
        long[] l = leaves[id / BRANCHES];
        if (l != null) System.arraycopy(l, (id % BRANCHES) * LEAVES_PER_BRANCH, out, i * w, LEAVES_PER_BRANCH);
      }
    }
    return out;
  }

}
