package io.ringkv.storage;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The read path a worker could have: its in-memory map ({@link KvStore}, what it uses) or the
 * storage engine ({@link DiskStore}: RocksDB with the default 64 MiB block cache), each holding
 * the same {@code keys} keys of 100 B, read at random. Run with {@code bench/jmh.sh ReadPath}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 3)
@Fork(1)
public class ReadPathBenchmark {
  @Param("1000000")
  public int keys;

  private Path dir;
  private DiskStore disk;
  private KvStore map;

  @Setup
  public void setup() throws Exception {
    dir = Files.createTempDirectory("ringkv-readpath-");
    disk = DiskStore.open(dir.resolve("w1"), "w1", 64L << 20);
    map = new KvStore();
    String value = "v".repeat(100);
    List<DiskStore.Change> batch = new ArrayList<>();
    for (int i = 0; i < keys; i++) {
      Entry e = new Entry("key-" + i, new Versioned(value, new Version(1000L + i, "w1")));
      map.apply(e.key(), e.versioned());
      batch.add(new DiskStore.Change(e.key(), e.versioned()));
      if (batch.size() == 10_000 || i == keys - 1) {
        disk.write(batch, null, 1000L + i, false);
        batch.clear();
      }
    }
  }

  @TearDown
  public void tearDown() throws Exception {
    disk.close();
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  @Benchmark
  public Versioned inMemoryMap() {
    return map.get("key-" + ThreadLocalRandom.current().nextInt(keys));
  }

  @Benchmark
  public Versioned storageEngine() throws Exception {
    return disk.get("key-" + ThreadLocalRandom.current().nextInt(keys));
  }
}
