package io.ringkv.worker;

import io.ringkv.config.NodeSettings;
import io.ringkv.net.Peers;
import io.ringkv.storage.HybridClock;

/** What a worker's actors share: its id, its store shards, its clock and its way to reach other nodes. */
public record WorkerEnv(NodeSettings settings, Shards shards, Peers peers, HybridClock clock) {
  public String self() {
    return settings.nodeId();
  }
}
