package io.ringkv.net;

import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Versioned;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * Every call one node makes to another. Over HTTP in the pods ({@link HttpPeers}); over direct
 * calls with injectable drops, delays and partitions in the simulations, so the same worker and
 * controller logic runs in both. A call that cannot complete fails its stage (with a
 * {@link PeerException} when the other side answered with an error status).
 */
public interface Peers {
  // ---- worker -> worker

  /** Applies replicas on {@code to} (each only if newer there); completes with how many entries {@code to} took. */
  CompletionStage<Integer> replicate(Member to, List<Entry> entries);

  /**
   * A rebalance's batch for a new owner: {@link #replicate}, under the deadline for bulk work
   * ({@code REBALANCE_PUSH_TIMEOUT}) rather than the client path's.
   */
  default CompletionStage<Integer> push(Member to, List<Entry> entries) {
    return replicate(to, entries);
  }

  /** Reads {@code to}'s own copy of the key, tombstone included. */
  CompletionStage<Optional<Versioned>> fetch(Member to, String key);

  /** Hands a client write (value null = delete) to the key's primary, which coordinates it. */
  CompletionStage<WriteResult> forward(Member to, String key, String value);

  // ---- worker -> controller

  CompletionStage<ClusterView> register(Registration registration);

  /** Completes with the controller's epoch; fails with status 404 when the controller does not know the node. */
  CompletionStage<Long> heartbeat(Heartbeat heartbeat);

  CompletionStage<ClusterView> fetchView();

  /** Tells the controller this worker is shutting down; completes with the view in which it is DOWN. */
  CompletionStage<ClusterView> leave(String nodeId, String instance);

  // ---- controller -> worker

  /** Pushes a new membership view to a worker ({@code POST /node_down}). */
  CompletionStage<Long> pushView(Member to, ClusterView view);

  /** What a worker tells the controller when it (re)registers: its address and last known view. */
  record Registration(String nodeId, String host, int port, String instance, ClusterView lastView) {}

  record Heartbeat(String nodeId, String instance, long epoch) {}

  /** The outcome of a coordinated write, as the coordinator reports it. */
  record WriteResult(boolean ok, List<String> ackedBy, String version, int status, String detail) {
    public static WriteResult ok(List<String> ackedBy, String version) {
      return new WriteResult(true, List.copyOf(ackedBy), version, 200, null);
    }

    public static WriteResult failed(int status, List<String> ackedBy, String detail) {
      return new WriteResult(false, List.copyOf(ackedBy), null, status, detail);
    }
  }
}
