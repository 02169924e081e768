package io.ringkv.faults;

import io.ringkv.check.Observation;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

/**
 * Samples the raw copies of a few keys on every worker ({@code GET /replicate?key=}) while a schedule
 * runs, one thread per worker, each copy tagged with the worker's incarnation. A sample is kept only
 * when the incarnation did not change while it was taken (a restart in between could pair the new
 * process's copy with the old incarnation).
 */
final class Sampler implements AutoCloseable {
  private final ProcessCluster cluster;
  private final List<String> keys;
  private final long periodNanos;
  private final List<Observation> samples = Collections.synchronizedList(new ArrayList<>());
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean running = true;

  Sampler(ProcessCluster cluster, List<String> keys, Duration period) {
    this.cluster = cluster;
    this.keys = List.copyOf(keys);
    this.periodNanos = period.toNanos();
    for (String w : ProcessCluster.WORKERS) {
      Thread t = new Thread(() -> run(w), "sampler-" + w);
      t.setDaemon(true);
      threads.add(t);
    }
  }

  Sampler start() {
    threads.forEach(Thread::start);
    return this;
  }

  private void run(String worker) {
    while (running) {
      long next = System.nanoTime() + periodNanos;
      for (String key : keys) {
        if (!running) break;
        String before = cluster.incarnation(worker);
        Http.Resp r = cluster.http.get(cluster.url(worker) + "/replicate?key=" + Http.enc(key), Duration.ofSeconds(1));
        long at = System.nanoTime();
        if (!r.ok() || !before.equals(cluster.incarnation(worker))) continue;
        String version = r.body().hasNonNull("version") ? r.body().get("version").asText() : null;
        samples.add(new Observation(worker, key, version, r.body().path("tombstone").asBoolean(false), at, before));
      }
      long wait = next - System.nanoTime();
      if (wait > 0) LockSupport.parkNanos(wait);
    }
  }

  List<Observation> samples() {
    synchronized (samples) {
      return List.copyOf(samples);
    }
  }

  @Override
  public void close() {
    running = false;
    for (Thread t : threads) {
      try {
        t.join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
