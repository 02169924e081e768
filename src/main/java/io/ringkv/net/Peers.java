package io.ringkv.net;

import io.ringkv.cluster.Member;
import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.KeyVersion;
import io.ringkv.storage.Versioned;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Every call one worker makes to another on the data path. Over the node-to-node link in the pods
 * ({@link PeerLinks}); over direct calls with injectable drops, delays and partitions in the
 * simulations, so the same worker logic runs in both. A call that cannot complete (no connection,
 * no answer in time, an answer the other side could not serve) fails its stage.
 */
public interface Peers {
  /** Offers replicas to {@code to}; completes with what {@code to} did with each, in order. */
  CompletionStage<List<Applied>> replicate(Member to, List<Entry> entries);

  /**
   * A rebalance's batch for a new owner: {@link #replicate}, under the deadline for bulk work
   * ({@code REBALANCE_PUSH_TIMEOUT}) rather than the client path's.
   */
  default CompletionStage<List<Applied>> push(Member to, List<Entry> entries) {
    return replicate(to, entries);
  }

  /** Reads {@code to}'s own copy of the key, tombstone included. */
  CompletionStage<Optional<Versioned>> fetch(Member to, String key);

  /** Hands a client write to the key's primary, which coordinates it. */
  CompletionStage<WriteOutcome> forward(Member to, Forwarded write);

  /** Reads {@code to}'s own copies of several keys in one call (anti-entropy's repairs), in order. */
  CompletionStage<List<Optional<Versioned>>> copies(Member to, List<String> keys);

  /** Anti-entropy: {@code to}'s hash tree nodes ({@link PeerService#tree}). */
  CompletionStage<long[]> tree(Member to, Frames.TreeQuery query);

  /** Anti-entropy: the keys and versions {@code to} holds in some segments ({@link PeerService#keyVersions}). */
  CompletionStage<List<KeyVersion>> keyVersions(Member to, Frames.SegmentQuery query);
}
