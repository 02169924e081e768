package io.ringkv.faults;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * Polls the controller's {@code /nodes} every 50 ms for the whole of a schedule and keeps what it saw,
 * to time DOWN and UP transitions and to count DOWNs nobody asked for. Polls the controller does not
 * answer (it is being restarted) are skipped.
 */
final class MembershipMonitor implements AutoCloseable {
  static final long PERIOD_MS = 50;

  record Sample(long nanos, ProcessCluster.Nodes nodes) {}

  private final ProcessCluster cluster;
  private final List<Sample> samples = new ArrayList<>();
  private final Thread thread;
  private volatile boolean running = true;

  MembershipMonitor(ProcessCluster cluster) {
    this.cluster = cluster;
    this.thread = new Thread(this::run, "membership-monitor");
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    while (running) {
      long next = System.nanoTime() + PERIOD_MS * 1_000_000;
      ProcessCluster.Nodes n = cluster.nodes(Duration.ofMillis(500));
      if (n != null) {
        synchronized (samples) {
          samples.add(new Sample(System.nanoTime(), n));
        }
      }
      long wait = next - System.nanoTime();
      if (wait > 0) LockSupport.parkNanos(wait);
    }
  }

  private List<Sample> snapshot() {
    synchronized (samples) {
      return List.copyOf(samples);
    }
  }

  /** The first time at or after {@code fromNanos} the controller showed {@code node} as {@code status}, or -1. */
  long firstSeen(String node, String status, long fromNanos) {
    for (Sample s : snapshot()) {
      if (s.nanos() >= fromNanos && status.equals(s.nodes().status().get(node))) return s.nanos();
    }
    return -1;
  }

  /** The first time at or after {@code fromNanos} the controller showed every worker UP, or -1. */
  long firstAllUp(long fromNanos) {
    for (Sample s : snapshot()) {
      if (s.nanos() >= fromNanos && s.nodes().upWorkers().size() == ProcessCluster.WORKERS.size()) return s.nanos();
    }
    return -1;
  }

  /** UP-to-DOWN transitions of any worker seen within [from, to]. */
  int downs(long fromNanos, long toNanos) {
    int all = 0;
    for (String w : ProcessCluster.WORKERS) all += downs(w, fromNanos, toNanos);
    return all;
  }

  /** UP-to-DOWN transitions of {@code worker} seen within [from, to]. */
  int downs(String worker, long fromNanos, long toNanos) {
    int downs = 0;
    ProcessCluster.Nodes prev = null;
    for (Sample s : snapshot()) {
      if (s.nanos() < fromNanos || s.nanos() > toNanos) continue;
      if (prev != null) {
        if (prev.up(worker) && "DOWN".equals(s.nodes().status().get(worker))) downs++;
      }
      prev = s.nodes();
    }
    return downs;
  }

  /**
   * How much the epoch rose within [from, to]: every membership change raises it, so a DOWN too short
   * for the 50 ms polls (DOWN and UP again in between) still shows here.
   */
  long epochRise(long fromNanos, long toNanos) {
    long first = -1;
    long last = -1;
    for (Sample s : snapshot()) {
      if (s.nanos() < fromNanos || s.nanos() > toNanos) continue;
      if (first < 0) first = s.nodes().epoch();
      last = s.nodes().epoch();
    }
    return first < 0 ? 0 : last - first;
  }

  @Override
  public void close() {
    running = false;
    try {
      thread.join(2000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
