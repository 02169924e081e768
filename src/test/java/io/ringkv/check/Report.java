package io.ringkv.check;

import java.util.List;
import java.util.SortedMap;

/**
 * What {@link HistoryChecker} found (see there for the rules). {@link #ok()} = no acknowledged write
 * lost, no phantom, no value at a version other than its write's, no version going backwards on a
 * node, and, when the read and write quorums overlap (R + W &gt; N), no stale read. With R + W &le; N
 * stale reads (during the run, and read quorums of the final replicas that miss the last write) are
 * a figure. The detail lists keep the first {@link HistoryChecker#MAX_DETAILS} findings of each kind;
 * the counts are complete.
 *
 * @param attempted          every op recorded
 * @param puts               PUTs attempted
 * @param deletes            DELETEs attempted
 * @param gets               GETs attempted
 * @param ackedWrites        PUTs and DELETEs answered 200
 * @param definiteReads      GETs answered 200 or 404
 * @param failedByStatus     completed ops with any other status, per status
 * @param indeterminate      ops with no answer (status -1) or still pending
 * @param lostPuts           acknowledged PUTs hidden at the end: some read quorum of the key's final
 *                           replicas (every R-subset when R + W &gt; N, else all N owners), or a final
 *                           read through some worker, returns a copy this PUT superseded in real time
 * @param resurrectedDeletes acknowledged DELETEs hidden the same way (the key reads back as a value
 *                           written before the DELETE)
 * @param lost               one line per final copy that hides acknowledged writes
 * @param backwardsCount     times a node's copy of a key went to an older version within one incarnation
 * @param backwards          one line per such step
 * @param staleReads         definite GETs during the run that returned a value (or "not found") every
 *                           write of which was superseded, in real time, before the GET was sent
 * @param stale              one line per stale read
 * @param phantomCount       values (or tombstones) read or held that no operation wrote, or that were
 *                           read before any operation writing them had been sent
 * @param phantoms           one line per phantom
 * @param wrongVersionCount  values (or tombstones) read or held at a version other than the one their
 *                           write was acknowledged with (or, for a write not acknowledged, at more
 *                           versions than there were such writes)
 * @param wrongVersions      one line per such finding
 * @param staleFinalCount    with R + W &le; N only: final read quorums (R-subsets of the owners, or final
 *                           reads through a worker) that return a superseded copy while all N owners
 *                           together still return a legal one (a figure)
 * @param staleFinal         one line per such final read
 * @param quorum             N, W and R of the run
 * @param keysBelowN         keys whose newest acked version (or a newer one) is, by each node's last
 *                           sample, on fewer than N nodes; meaningful when the harness samples
 *                           every node after the cluster settled (0 when nothing was sampled)
 * @param finalReads         quorum reads made through {@link FinalState#read}
 * @param finalCopies        owners' own copies read through {@link FinalState#copy}
 * @param repeatedValues     PUTs of a value an earlier PUT of the same key already wrote: the harness
 *                           should make values unique (each repetition makes the checks weaker)
 */
public record Report(long attempted, long puts, long deletes, long gets, long ackedWrites, long definiteReads,
    SortedMap<Integer, Long> failedByStatus, long indeterminate,
    long lostPuts, long resurrectedDeletes, List<String> lost,
    long backwardsCount, List<String> backwards,
    long staleReads, List<String> stale,
    long phantomCount, List<String> phantoms,
    long wrongVersionCount, List<String> wrongVersions,
    long staleFinalCount, List<String> staleFinal,
    Quorum quorum, long keysBelowN, long finalReads, long finalCopies, long repeatedValues) {

  /** Acknowledged writes lost: PUTs lost plus DELETEs undone. */
  public long lostWrites() {
    return lostPuts + resurrectedDeletes;
  }


  public long failed() {
    return failedByStatus.values().stream().mapToLong(Long::longValue).sum();
  }

  /** Whether the stale reads count against {@link #ok()}: the read and write quorums overlap. */
  public boolean staleReadsFail() {
    return quorum.overlapping();
  }

  /**
   * Zero acknowledged writes lost, zero phantoms, zero values at a wrong version, zero versions gone
   * backwards, and, when R + W &gt; N, zero stale reads.
   */
  public boolean ok() {
    return lostWrites() == 0 && backwardsCount == 0 && phantomCount == 0 && wrongVersionCount == 0
        && (!staleReadsFail() || staleReads == 0);
  }

  /** The findings, one per line, for an assertion message. */
  public String details() {
    StringBuilder b = new StringBuilder(toString());
    for (String s : lost) b.append("\n  LOST ").append(s);
    for (String s : phantoms) b.append("\n  PHANTOM ").append(s);
    for (String s : wrongVersions) b.append("\n  WRONG VERSION ").append(s);
    for (String s : backwards) b.append("\n  BACKWARDS ").append(s);
    for (String s : stale) b.append(staleReadsFail() ? "\n  STALE " : "\n  stale (a figure) ").append(s);
    for (String s : staleFinal) b.append("\n  stale final read (a figure) ").append(s);
    return b.toString();
  }

  @Override
  public String toString() {
    return "ops=" + attempted + " (put=" + puts + " delete=" + deletes + " get=" + gets + ")"
        + " acked=" + ackedWrites + " reads=" + definiteReads + " failed=" + failedByStatus
        + " indeterminate=" + indeterminate + " lost=" + lostWrites()
        + " (puts=" + lostPuts + " resurrected=" + resurrectedDeletes + ")"
        + " phantoms=" + phantomCount + " wrongVersions=" + wrongVersionCount
        + " backwards=" + backwardsCount + " staleReads=" + staleReads + (staleReadsFail() ? "" : " (a figure)")
        + (staleReadsFail() ? "" : " staleFinalReads=" + staleFinalCount)
        + " " + quorum + " keysBelow" + quorum.n() + "=" + keysBelowN + " finalReads=" + finalReads
        + " finalCopies=" + finalCopies + (repeatedValues == 0 ? "" : " repeatedValues=" + repeatedValues);
  }
}
