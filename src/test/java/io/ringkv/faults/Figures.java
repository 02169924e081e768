package io.ringkv.faults;

import io.ringkv.check.Report;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;

/** The figures of the fault suite: one row per schedule run, printed as a Markdown table. */
final class Figures {
  private Figures() {}

  /**
   * One schedule's figures.
   *
   * @param schedule        what was done, to which node
   * @param readQuorum      READ_QUORUM of the workers
   * @param report          the checker's report
   * @param errorsHealthy   failed or unanswered ops sent to workers other than the faulted one
   * @param timeToDown      kill/stop/cut until the controller showed DOWN ("–" when not applicable)
   * @param timeTo3Copies   until every key was back at 3 copies on UP workers, and from when
   * @param falseDowns      DOWNs nobody asked for (the short pause; "–" elsewhere)
   * @param ctrlErrors      client errors while the controller was down and coming back ("–" elsewhere)
   * @param seconds         how long the schedule ran, settling included
   */
  record Row(String schedule, int readQuorum, Report report, long errorsHealthy, String timeToDown,
      String timeTo3Copies, String falseDowns, String ctrlErrors, long divergence, String timeToAgree, double seconds) {}

  static final String LEGEND = """
      Columns. *R*: READ_QUORUM of the workers. *ops attempted*: client PUT/GET/DELETE plus the initial write of \
      each key, steady load before, during and after the fault (%s, a random worker per op, no retries, 3 s \
      client timeout). *failed*: answered with an error status, or no answer within 3 s; it \
      includes the requests sent to the faulted worker while it was dead, stopped or cut off. *errors via healthy \
      workers*: the failed ops sent to any other worker. *acked writes lost*: judged by real time, not by the \
      system's versions: an acknowledged PUT or DELETE that a read made after everything settled may not return, \
      through any worker or from any read quorum of the key's owners' own copies (read without repair), although \
      no write followed it in real time. *versions \
      backwards*: a node's copy of a key going to an older version within one process incarnation (sampled \
      every 200 ms for 6 keys, and for every key at the end). *time to DOWN*: from kill/SIGSTOP/link down until \
      the controller's /nodes showed DOWN (polled every 50 ms). *time until 3 copies*: until the controller showed \
      the expected workers UP, each done rebalancing at its epoch, and every key on at least 3 of them (polled; \
      one poll takes a few hundred ms under load). *false DOWNs*: DOWNs no fault called for (a jump of the \
      epoch counts). *client errors, controller restart*: failed ops among those sent from the controller's kill \
      until 1 s after all workers were UP again at the restarted controller. *stale reads*: GETs that returned a \
      write (or "not found") that an acknowledged write had replaced in real time before the GET was sent; a \
      failure when R + W > N. The checker also fails a run on a value read at another version than its write \
      was acknowledged with, and on a value no client wrote. *keys short of 3 newest copies*: keys \
      whose newest acknowledged version is on fewer than 3 workers once the load stopped and the cluster settled.       *divergence*: pairs of a key's owners whose own copies (read without repair) still differ 3 anti-entropy       intervals (ANTI_ENTROPY_INTERVAL=2s here) after the cluster settled; any is a failure. *time until replicas       agree*: from the settled cluster until no pair differed (polled).
      """;

  static String failed(Report r) {
    List<String> parts = new ArrayList<>();
    for (Map.Entry<Integer, Long> e : r.failedByStatus().entrySet()) parts.add(e.getValue() + "×" + e.getKey());
    if (r.indeterminate() > 0) parts.add(r.indeterminate() + "×no answer");
    return parts.isEmpty() ? "0" : String.join(", ", parts);
  }

  static String markdown(List<Row> rows, String layout, String scale, String load, String extra) {
    StringBuilder b = new StringBuilder();
    b.append("### ringkv fault-injection figures (scale ").append(scale).append(")\n\n");
    b.append("Nodes: a controller and 4 workers, each `java -jar ringkv.jar` in its own process; ").append(layout)
        .append(". N=3, W=2, heartbeat timeout 1.8 s (default).\n\n");
    b.append("| schedule | R | ops attempted | writes acked | reads answered | failed (count×status) | errors via healthy workers "
        + "| acked writes lost | versions backwards | time to DOWN | time until 3 copies | false DOWNs | client errors, controller restart "
        + "| stale reads | keys short of 3 newest copies at end | divergence | time until replicas agree |\n");
    b.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (Row row : rows) {
      Report r = row.report();
      StringJoiner j = new StringJoiner(" | ", "| ", " |\n");
      j.add(row.schedule());
      j.add(String.valueOf(row.readQuorum()));
      j.add(String.valueOf(r.attempted()));
      j.add(String.valueOf(r.ackedWrites()));
      j.add(String.valueOf(r.definiteReads()));
      j.add(failed(r));
      j.add(String.valueOf(row.errorsHealthy()));
      j.add("**" + r.lostWrites() + "**");
      j.add(String.valueOf(r.backwardsCount()));
      j.add(row.timeToDown());
      j.add(row.timeTo3Copies());
      j.add(row.falseDowns());
      j.add(row.ctrlErrors());
      j.add(String.valueOf(r.staleReads()));
      j.add(String.valueOf(r.keysBelowN()));
      j.add("**" + row.divergence() + "**");
      j.add(row.timeToAgree());
      b.append(j);
    }
    b.append("\n").append(String.format(java.util.Locale.ROOT, LEGEND, load)).append("\n").append(extra);
    return b.toString();
  }

  static String secs(long nanos) {
    return String.format(java.util.Locale.ROOT, "%.2f s", nanos / 1e9);
  }
}
