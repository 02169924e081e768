package io.ringkv.check;

/**
 * The replication settings a history ran under: each key has {@code n} copies, a write is
 * acknowledged once {@code w} of them hold it, and a read asks {@code r} of them.
 *
 * @param n the replication factor
 * @param w the write quorum
 * @param r the read quorum
 */
public record Quorum(int n, int w, int r) {
  public Quorum {
    if (n < 1 || w < 1 || r < 1 || w > n || r > n) throw new IllegalArgumentException("bad quorum N=" + n + " W=" + w + " R=" + r);
  }

  /**
   * R + W &gt; N: every read quorum shares a copy with every write quorum, so a read must see every
   * write acknowledged before it was sent. Otherwise (R + W &le; N) a read may miss one: stale reads
   * are then a figure, not a failure.
   */
  public boolean overlapping() {
    return r + w > n;
  }

  @Override
  public String toString() {
    return "N=" + n + " W=" + w + " R=" + r;
  }
}
