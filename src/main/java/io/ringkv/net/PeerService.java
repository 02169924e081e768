package io.ringkv.net;

import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.KeyVersion;
import io.ringkv.storage.Versioned;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * What a worker serves to the other workers, on domain types: the node-to-node link
 * ({@link LinkServer}) and the HTTP {@code POST /replicate} are two thin adapters over it. Input
 * that breaks the limits (key or value size, empty key) fails with a {@link Wire.BadInput}, thrown
 * before anything is applied.
 */
public interface PeerService {
  /** Offers each replica to this worker's store; completes with what happened to each, in order. */
  CompletionStage<List<Applied>> replicate(List<Entry> entries);

  /** This worker's own copies of the keys, tombstones included, in the order asked. */
  CompletionStage<List<Optional<Versioned>>> copies(List<String> keys);

  /** Coordinates client writes forwarded to this worker as their keys' primary; outcomes in order. */
  CompletionStage<List<WriteOutcome>> coordinate(List<Forwarded> writes);

  /**
   * Anti-entropy: this worker's hash tree nodes (see {@code RangeTrees}); fails unless its trees are
   * cut by the ring of the asked epoch.
   */
  CompletionStage<long[]> tree(Frames.TreeQuery query);

  /** Anti-entropy: the keys and versions this worker holds in the asked segments, tombstones included. */
  CompletionStage<List<KeyVersion>> keyVersions(Frames.SegmentQuery query);
}
