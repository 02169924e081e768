package io.ringkv.check;

import java.util.List;
import java.util.SortedMap;

/**
 * What {@link HistoryChecker} found. {@link #ok()} = no acknowledged write lost and no version going
 * backwards on a node; stale reads are a figure, not a failure (a read quorum of 1 may see them).
 * The detail lists keep the first {@link HistoryChecker#MAX_DETAILS} findings of each kind; the
 * counts are complete.
 *
 * @param attempted         every op recorded
 * @param puts              PUTs attempted
 * @param deletes           DELETEs attempted
 * @param gets              GETs attempted
 * @param ackedWrites       PUTs and DELETEs answered 200
 * @param definiteReads     GETs answered 200 or 404
 * @param failedByStatus    completed ops with any other status, per status
 * @param indeterminate     ops with no answer (status -1) or still pending
 * @param lostPuts          acked PUTs whose value (or a newer version) is not readable from every worker
 * @param resurrectedDeletes acked DELETEs whose key reads back, from some worker, with an older version
 * @param lost              one line per lost write (PUT or DELETE)
 * @param backwardsCount    times a node's copy of a key went to an older version within one incarnation
 * @param backwards         one line per such step
 * @param staleReads        definite GETs that returned a version older than a write acked before they were sent
 * @param stale             one line per stale read
 * @param n                 the copies each key should have (the replication factor)
 * @param keysBelowN        keys whose newest acked version (or a newer one) is, by each node's last
 *                          sample, on fewer than {@code n} nodes; meaningful when the harness samples
 *                          every node after the cluster settled (0 when nothing was sampled)
 * @param finalReads        reads made through {@link FinalState}
 */
public record Report(long attempted, long puts, long deletes, long gets, long ackedWrites, long definiteReads,
    SortedMap<Integer, Long> failedByStatus, long indeterminate,
    long lostPuts, long resurrectedDeletes, List<String> lost,
    long backwardsCount, List<String> backwards,
    long staleReads, List<String> stale,
    int n, long keysBelowN, long finalReads) {

  /** Acknowledged writes lost: PUTs lost plus DELETEs undone. */
  public long lostWrites() {
    return lostPuts + resurrectedDeletes;
  }

  public long failed() {
    return failedByStatus.values().stream().mapToLong(Long::longValue).sum();
  }

  /** Zero acknowledged writes lost and zero versions gone backwards. */
  public boolean ok() {
    return lostWrites() == 0 && backwardsCount == 0;
  }

  /** The findings, one per line, for an assertion message. */
  public String details() {
    StringBuilder b = new StringBuilder(toString());
    for (String s : lost) b.append("\n  LOST ").append(s);
    for (String s : backwards) b.append("\n  BACKWARDS ").append(s);
    for (String s : stale) b.append("\n  STALE ").append(s);
    return b.toString();
  }

  @Override
  public String toString() {
    return "ops=" + attempted + " (put=" + puts + " delete=" + deletes + " get=" + gets + ")"
        + " acked=" + ackedWrites + " reads=" + definiteReads + " failed=" + failedByStatus
        + " indeterminate=" + indeterminate + " lost=" + lostWrites()
        + " (puts=" + lostPuts + " resurrected=" + resurrectedDeletes + ")"
        + " backwards=" + backwardsCount + " staleReads=" + staleReads
        + " keysBelow" + n + "=" + keysBelowN + " finalReads=" + finalReads;
  }
}
