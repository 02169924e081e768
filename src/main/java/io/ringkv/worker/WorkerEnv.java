package io.ringkv.worker;

import io.ringkv.cluster.Member;
import io.ringkv.config.NodeSettings;
import io.ringkv.net.Peers;
import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.HybridClock;
import io.ringkv.storage.Versioned;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What a worker's actors share: its id, its store shards, its clock, its way to reach other nodes,
 * what it found in its data directory, and whether it serves replica reads yet ({@code servesReads}: written by the {@link Worker} only,
 * once, when this process has received its data; read by the replica-read service and the reads).
 */
public record WorkerEnv(NodeSettings settings, Shards shards, Peers peers, HybridClock clock, LocalData data,
    AtomicBoolean servesReads) {
  /** A worker without a data directory. */
  public WorkerEnv(NodeSettings settings, Shards shards, Peers peers, HybridClock clock) {
    this(settings, shards, peers, clock, LocalData.inMemory(0), new AtomicBoolean());
  }

  public WorkerEnv(NodeSettings settings, Shards shards, Peers peers, HybridClock clock, LocalData data) {
    this(settings, shards, peers, clock, data, new AtomicBoolean());
  }

  public String self() {
    return settings.nodeId();
  }

  /** Offers one replica to an owner: this node's own store shard, or a peer over the link. */
  CompletionStage<Applied> offer(Member to, Entry entry) {
    if (to.id().equals(self())) {
      // no timeout here: the quorum that asks has its own deadline
      return Store.apply(shards.forKey(entry.key()), List.of(entry)).thenApply(outcomes -> outcomes.get(0));
    }
    return peers.replicate(to, List.of(entry)).thenApply(applied -> applied.get(0));
  }

  /** An owner's own copy of a key, tombstone included: this node's store shard, or a peer's. */
  CompletionStage<Optional<Versioned>> copy(Member from, String key) {
    if (from.id().equals(self())) {
      return Store.read(shards.forKey(key), key);
    }
    return peers.fetch(from, key);
  }
}
