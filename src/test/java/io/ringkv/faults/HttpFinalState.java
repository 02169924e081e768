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
import java.util.function.Function;

/**
 * The settled cluster as the checker reads it: the owners of a key by the controller's view
 * ({@code GET /mapping?key=}), a worker's own copy ({@code GET /replicate?key=} with the cluster
 * token: the value or tombstone with its version, no quorum, no read repair), and a quorum read
 * ({@code GET /kv?key=}) through one worker; a 404 of that read carries no version, so it reads as
 * "not found". A call that fails (an error status, no answer) is retried a few times, then throws:
 * the checker cannot judge a cluster that does not answer.
 */
final class HttpFinalState implements FinalState {
  private final ProcessCluster cluster;

  HttpFinalState(ProcessCluster cluster) {
    this.cluster = cluster;
  }

  @Override
  public Optional<Versioned> read(String viaNode, String key) {
    Http.Resp r = call("final read of " + key + " via " + viaNode, cluster.url(viaNode) + "/kv?key=" + Http.enc(key), true);
    if (r.status() == 404) return Optional.empty();
    return Optional.of(new Versioned(r.body().path("value").asText(), Version.parse(r.body().path("version").asText())));
  }

  @Override
  public List<String> owners(String key) {
    Http.Resp r = call("the owners of " + key, cluster.url(ProcessCluster.CONTROLLER) + "/mapping?key=" + Http.enc(key), false);
    List<String> owners = new ArrayList<>();
    r.body().path("mapping").forEach(o -> owners.add(o.path("node_id").asText()));
    if (owners.isEmpty()) throw new IllegalStateException("the controller lists no owners of " + key + ": " + r.body());
    return owners;
  }

  @Override
  public Optional<Versioned> copy(String worker, String key) {
    Http.Resp r = call(worker + "'s copy of " + key, cluster.url(worker) + "/replicate?key=" + Http.enc(key), false);
    if (!r.body().hasNonNull("version")) return Optional.empty();
    Version v = Version.parse(r.body().get("version").asText());
    return Optional.of(r.body().path("tombstone").asBoolean(false) ? Versioned.tombstone(v)
        : new Versioned(r.body().path("value").asText(), v));
  }

  @Override
  public Map<String, List<String>> ownersAll(Collection<String> keys) {
    return concurrently(keys, this::owners);
  }

  @Override
  public Map<String, Optional<Versioned>> copyAll(String worker, Collection<String> keys) {
    return concurrently(keys, k -> copy(worker, k));
  }

  /** GET {@code url}: a 200 (or, when {@code notFoundOk}, a 404), retried a few times with a back-off. */
  private Http.Resp call(String what, String url, boolean notFoundOk) {
    Http.Resp last = null;
    for (int attempt = 0; attempt < 5; attempt++) {
      if (attempt > 0) java.util.concurrent.locks.LockSupport.parkNanos(attempt * 300_000_000L);   // back off: a view may be changing
      last = cluster.http.get(url, Duration.ofSeconds(5));
      if (last.status() == 200 || (notFoundOk && last.status() == 404)) return last;
    }
    throw new IllegalStateException(what + " failed: " + last.status() + " " + (last.error() != null ? last.error() : last.body()));
  }

  @Override
  public List<String> workers() {
    return ProcessCluster.WORKERS;
  }

  @Override
  public Map<String, Optional<Versioned>> readAll(String viaNode, Collection<String> keys) {
    return concurrently(keys, k -> read(viaNode, k));
  }

  /** {@code f} of every key, 8 at a time; throws when any failed. */
  private static <T> Map<String, T> concurrently(Collection<String> keys, Function<String, T> f) {
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      Map<String, Future<T>> futures = new LinkedHashMap<>();
      for (String k : keys) futures.put(k, pool.submit(() -> f.apply(k)));
      Map<String, T> out = new LinkedHashMap<>();
      List<String> failures = new ArrayList<>();
      for (Map.Entry<String, Future<T>> e : futures.entrySet()) {
        try {
          out.put(e.getKey(), e.getValue().get());
        } catch (ExecutionException ex) {
          failures.add(ex.getCause().getMessage());
        }
      }
      if (!failures.isEmpty()) throw new IllegalStateException(failures.size() + " of " + keys.size() + " calls failed, e.g. " + failures.get(0));
      return out;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } finally {
      pool.shutdownNow();
    }
  }
}
