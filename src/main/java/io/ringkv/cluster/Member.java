package io.ringkv.cluster;

/**
 * One node of the cluster as the membership view knows it. {@code instance} identifies the running
 * process: a node that restarts under the same id comes back with a new instance (with the data of
 * its data directory, which may have missed writes, or none in memory mode), which the rebalancer
 * treats as a new owner: the other owners push it everything it owns.
 */
public record Member(String id, String host, int port, Status status, String instance) {
  public enum Status { UP, DOWN }

  public boolean isUp() {
    return status == Status.UP;
  }

  public Member withStatus(Status s) {
    return new Member(id, host, port, s, instance);
  }

  public boolean sameAddress(String h, int p) {
    return host.equals(h) && port == p;
  }

  /** The node's base URL, e.g. {@code http://10.0.0.7:8001}. */
  public String url() {
    String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
    return "http://" + h + ":" + port;
  }
}
