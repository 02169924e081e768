package io.ringkv.worker;

/** Where this worker stands with the controller, as its membership link last saw it. */
public record Membership(Phase phase, String detail) {
  public enum Phase { REGISTERING, REGISTERED, REFUSED }

  public static Membership registering() {
    return new Membership(Phase.REGISTERING, null);
  }

  public static Membership registered() {
    return new Membership(Phase.REGISTERED, null);
  }

  /** The controller refused this node id (another process holds it). */
  public static Membership refused(String why) {
    return new Membership(Phase.REFUSED, why);
  }

  /** Still {@code phase}, but the controller did not answer the last call. */
  public static Membership unreachable(Phase phase) {
    return new Membership(phase, "controller unreachable");
  }

  /** Registered, and the controller answered the last heartbeat. */
  public boolean isRegistered() {
    return phase == Phase.REGISTERED && detail == null;
  }

  /** As {@code /status} shows it: "registered", "registering: controller unreachable", "refused: ...". */
  public String describe() {
    String p = phase.name().toLowerCase(java.util.Locale.ROOT);
    return detail == null ? p : p + ": " + detail;
  }
}
