package io.ringkv.worker;

import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Quorum arithmetic as a value: {@code needed} acknowledgements out of {@code total} replicas. It
 * fails as soon as the replicas still outstanding can no longer reach {@code needed} (BookKeeper's
 * AckSet), rather than waiting for the deadline.
 */
public record QuorumCount(int needed, int total, Set<String> acks, Set<String> failed) {
  public QuorumCount {
    if (needed < 1) throw new IllegalArgumentException("a quorum needs at least one ack");
    acks = Set.copyOf(acks);
    failed = Set.copyOf(failed);
  }

  public static QuorumCount of(int needed, int total) {
    return new QuorumCount(needed, total, Set.of(), Set.of());
  }

  /** An ack from {@code node}; a node that already answered is not counted twice. */
  public QuorumCount ack(String node) {
    if (acks.contains(node) || failed.contains(node)) return this;
    Set<String> next = new LinkedHashSet<>(acks);
    next.add(node);
    return new QuorumCount(needed, total, next, failed);
  }

  /** A failure (error, refusal or silence) from {@code node}. */
  public QuorumCount fail(String node) {
    if (acks.contains(node) || failed.contains(node)) return this;
    Set<String> next = new LinkedHashSet<>(failed);
    next.add(node);
    return new QuorumCount(needed, total, acks, next);
  }

  public boolean reached() {
    return acks.size() >= needed;
  }

  /** True when even if every outstanding replica acked, the quorum could not be reached. */
  public boolean impossible() {
    return total - failed.size() < needed;
  }

  /** Every replica has answered, one way or the other. */
  public boolean complete() {
    return acks.size() + failed.size() >= total;
  }
}
