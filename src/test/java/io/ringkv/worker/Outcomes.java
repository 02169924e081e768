package io.ringkv.worker;

import io.ringkv.net.WriteOutcome;
import io.ringkv.storage.Versioned;
import java.util.Optional;

/** Reading outcomes in tests: as the HTTP routes map them (an acknowledged write 200, a failure 503). */
public final class Outcomes {
  private Outcomes() {}

  public static boolean ok(WriteOutcome o) {
    return o instanceof WriteOutcome.Acked;
  }

  public static int status(WriteOutcome o) {
    return ok(o) ? 200 : 503;
  }

  /** The acknowledged version's text form, or null. */
  public static String version(WriteOutcome o) {
    return o instanceof WriteOutcome.Acked a ? a.version().toString() : null;
  }

  public static String detail(WriteOutcome o) {
    if (o instanceof WriteOutcome.Superseded s) return s.detail();
    if (o instanceof WriteOutcome.NotReached n) return n.detail();
    if (o instanceof WriteOutcome.NoView n) return n.detail();
    if (o instanceof WriteOutcome.Expired x) return x.detail();
    return "acknowledged at " + version(o);
  }

  public static boolean ok(ReadOutcome o) {
    return o instanceof ReadOutcome.Answered;
  }

  /** 200 for a live value, 404 for none, 503 for a failed read. */
  public static int status(ReadOutcome o) {
    return o instanceof ReadOutcome.Answered a ? (a.found() ? 200 : 404) : 503;
  }

  public static Optional<Versioned> newest(ReadOutcome o) {
    return o instanceof ReadOutcome.Answered a ? a.newest() : Optional.empty();
  }

  public static java.util.List<String> answeredBy(ReadOutcome o) {
    if (o instanceof ReadOutcome.Answered a) return a.answeredBy();
    if (o instanceof ReadOutcome.NotReached n) return n.answeredBy();
    return java.util.List.of();
  }

  public static boolean found(ReadOutcome o) {
    return status(o) == 200;
  }

  public static String detail(ReadOutcome o) {
    if (o instanceof ReadOutcome.NotReached n) return n.detail();
    if (o instanceof ReadOutcome.NoView n) return n.detail();
    return "answered by " + ((ReadOutcome.Answered) o).answeredBy();
  }
}
