package io.ringkv.bench;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * One connection's load: sends requests one at a time and records each latency in microseconds.
 * Closed loop: the next request leaves when the answer is in. Open loop: requests are due at a
 * fixed interval and the latency counts from when a request was due, so a stall is charged to
 * every request it delayed (coordinated omission corrected, as wrk2 does). With {@code --api etcd}
 * the requests are etcd's v3 JSON gateway's (POST /v3/kv/put, /v3/kv/range, /v3/kv/deleterange,
 * keys and values in base64), and every 200 is the expected answer.
 */
final class LoadThread extends Thread {
  private final BenchOptions o;
  private final KeyChooser keys;
  private final AtomicLong nextLoadKey;
  private final long measureFrom;
  private final long end;
  private final long intervalNanos;
  private final List<HttpConnection> connections;
  private final byte[] authorization;
  private final String valueJson;
  /** {@code --api etcd}: the value in base64, as etcd's JSON gateway takes bytes; null otherwise. */
  private final String valueBase64;
  private final long start;
  /** Open loop: when this thread's next request is due. */
  private long due;
  /** A preload's tries per key before its write counts as an error. */
  static final int LOAD_ATTEMPTS = 5;
  final Histogram histogram = new Histogram(60_000_000L, 3);
  final Map<String, Long> errors = new TreeMap<>();
  volatile long count;
  volatile long errorCount;

  LoadThread(int id, BenchOptions o, KeyChooser keys, AtomicLong nextLoadKey, long start, long measureFrom, long end) {
    super("load-" + id);
    setDaemon(true);
    this.o = o;
    this.keys = keys;
    this.nextLoadKey = nextLoadKey;
    this.measureFrom = measureFrom;
    this.end = end;
    int timeout = (int) o.timeout().toMillis();
    // each thread starts on a different target and goes round them
    List<URI> t = o.targets();
    this.connections = java.util.stream.IntStream.range(0, t.size())
        .mapToObj(i -> new HttpConnection(t.get((id + i) % t.size()), timeout)).toList();
    // etcd takes its auth token as the header's whole value, without a scheme
    this.authorization = o.token().isEmpty() ? null
        : ((o.etcd() ? "Authorization: " : "Authorization: Bearer ") + o.token() + "\r\n").getBytes(StandardCharsets.US_ASCII);
    this.valueJson = "v".repeat(o.valueSize());
    this.valueBase64 = o.etcd() ? BASE64.encodeToString(valueJson.getBytes(StandardCharsets.UTF_8)) : null;
    this.intervalNanos = o.openLoop() ? (long) (1e9 * o.connections() / o.rate()) : 0;
    this.start = start;
    this.due = start + (o.openLoop() ? intervalNanos * id / o.connections() : 0);
  }

  @Override
  public void run() {
    SplittableRandom rnd = new SplittableRandom(getId() * 0x9e3779b97f4a7c15L ^ System.nanoTime());
    int target = 0;
    for (long now; (now = System.nanoTime()) < start; ) LockSupport.parkNanos(start - now);
    while (true) {
      long now = System.nanoTime();
      long sent;
      if (o.openLoop()) {
        if (due >= end) break;
        if (due > now) LockSupport.parkNanos(due - now);
        sent = due;
        due += intervalNanos;
      } else {
        if (now >= end) break;
        sent = now;
      }
      String key;
      int roll;
      if (o.load()) {
        long k = nextLoadKey.getAndIncrement();
        if (k >= o.keys()) break;
        key = o.prefix() + k;
        roll = o.verify() ? 100 : 0;
      } else {
        key = o.prefix() + keys.next(rnd);
        roll = rnd.nextInt(100);
      }
      HttpConnection c = connections.get(target);
      target = (target + 1) % connections.size();
      String outcome = send(c, key, roll);
      // a preload retries a write that was not acknowledged (a 503, a timeout), as a client should
      for (int attempt = 1; outcome != null && o.load() && !o.verify() && attempt < LOAD_ATTEMPTS; attempt++) {
        LockSupport.parkNanos(100_000_000L * attempt);
        outcome = send(c, key, roll);
      }
      long done = System.nanoTime();
      if (sent < measureFrom) continue;
      histogram.recordValue(Math.min(histogram.getHighestTrackableValue(), Math.max(0, (done - sent) / 1000)));
      count++;
      if (outcome != null) {
        errors.merge(outcome, 1L, Long::sum);
        errorCount++;
      }
    }
    connections.forEach(HttpConnection::close);
  }

  /** One request; null when its answer is the expected one, else the status or the exception's name. */
  private String send(HttpConnection c, String key, int roll) {
    if (valueBase64 != null) return sendEtcd(c, key, roll);
    try {
      int status;
      if (roll < o.putPercent()) {
        byte[] body = ("{\"key\":\"" + key + "\",\"value\":\"" + valueJson + "\"}").getBytes(StandardCharsets.UTF_8);
        status = c.exchange("PUT", "/kv", authorization, body);
      } else {
        status = c.exchange(roll < o.putPercent() + o.deletePercent() ? "DELETE" : "GET", "/kv?key=" + key, authorization, null);
      }
      boolean ok = status == 200 || (status == 404 && roll >= o.putPercent() && !o.verify());
      return ok ? null : String.valueOf(status);
    } catch (IOException e) {
      return e.getClass().getSimpleName();
    }
  }

  /**
   * One request to etcd's v3 JSON gateway: a read is linearizable (etcd's default range), and a
   * missing key is a 200 without "kvs", so every 200 is the expected answer.
   */
  private String sendEtcd(HttpConnection c, String key, int roll) {
    try {
      String key64 = BASE64.encodeToString(key.getBytes(StandardCharsets.UTF_8));
      int status;
      if (roll < o.putPercent()) {
        byte[] body = ("{\"key\":\"" + key64 + "\",\"value\":\"" + valueBase64 + "\"}").getBytes(StandardCharsets.US_ASCII);
        status = c.exchange("POST", "/v3/kv/put", authorization, body);
      } else {
        byte[] body = ("{\"key\":\"" + key64 + "\"}").getBytes(StandardCharsets.US_ASCII);
        status = c.exchange("POST", roll < o.putPercent() + o.deletePercent() ? "/v3/kv/deleterange" : "/v3/kv/range",
            authorization, body);
      }
      return status == 200 ? null : String.valueOf(status);
    } catch (IOException e) {
      return e.getClass().getSimpleName();
    }
  }

  private static final Base64.Encoder BASE64 = Base64.getEncoder();
}
