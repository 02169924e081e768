package io.ringkv.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code java -jar ringkv.jar bench [options]}: a closed-loop load generator. N connections each
 * send one request at a time (PUT, GET or DELETE of random keys) to the target workers in turn, for
 * a duration after a warm-up, and print throughput, latency percentiles and errors by status, then
 * the same as one JSON line. {@code --load} writes keys 0..keys-1 once each instead (to preload), and
 * {@code --verify} reads each of them once and counts every answer but a 200 as an error (a lost key).
 */
public final class Bench {
  private Bench() {}

  record Options(List<String> targets, int connections, Duration duration, Duration warmup, int keys, int valueSize,
      int putPercent, int deletePercent, boolean load, boolean verify, String prefix) {}

  public static void main(String[] args) throws Exception {
    Options o = parse(args);
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(2)).build();
    String value = "v".repeat(Math.max(1, o.valueSize()));
    AtomicLong nextLoadKey = new AtomicLong();
    long warmupEnd = System.nanoTime() + o.warmup().toNanos();
    long end = o.load() ? Long.MAX_VALUE : warmupEnd + o.duration().toNanos();
    List<Worker> workers = new ArrayList<>();
    for (int i = 0; i < o.connections(); i++) {
      Worker w = new Worker(i, o, client, value, nextLoadKey, o.load() ? System.nanoTime() : warmupEnd, end);
      workers.add(w);
      w.start();
    }
    long started = System.nanoTime();
    Thread progress = new Thread(() -> {
      try {
        while (true) {
          Thread.sleep(1000);
          long done = workers.stream().mapToLong(w -> w.count).sum();
          System.err.printf("  ... %d requests, %.1f s%n", done, (System.nanoTime() - started) / 1e9);
        }
      } catch (InterruptedException e) {
        // done
      }
    });
    progress.setDaemon(true);
    progress.start();
    for (Worker w : workers) w.join();
    progress.interrupt();
    long measuredNanos = o.load() ? System.nanoTime() - started : o.duration().toNanos();
    report(o, workers, measuredNanos);
  }

  private static final class Worker extends Thread {
    final Options o;
    final HttpClient client;
    final String value;
    final AtomicLong nextLoadKey;
    final long measureFrom;
    final long end;
    final int id;
    long[] latencies = new long[1 << 16];
    int n;
    long count;
    final Map<String, Long> errors = new TreeMap<>();

    Worker(int id, Options o, HttpClient client, String value, AtomicLong nextLoadKey, long measureFrom, long end) {
      this.id = id;
      this.o = o;
      this.client = client;
      this.value = value;
      this.nextLoadKey = nextLoadKey;
      this.measureFrom = measureFrom;
      this.end = end;
      setDaemon(true);
    }

    @Override
    public void run() {
      ThreadLocalRandom rnd = ThreadLocalRandom.current();
      int target = id % o.targets().size();
      while (true) {
        long now = System.nanoTime();
        if (now >= end) return;
        String key;
        int roll;
        if (o.load()) {
          long k = nextLoadKey.getAndIncrement();
          if (k >= o.keys()) return;
          key = o.prefix() + k;
          roll = o.verify() ? 100 : 0;
        } else {
          key = o.prefix() + rnd.nextInt(o.keys());
          roll = rnd.nextInt(100);
        }
        String base = o.targets().get(target);
        target = (target + 1) % o.targets().size();
        HttpRequest req;
        if (roll < o.putPercent()) {
          String body = "{\"key\":\"" + key + "\",\"value\":\"" + value + "\"}";
          req = HttpRequest.newBuilder(URI.create(base + "/kv")).timeout(Duration.ofSeconds(5))
              .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(body)).build();
        } else if (roll < o.putPercent() + o.deletePercent()) {
          req = HttpRequest.newBuilder(URI.create(base + "/kv?key=" + key)).timeout(Duration.ofSeconds(5)).DELETE().build();
        } else {
          req = HttpRequest.newBuilder(URI.create(base + "/kv?key=" + key)).timeout(Duration.ofSeconds(5)).GET().build();
        }
        long t0 = System.nanoTime();
        String outcome;
        try {
          int status = client.send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
          outcome = status == 200 || (status == 404 && roll >= o.putPercent() && !o.verify()) ? null : String.valueOf(status);
        } catch (Exception e) {
          outcome = e.getClass().getSimpleName();
        }
        long t1 = System.nanoTime();
        if (t0 < measureFrom) continue;
        count++;
        if (outcome != null) errors.merge(outcome, 1L, Long::sum);
        if (n == latencies.length) latencies = Arrays.copyOf(latencies, n * 2);
        latencies[n++] = t1 - t0;
      }
    }
  }

  private static void report(Options o, List<Worker> workers, long nanos) {
    long total = 0;
    int samples = 0;
    Map<String, Long> errors = new TreeMap<>();
    for (Worker w : workers) {
      total += w.count;
      samples += w.n;
      w.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
    }
    long[] all = new long[samples];
    int at = 0;
    for (Worker w : workers) {
      System.arraycopy(w.latencies, 0, all, at, w.n);
      at += w.n;
    }
    Arrays.sort(all);
    double secs = nanos / 1e9;
    double ops = total / secs;
    long errCount = errors.values().stream().mapToLong(Long::longValue).sum();
    String mix = o.verify() ? "verify" : o.load() ? "load" : "put=" + o.putPercent() + ",delete=" + o.deletePercent() + ",get="
        + (100 - o.putPercent() - o.deletePercent());
    System.out.printf("%s: %d requests in %.1f s = %.0f ops/s; latency ms p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f max %.2f; errors %d %s%n",
        mix, total, secs, ops, ms(all, 0.50), ms(all, 0.90), ms(all, 0.99), ms(all, 0.999),
        all.length == 0 ? 0 : all[all.length - 1] / 1e6, errCount, errors);
    StringBuilder json = new StringBuilder();
    json.append(String.format("{\"mix\":\"%s\",\"connections\":%d,\"value_size\":%d,\"keys\":%d,\"requests\":%d,\"seconds\":%.3f,"
            + "\"ops_per_sec\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%d,\"errors_by_status\":{",
        mix, o.connections(), o.valueSize(), o.keys(), total, secs, ops, ms(all, 0.5), ms(all, 0.9), ms(all, 0.99),
        ms(all, 0.999), all.length == 0 ? 0 : all[all.length - 1] / 1e6, errCount));
    int i = 0;
    for (var e : errors.entrySet()) json.append(i++ > 0 ? "," : "").append('"').append(e.getKey()).append("\":").append(e.getValue());
    json.append("}}");
    System.out.println(json);
  }

  private static double ms(long[] sorted, double q) {
    if (sorted.length == 0) return 0;
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)] / 1e6;
  }

  static Options parse(String[] args) {
    List<String> targets = List.of("http://127.0.0.1:8101", "http://127.0.0.1:8201", "http://127.0.0.1:8301", "http://127.0.0.1:8401");
    int connections = 32;
    Duration duration = Duration.ofSeconds(10);
    Duration warmup = Duration.ofSeconds(2);
    int keys = 100_000;
    int valueSize = 100;
    int put = 50;
    int del = 0;
    boolean load = false;
    boolean verify = false;
    String prefix = "key-";
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "--targets" -> targets = List.of(args[++i].split(","));
        case "--connections", "-c" -> connections = Integer.parseInt(args[++i]);
        case "--duration", "-d" -> duration = Duration.ofMillis((long) (Double.parseDouble(args[++i]) * 1000));
        case "--warmup" -> warmup = Duration.ofMillis((long) (Double.parseDouble(args[++i]) * 1000));
        case "--keys" -> keys = Integer.parseInt(args[++i]);
        case "--value-size" -> valueSize = Integer.parseInt(args[++i]);
        case "--put" -> put = Integer.parseInt(args[++i]);
        case "--delete" -> del = Integer.parseInt(args[++i]);
        case "--load" -> load = true;
        case "--verify" -> {
          load = true;
          verify = true;
        }
        case "--prefix" -> prefix = args[++i];
        case "--help", "-h" -> {
          System.out.println(USAGE);
          System.exit(0);
        }
        default -> {
          System.err.println("unknown option " + a + "\n" + USAGE);
          System.exit(2);
        }
      }
    }
    return new Options(targets, connections, duration, warmup, keys, valueSize, put, del, load, verify, prefix);
  }

  private static final String USAGE = "usage: bench [--targets URL,URL] [-c connections] [-d seconds] [--warmup seconds] [--keys N]"
              + " [--value-size BYTES] [--put PERCENT] [--delete PERCENT] [--load | --verify] [--prefix P]";
}
