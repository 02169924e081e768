package io.ringkv.net;

import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.cluster.MembershipReply;
import java.util.concurrent.CompletionStage;

/**
 * Membership calls between the controller and the workers: over HTTP in the pods
 * ({@link ControlPlaneClient}), direct calls in the simulations. A call that gets no answer fails its
 * stage; an answer, even a refusal, completes it with a {@link MembershipReply}.
 */
public interface ControlPlane {
  // ---- worker -> controller

  /** Answers {@link MembershipReply.Accepted} with the view, or {@link MembershipReply.Conflict}. */
  CompletionStage<MembershipReply> register(Registration registration);

  /** Answers {@link MembershipReply.Alive}, {@link MembershipReply.UnknownNode} or {@link MembershipReply.Conflict}. */
  CompletionStage<MembershipReply> heartbeat(Heartbeat heartbeat);

  CompletionStage<ClusterView> fetchView();

  /** Tells the controller this worker is shutting down; accepted with the view in which it is DOWN. */
  CompletionStage<MembershipReply> leave(String nodeId, String instance);

  // ---- controller -> worker

  /**
   * Tells a worker the view changed ({@code POST /node_down}, carrying the view for the seed's
   * surface); the worker fetches the view from the controller rather than adopt what it was sent.
   */
  CompletionStage<Void> pushView(Member to, ClusterView view);

  /** What a worker tells the controller when it (re)registers: its address and last known view. */
  record Registration(String nodeId, String host, int port, String instance, ClusterView lastView) {}

  /** {@code settled}: the newest epoch whose data this worker has fully brought in line (its rebalance done). */
  record Heartbeat(String nodeId, String instance, long epoch, long settled) {
    public Heartbeat(String nodeId, String instance, long epoch) {
      this(nodeId, instance, epoch, 0);
    }
  }
}
