package io.ringkv.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.net.Wire;
import io.ringkv.storage.Entry;
import io.ringkv.storage.HybridClock;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code bench --bulk CONTROLLER_URL}: a preload for benchmarks that need millions of keys (the
 * rebalance): every key's 3 copies go straight to its owners as batches of versioned entries on
 * {@code POST /replicate} (the path a rebalance push takes), the owners computed from the
 * controller's {@code /ring} as every node computes them. It skips the client path on purpose:
 * loading 1,000,000 keys through {@code PUT /kv} takes minutes on a 2-core machine. One thread per
 * worker, each sending the keys that worker owns. For a cluster without {@code CLUSTER_TOKEN}.
 */
final class BulkLoad {
  static final int BATCH = 1000;

  private BulkLoad() {}

  static void run(BenchOptions o) throws Exception {
    Config config = ConfigFactory.load();
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpResponse<byte[]> ring = http.send(HttpRequest.newBuilder(URI.create(o.bulk() + "/ring")).GET().build(),
        HttpResponse.BodyHandlers.ofByteArray());
    if (ring.statusCode() != 200) throw new IllegalStateException(o.bulk() + "/ring answered " + ring.statusCode());
    ClusterView view = Wire.readView(Wire.parse(ring.body()), config.getInt("ringkv.ring.vnodes"));
    int n = config.getInt("ringkv.replication.factor");
    String value = "v".repeat(o.valueSize());
    String newer = "w".repeat(o.valueSize());
    HybridClock clock = HybridClock.system();
    long base = clock.now();   // key k is written at base + 2k, and where it differs, at base + 2k + 1
    List<String> diverged = new java.util.concurrent.CopyOnWriteArrayList<>();
    AtomicLong differingBytes = new AtomicLong();
    AtomicLong copiesToMake = new AtomicLong();
    AtomicLong sent = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    long t0 = System.nanoTime();
    List<Thread> threads = new ArrayList<>();
    for (Member target : view.members().values()) {
      if (!view.isUp(target.id())) continue;
      Thread t = new Thread(() -> {
        HttpConnection c = new HttpConnection(URI.create(target.url()), (int) o.timeout().toMillis());
        List<Entry> batch = new ArrayList<>(BATCH);
        for (int k = 0; k < o.keys(); k++) {
          String key = o.prefix() + k;
          List<String> owners = view.ownerIds(key, n);
          if (!owners.contains(target.id())) continue;
          Version v1 = new Version(base + 2L * k, "bulk");
          Version v2 = new Version(base + 2L * k + 1, "bulk");
          Versioned copy = new Versioned(value, v1);
          if (!o.diverge().isEmpty() && owners.contains(o.diverge()) && k % 100 == 0) {
            // one copy of the key differs: missing on the diverged node, older there, or deleted there only
            boolean there = target.id().equals(o.diverge());
            int kind = (k / 100) % 3;
            if (there) {
              diverged.add(key);
              // what anti-entropy must copy: the entry to the diverged node (1, 2), or its tombstone to the others (3)
              differingBytes.addAndGet(kind == 2 ? 2L * (key.length() + 14) : key.length() + value.length() + 14);
              copiesToMake.addAndGet(kind == 2 ? 2 : 1);
            }
            if (kind == 0 && there) continue;
            if (kind == 1) copy = there ? copy : new Versioned(newer, v2);
            if (kind == 2 && there) copy = Versioned.tombstone(v2);
          }
          batch.add(new Entry(key, copy));
          if (batch.size() == BATCH) send(c, o, batch, sent, errors);
        }
        if (!batch.isEmpty()) send(c, o, batch, sent, errors);
        c.close();
      }, "bulk-" + target.id());
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) t.join();
    double secs = (System.nanoTime() - t0) / 1e9;
    System.out.printf(Locale.ROOT, "bulk load: %d keys, %d copies to %d workers in %.1f s = %.0f copies/s; failed batches %d%n",
        o.keys(), sent.get(), threads.size(), secs, sent.get() / secs, errors.get());
    if (!o.diverge().isEmpty()) {
      System.out.printf(Locale.ROOT, "diverged on %s: %d keys, %d bytes of entries to copy%n", o.diverge(), diverged.size(),
          differingBytes.get());
      for (String key : diverged) System.out.println("diverged " + key);
    }
    System.out.printf(Locale.ROOT, "{\"mix\":\"bulk\",\"keys\":%d,\"copies\":%d,\"seconds\":%.3f,\"errors\":%d,\"diverged\":%d,"
        + "\"differing_bytes\":%d,\"copies_to_make\":%d}%n", o.keys(), sent.get(), secs, errors.get(), diverged.size(),
        differingBytes.get(), copiesToMake.get());
    if (errors.get() > 0) System.exit(1);
  }

  /** One batch, tried up to 5 times (a cold JVM may miss the deadline), counted and then cleared. */
  private static void send(HttpConnection c, BenchOptions o, List<Entry> batch, AtomicLong sent, AtomicLong errors) {
    byte[] body = Wire.bytes(Wire.entries(batch));
    sent.addAndGet(batch.size());
    batch.clear();
    for (int attempt = 1; attempt <= LoadThread.LOAD_ATTEMPTS; attempt++) {
      try {
        if (c.exchange("POST", "/replicate", null, body) == 200) return;
      } catch (IOException e) {
        // tried again below
      }
    }
    errors.incrementAndGet();
  }
}
