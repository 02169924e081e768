package io.ringkv.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * {@code java -jar ringkv.jar bench [options]}: the load generator. N connections (one thread
 * each, lean keep-alive HTTP/1.1 on blocking sockets) send PUT/GET/DELETE of uniform or Zipf keys
 * to the target workers in turn, closed loop or open loop at a fixed rate, for a duration after a
 * warm-up; a progress line a second, then throughput, latency percentiles (HdrHistogram) and
 * errors by status, and the same as one JSON line. {@code --load} writes each key once (preload),
 * {@code --verify} reads each key once and counts any answer but a 200 as an error (a lost key).
 */
public final class Bench {
  private Bench() {}

  public static void main(String[] args) throws Exception {
    BenchOptions o;
    try {
      o = BenchOptions.parse(args);
    } catch (BenchOptions.Usage u) {
      if (u.getMessage() == null) {
        System.out.println(BenchOptions.USAGE);
        System.exit(0);
      }
      System.err.println(u.getMessage() + "\n" + BenchOptions.USAGE);
      System.exit(2);
      return;
    }
    if (!o.bulk().isEmpty()) {
      BulkLoad.run(o);
      return;
    }
    KeyChooser keys = o.zipfTheta() > 0 ? KeyChooser.zipf(o.keys(), o.zipfTheta()) : KeyChooser.uniform(o.keys());
    AtomicLong nextLoadKey = new AtomicLong();
    long start = System.nanoTime() + 50_000_000L;   // let every thread get going
    long measureFrom = o.load() ? start : start + o.warmup().toNanos();
    long end = o.load() ? Long.MAX_VALUE : measureFrom + o.duration().toNanos();
    List<LoadThread> threads = new ArrayList<>();
    for (int i = 0; i < o.connections(); i++) threads.add(new LoadThread(i, o, keys, nextLoadKey, start, measureFrom, end));
    threads.forEach(Thread::start);
    Thread progress = new Thread(() -> progress(threads, measureFrom), "progress");
    progress.setDaemon(true);
    progress.start();
    for (LoadThread t : threads) t.join();
    long measured = (o.load() ? System.nanoTime() : end) - measureFrom;
    progress.interrupt();
    report(o, threads, measured);
  }

  private static void progress(List<LoadThread> threads, long measureFrom) {
    long last = 0;
    long lastAt = System.nanoTime();
    try {
      while (true) {
        Thread.sleep(1000);
        long now = System.nanoTime();
        long n = threads.stream().mapToLong(t -> t.count).sum();
        long e = threads.stream().mapToLong(t -> t.errorCount).sum();
        String phase = now < measureFrom ? "warm-up" : String.format(Locale.ROOT, "%5.1f s", (now - measureFrom) / 1e9);
        System.err.printf(Locale.ROOT, "  %s  %,10.0f ops/s  %,d requests  %d errors%n", phase, (n - last) * 1e9 / (now - lastAt), n, e);
        last = n;
        lastAt = now;
      }
    } catch (InterruptedException done) {
      // finished
    }
  }

  private static void report(BenchOptions o, List<LoadThread> threads, long nanos) {
    Histogram all = new Histogram(60_000_000L, 3);
    Map<String, Long> errors = new TreeMap<>();
    long total = 0;
    for (LoadThread t : threads) {
      all.add(t.histogram);
      total += t.count;
      t.errors.forEach((k, v) -> errors.merge(k, v, Long::sum));
    }
    double secs = nanos / 1e9;
    double ops = total / secs;
    long errCount = errors.values().stream().mapToLong(Long::longValue).sum();
    double p50 = ms(all, 50);
    double p90 = ms(all, 90);
    double p99 = ms(all, 99);
    double p999 = ms(all, 99.9);
    double max = all.getTotalCount() == 0 ? 0 : all.getMaxValue() / 1000.0;
    String loop = o.openLoop() ? String.format(Locale.ROOT, "open loop at %.0f/s", o.rate()) : "closed loop";
    System.out.printf(Locale.ROOT, "%s%s, %s, %d connections: %d requests in %.1f s = %.0f ops/s; latency ms p50 %.3f p90 %.3f"
            + " p99 %.3f p99.9 %.3f max %.3f; errors %d %s%n",
        o.label().isEmpty() ? "" : o.label() + ": ", o.mix(), loop, o.connections(), total, secs, ops, p50, p90, p99, p999,
        max, errCount, errors);
    StringBuilder json = new StringBuilder();
    json.append(String.format(Locale.ROOT, "{\"label\":\"%s\",\"mix\":\"%s\",\"loop\":\"%s\",\"rate\":%.1f,\"connections\":%d,"
            + "\"value_size\":%d,\"keys\":%d,\"zipf\":%.2f,\"requests\":%d,\"seconds\":%.3f,\"ops_per_sec\":%.1f,\"p50_ms\":%.3f,"
            + "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%d,\"errors_by_status\":{",
        o.label().replace("\"", ""), o.mix(), o.openLoop() ? "open" : "closed", o.rate(), o.connections(), o.valueSize(),
        o.keys(), o.zipfTheta(), total, secs, ops, p50, p90, p99, p999, max, errCount));
    int i = 0;
    for (var e : errors.entrySet()) json.append(i++ > 0 ? "," : "").append('"').append(e.getKey()).append("\":").append(e.getValue());
    json.append("}}");
    System.out.println(json);
  }

  private static double ms(Histogram h, double percentile) {
    return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile) / 1000.0;
  }
}
