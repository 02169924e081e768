package io.ringkv.faults;

import io.ringkv.check.FinalState;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The settled cluster as the checker reads it: a quorum read ({@code GET /kv?key=}) through one
 * worker. A 404 carries no version, so it reads as "not found". A read that fails (503, no answer)
 * is retried a few times, then throws: the checker cannot judge a cluster that does not answer.
 */
final class HttpFinalState implements FinalState {
  private final ProcessCluster cluster;

  HttpFinalState(ProcessCluster cluster) {
    this.cluster = cluster;
  }

  @Override
  public Optional<Versioned> read(String viaNode, String key) {
    Http.Resp last = null;
    for (int attempt = 0; attempt < 5; attempt++) {
      if (attempt > 0) java.util.concurrent.locks.LockSupport.parkNanos(attempt * 300_000_000L);   // back off: a view may be changing
      last = cluster.http.get(cluster.url(viaNode) + "/kv?key=" + Http.enc(key), Duration.ofSeconds(5));
      if (last.status() == 404) return Optional.empty();
      if (last.status() == 200) {
        return Optional.of(new Versioned(last.body().path("value").asText(),
            Version.parse(last.body().path("version").asText())));
      }
    }
    throw new IllegalStateException("final read of " + key + " via " + viaNode + " failed: " + last.status() + " "
        + (last.error() != null ? last.error() : last.body()));
  }

  @Override
  public List<String> workers() {
    return ProcessCluster.WORKERS;
  }

  @Override
  public Map<String, Optional<Versioned>> readAll(String viaNode, Collection<String> keys) {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      Map<String, Future<Optional<Versioned>>> futures = new LinkedHashMap<>();
      for (String k : keys) futures.put(k, pool.submit(() -> read(viaNode, k)));
      Map<String, Optional<Versioned>> out = new LinkedHashMap<>();
      List<String> failures = new ArrayList<>();
      for (Map.Entry<String, Future<Optional<Versioned>>> e : futures.entrySet()) {
        try {
          out.put(e.getKey(), e.getValue().get());
        } catch (ExecutionException ex) {
          failures.add(ex.getCause().getMessage());
        }
      }
      if (!failures.isEmpty()) throw new IllegalStateException(failures.size() + " final reads failed, e.g. " + failures.get(0));
      return out;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } finally {
      pool.shutdownNow();
    }
  }
}
