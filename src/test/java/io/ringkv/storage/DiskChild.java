package io.ringkv.storage;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A second process for {@link DiskStoreTest}, started with the test classpath:
 * {@code hold DIR NODE} opens the directory and waits (or prints why it cannot);
 * {@code write DIR NODE DURABILITY} writes keys k0, k1, ... through a {@link GroupCommit} and
 * prints "acked i" once key i is acknowledged, until it is killed.
 */
public final class DiskChild {
  private DiskChild() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[1]);
    DiskStore disk;
    try {
      disk = DiskStore.open(dir, args[2], 16L << 20);
    } catch (StorageException e) {
      System.out.println("refused: " + e.getMessage());
      System.out.flush();
      System.exit(2);
      return;
    }
    System.out.println("opened");
    System.out.flush();
    if (args[0].equals("hold")) {
      Thread.sleep(Long.MAX_VALUE);
    }
    AtomicLong clock = new AtomicLong(1);
    GroupCommit commit = new GroupCommit(disk, Durability.parse(args[3]), Duration.ofMillis(100), clock::get);
    for (long i = 0; ; i++) {
      long n = i;
      Entry e = new Entry("k" + i, new Versioned("v" + i, new Version(1000 + i, "child")));
      clock.set(1000 + i);
      while (!commit.submit(List.of(e), List.of(), stored -> {
        if (stored) {
          synchronized (System.out) {
            System.out.println("acked " + n);
            System.out.flush();
          }
        }
      })) Thread.sleep(1);
      if (i % 64 == 63) Thread.sleep(1);
    }
  }
}
