package io.ringkv.faults;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ringkv.check.History;
import io.ringkv.check.Op;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Steady client load: {@code threads} clients, each its own HTTP connection pool, issuing PUT (50%),
 * GET (40%) and DELETE (10%) of random keys of a bounded key space through random workers, paced
 * so the 2-core machine is busy but not saturated. Every operation goes into the {@link History}:
 * invoked just before the request, completed with its status (-1 when no answer came within the
 * client timeout or the connection failed), the version returned and the value read.
 */
final class ClientLoad implements AutoCloseable {
  static final Duration CLIENT_TIMEOUT = Duration.ofSeconds(3);

  private final ProcessCluster cluster;
  private final History history;
  private final List<String> keys;
  private final List<Thread> threads = new ArrayList<>();
  private final long pauseNanos;
  private final String tag;
  private final java.util.Queue<String> errorDetails = new java.util.concurrent.ConcurrentLinkedQueue<>();
  private final java.util.concurrent.atomic.AtomicInteger errorCount = new java.util.concurrent.atomic.AtomicInteger();
  private volatile boolean running = true;
  /** While set, the clients send nothing new (a schedule reads every key back without writes in between). */
  private volatile boolean held;

  ClientLoad(ProcessCluster cluster, History history, List<String> keys, int clients, Duration pause, long seed,
      String tag) {
    this.cluster = cluster;
    this.history = history;
    this.keys = List.copyOf(keys);
    this.pauseNanos = pause.toNanos();
    this.tag = tag;
    for (int i = 0; i < clients; i++) {
      String name = tag + "-c" + i;
      Random rnd = new Random(seed * 31 + i);
      Thread t = new Thread(() -> run(name, rnd), "load-" + name);
      t.setDaemon(true);
      threads.add(t);
    }
  }

  /** Holds the clients (true) or lets them go on (false); an operation under way completes. */
  void hold(boolean hold) {
    held = hold;
  }

  ClientLoad start() {
    threads.forEach(Thread::start);
    return this;
  }

  private void run(String name, Random rnd) {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(1)).build();
    long seq = 0;
    while (running) {
      if (held) {
        LockSupport.parkNanos(1_000_000);
        continue;
      }
      String key = keys.get(rnd.nextInt(keys.size()));
      String via = ProcessCluster.WORKERS.get(rnd.nextInt(ProcessCluster.WORKERS.size()));
      int dice = rnd.nextInt(100);
      // unique per operation (the client's name carries the schedule's tag): the checker maps each value to its write
      if (dice < 50) put(client, name, key, name + "-" + (++seq), via);
      else if (dice < 90) get(client, name, key, via);
      else delete(client, name, key, via);
      // pacing, jittered so the clients do not march in step
      LockSupport.parkNanos(pauseNanos / 2 + (long) (rnd.nextDouble() * pauseNanos));
    }
  }

  private void put(HttpClient client, String name, String key, String value, String via) {
    ObjectNode body = Http.JSON.createObjectNode().put("key", key).put("value", value);
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(cluster.url(via) + "/kv"))
        .header("Content-Type", "application/json")
        .PUT(HttpRequest.BodyPublishers.ofString(body.toString()));
    long id = history.invoke(name, Op.Type.PUT, key, value, via);
    Http.Resp r = noteError(id, via, send(client, req));
    history.complete(id, r.status(), r.status() == 200 ? text(r.body(), "version") : null, null);
  }

  private void delete(HttpClient client, String name, String key, String via) {
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(cluster.url(via) + "/kv?key=" + Http.enc(key))).DELETE();
    long id = history.invoke(name, Op.Type.DELETE, key, null, via);
    Http.Resp r = noteError(id, via, send(client, req));
    history.complete(id, r.status(), r.status() == 200 ? text(r.body(), "version") : null, null);
  }

  private void get(HttpClient client, String name, String key, String via) {
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(cluster.url(via) + "/kv?key=" + Http.enc(key))).GET();
    long id = history.invoke(name, Op.Type.GET, key, null, via);
    Http.Resp r = noteError(id, via, send(client, req));
    if (r.status() == 200) history.complete(id, 200, text(r.body(), "version"), text(r.body(), "value"));
    else history.complete(id, r.status(), null, null);
  }

  /** Keeps what the first errors said (the history keeps only the status). */
  private Http.Resp noteError(long id, String via, Http.Resp r) {
    boolean error = r.status() != 200 && r.status() != 404;
    if (error && errorCount.incrementAndGet() <= 5000) {
      errorDetails.add("#" + id + " via " + via + ": " + r.status() + " "
          + (r.error() != null ? r.error() : r.body().path("detail").asText(r.body().toString())));
    }
    return r;
  }

  /** The first errors (up to 5000): op id, worker, status and what the answer or the exception said. */
  List<String> errorDetails() {
    return List.copyOf(errorDetails);
  }

  private static String text(JsonNode body, String field) {
    return body.hasNonNull(field) ? body.get(field).asText() : null;
  }

  private static Http.Resp send(HttpClient client, HttpRequest.Builder req) {
    try {
      HttpResponse<byte[]> r = client.send(req.timeout(CLIENT_TIMEOUT).build(), HttpResponse.BodyHandlers.ofByteArray());
      JsonNode body;
      try {
        body = Http.JSON.readTree(r.body());
      } catch (java.io.IOException e) {
        body = Http.JSON.createObjectNode();
      }
      if (body == null) body = Http.JSON.createObjectNode();
      return new Http.Resp(r.statusCode(), body, null);
    } catch (java.io.IOException e) {
      return new Http.Resp(-1, Http.JSON.createObjectNode(), e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Http.Resp(-1, Http.JSON.createObjectNode(), "interrupted");
    }
  }

  /** Stops issuing new operations and waits for those in flight to complete (each is bounded by the client timeout). */
  @Override
  public void close() {
    running = false;
    for (Thread t : threads) {
      try {
        t.join(TimeUnit.SECONDS.toMillis(CLIENT_TIMEOUT.toSeconds() + 5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  String tag() {
    return tag;
  }
}
