package io.ringkv.cluster;

/** The controller's answer to a worker's registration, heartbeat or leave. */
public sealed interface MembershipReply {
  /** Registered, or left: the view the worker is to adopt. */
  record Accepted(ClusterView view) implements MembershipReply {}

  /** A heartbeat was taken; the controller is at {@code epoch}. */
  record Alive(long epoch) implements MembershipReply {}

  /** The controller does not know this node (it restarted since): register again. */
  record UnknownNode(String detail) implements MembershipReply {}

  /** The node id belongs to another live process, or to another address. */
  record Conflict(String detail) implements MembershipReply {}
}
