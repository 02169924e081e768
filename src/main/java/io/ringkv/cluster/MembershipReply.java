package io.ringkv.cluster;

/** The controller's answer to a worker's registration, heartbeat or leave. */
public sealed interface MembershipReply {
  /** The controller's wall clock is not known (an answer that does not carry it). */
  long NO_CLOCK = -1;

  /**
   * Registered, or left: the view the worker is to adopt, and the controller's wall clock when it
   * answered ({@link #NO_CLOCK} when not known), against which a worker checks its own. {@code
   * rejoinEmpty}: the node was DOWN for longer than TOMBSTONE_TTL, so the others may have purged
   * deletes it never saw: it must drop its data and come back as a new, empty node.
   */
  record Accepted(ClusterView view, long controllerMillis, boolean rejoinEmpty) implements MembershipReply {
    public Accepted(ClusterView view) {
      this(view, NO_CLOCK, false);
    }
  }

  /**
   * A heartbeat was taken; the controller is at {@code epoch}, its wall clock at {@code controllerMillis}.
   * {@code settledEverywhere}: the oldest epoch that every UP worker has settled (its rebalance to it
   * done): a worker that joined at an epoch up to it has received its data.
   */
  record Alive(long epoch, long controllerMillis, long settledEverywhere) implements MembershipReply {}

  /** The controller does not know this node (it restarted since): register again. */
  record UnknownNode(String detail) implements MembershipReply {}

  /** The node id belongs to another live process, or to another address. */
  record Conflict(String detail) implements MembershipReply {}
}
