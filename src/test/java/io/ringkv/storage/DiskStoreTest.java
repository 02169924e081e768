package io.ringkv.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The storage engine wrapper: what it keeps across a reopen and a kill -9, and what it refuses to open. */
class DiskStoreTest {
  private static final long MEMORY = 16L << 20;
  @TempDir Path tmp;

  private static Entry entry(String key, String value, long ts) {
    return new Entry(key, new Versioned(value, new Version(ts, "w1")));
  }

  private static DiskStore.Change put(String key, String value, long ts) {
    return new DiskStore.Change(key, new Versioned(value, new Version(ts, "w1")));
  }

  /** A closed database of node w1 holding one key. */
  private Path databaseWithOneKey() throws Exception {
    Path dir = tmp.resolve("w1");
    try (DiskStore d = DiskStore.open(dir, "w1", MEMORY)) {
      d.write(List.of(put("a", "1", 10)), null, 10, true);
    }
    return dir;
  }

  private static Map<String, Versioned> all(DiskStore d) {
    Map<String, Versioned> out = new HashMap<>();
    d.load(out::put);
    return out;
  }

  @Test
  void hintsAndAWipeAreKeptInOrderAndTheWipedDataIsSetAside() throws Exception {
    Path dir = tmp.resolve("w1");
    StoredHint hint = new StoredHint(7, "w3", entry("h", "hinted", 20), 1234);
    try (DiskStore d = DiskStore.open(dir, "w1", MEMORY)) {
      d.write(List.of(put("a", "1", 10), put("b", "2", 11)), List.of(new DiskStore.HintChange(7, hint),
          new DiskStore.HintChange(8, new StoredHint(8, "w2", entry("x", "y", 21), 1235))), null, 11, true);
      d.write(List.of(DiskStore.WIPE, put("c", "after", 12)), List.of(new DiskStore.HintChange(8, null)), null, 12, true);
    }
    try (DiskStore d = DiskStore.open(dir, "w1", MEMORY)) {
      assertEquals(Map.of("c", new Versioned("after", new Version(12, "w1"))), all(d), "what was written before the wipe is gone");
      List<StoredHint> hints = new java.util.ArrayList<>();
      d.loadHints(hints::add);
      assertEquals(List.of(hint), hints, "a wipe drops data, not hints; a removed hint is gone");
    }
    Path[] aside;
    try (var list = Files.list(tmp)) {
      aside = list.filter(p -> p.getFileName().toString().startsWith("w1.before-rejoin-")).toArray(Path[]::new);
    }
    assertEquals(1, aside.length, "the data before the wipe is kept aside");
    try (DiskStore old = DiskStore.open(aside[0], "w1", MEMORY)) {
      assertEquals(2, all(old).size());
    }
  }

  @Test
  void entriesTombstonesTheClockAndTheViewAreThereAfterReopening() throws Exception {
    Path dir = tmp.resolve("w1");
    try (DiskStore d = DiskStore.open(dir, "w1", MEMORY)) {
      assertEquals(0, d.clock());
      assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)),
          "a new data directory is for the node's own user only");
      d.write(List.of(put("a", "1", 10), put("b", "2", 11), new DiskStore.Change("gone", Versioned.tombstone(new Version(12, "w2")))),
          "{\"epoch\":3}".getBytes(StandardCharsets.UTF_8), 12, true);
      d.write(List.of(put("a", "1b", 13), put("c", "3", 14), new DiskStore.Change("b", null)), null, 14, true);
      // in one batch, the later change of a key wins: a delete, then a new copy
      d.write(List.of(new DiskStore.Change("d", null), put("d", "back", 15), put("e", "x", 15), new DiskStore.Change("e", null)),
          null, 15, true);
    }
    try (DiskStore d = DiskStore.open(dir, "w1", MEMORY)) {
      Map<String, Versioned> held = all(d);
      assertEquals(4, held.size(), held.toString());
      assertEquals("back", held.get("d").value(), "a delete followed by a put in one batch leaves the put");
      assertNull(held.get("e"), "a put followed by a delete in one batch leaves nothing");
      assertEquals(new Versioned("1b", new Version(13, "w1")), held.get("a"));
      assertEquals(new Versioned("3", new Version(14, "w1")), held.get("c"));
      assertTrue(held.get("gone").isTombstone());
      assertEquals(new Version(12, "w2"), held.get("gone").version());
      assertNull(held.get("b"), "a deleted key stays deleted");
      assertEquals(15, d.clock());
      assertArrayEquals("{\"epoch\":3}".getBytes(StandardCharsets.UTF_8), d.view(), "a later batch without a view keeps the last one");
    }
  }

  @Test
  void valuesOfEveryShapeRoundTrip() {
    for (Versioned v : List.of(new Versioned("", new Version(0, "n")), new Versioned("é ✓ \u0000 x", new Version(Long.MAX_VALUE, "ñode")),
        Versioned.tombstone(new Version(5, "n")), new Versioned("x".repeat(100_000), new Version(7, "n"))))
      assertEquals(v, DiskStore.decode(DiskStore.encode(v)));
  }

  @Test
  void theDirectoryOfAnotherNodeIsRefused() {
    Path dir = tmp.resolve("data");
    DiskStore.open(dir, "worker1", MEMORY).close();
    StorageException e = assertThrows(StorageException.class, () -> DiskStore.open(dir, "worker2", MEMORY));
    assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("worker1"), e.getMessage());
    DiskStore.open(dir, "worker1", MEMORY).close();
  }

  @Test
  void aDirectoryWithOtherFilesIsRefusedRatherThanStartedEmpty() throws IOException {
    Path dir = tmp.resolve("notes");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("todo.txt"), "not a database");
    StorageException e = assertThrows(StorageException.class, () -> DiskStore.open(dir, "w1", MEMORY));
    assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("not empty"), e.getMessage());
    assertEquals(List.of("todo.txt"), Files.list(dir).map(p -> p.getFileName().toString()).toList(), "nothing was written there");
  }

  @Test
  void aFileWhereTheDirectoryShouldBeIsRefused() throws IOException {
    Path file = Files.writeString(tmp.resolve("file"), "x");
    StorageException e = assertThrows(StorageException.class, () -> DiskStore.open(file, "w1", MEMORY));
    assertTrue(e.getMessage().contains("not a directory"), e.getMessage());
  }

  @Test
  void aCorruptDatabaseIsRefusedRatherThanStartedEmpty() throws Exception {
    Path dir = databaseWithOneKey();
    Path manifest;
    try (Stream<Path> files = Files.list(dir)) {
      manifest = files.filter(p -> p.getFileName().toString().startsWith("MANIFEST-")).findFirst().orElseThrow();
    }
    byte[] garbage = new byte[(int) Files.size(manifest)];
    java.util.Arrays.fill(garbage, (byte) 0x5A);
    Files.write(manifest, garbage);
    StorageException e = assertThrows(StorageException.class, () -> DiskStore.open(dir, "w1", MEMORY));
    assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("refusing to start"), e.getMessage());
  }

  @Test
  void aDatabaseWithoutItsCurrentFileIsRefused() throws Exception {
    Path dir = databaseWithOneKey();
    Files.delete(dir.resolve("CURRENT"));
    StorageException e = assertThrows(StorageException.class, () -> DiskStore.open(dir, "w1", MEMORY));
    assertTrue(e.getMessage().contains("no CURRENT"), e.getMessage());
  }

  @Test
  void aSecondProcessOnTheSameDirectoryIsRefusedAndTheFirstKeepsWriting() throws Exception {
    Path dir = tmp.resolve("w1");
    try (DiskStore d = DiskStore.open(dir, "w1", MEMORY)) {
      Process child = child("hold", dir.toString(), "w1");
      List<String> out = readAll(child, Duration.ofSeconds(60));
      assertEquals(2, child.exitValue(), "the second process must stop: " + out);
      assertTrue(out.size() == 1 && out.get(0).contains("in use by another process") && out.get(0).contains(dir.toString()),
          "its message names the directory: " + out);
      d.write(List.of(put("after", "x", 20)), null, 20, true);
    }
    try (DiskStore d = DiskStore.open(dir, "w1", MEMORY)) {
      assertEquals("x", all(d).get("after").value());
    }
  }

  @ParameterizedTest
  @EnumSource(value = Durability.class, names = {"FSYNC", "ASYNC"})
  void everyWriteAcknowledgedBeforeAKill9IsThereAfterwards(Durability durability) throws Exception {
    Path dir = tmp.resolve("w1");
    Process child = child("write", dir.toString(), "w1", durability.toString());
    BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
    long acked = -1;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    for (String line; acked < 3000 && (line = r.readLine()) != null; ) {
      if (line.startsWith("acked ")) acked = Math.max(acked, Long.parseLong(line.substring(6)));
      assertTrue(System.nanoTime() < deadline, "the child acknowledged only " + acked + " writes in 60 s");
    }
    assertEquals(0, run("kill", "-9", String.valueOf(child.pid())));   // no close, no last sync
    assertTrue(child.waitFor(30, TimeUnit.SECONDS));
    for (String line; (line = r.readLine()) != null; )   // acknowledgements printed before the kill
      if (line.startsWith("acked ")) acked = Math.max(acked, Long.parseLong(line.substring(6)));
    assertTrue(acked >= 3000, "acked " + acked);
    try (DiskStore d = DiskStore.open(dir, "w1", MEMORY)) {
      Map<String, Versioned> held = all(d);
      List<String> missing = new ArrayList<>();
      for (long i = 0; i <= acked; i++) {
        Versioned v = held.get("k" + i);
        if (v == null || !v.value().equals("v" + i)) missing.add("k" + i);
      }
      assertEquals(List.of(), missing, durability + ": acknowledged writes missing after kill -9 (" + (acked + 1) + " acknowledged)");
      assertTrue(d.clock() >= 1000 + acked, "the stored clock reading " + d.clock() + " is below a stamp that was acknowledged");
    }
  }

  @Test
  void aFullDiskFailsWritesWithoutAcknowledgingThemAndTheyWorkAgainWhenSpaceReturns() throws Exception {
    Path mount = Files.createDirectories(tmp.resolve("small"));
    Assumptions.assumeTrue(run("mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mount.toString()) == 0,
        "needs root to mount a small tmpfs");
    try {
      Path dir = mount.resolve("w1");
      AtomicLong clock = new AtomicLong(1);
      try (DiskStore d = DiskStore.open(dir, "w1", MEMORY)) {
        GroupCommit commit = new GroupCommit(d, Durability.FSYNC, Duration.ofMillis(50), clock::get);
        assertTrue(commit(commit, entry("before", "x", 1)), "a write with room on the disk");
        Path filler = mount.resolve("filler");
        try (OutputStream o = Files.newOutputStream(filler)) {
          byte[] block = new byte[64 << 10];
          while (true) o.write(block);
        } catch (IOException full) {
          // the disk is full now
        }
        String big = "v".repeat(256 << 10);
        List<Boolean> whileFull = new ArrayList<>();
        // until one fails: the log's preallocated space takes the first ones
        for (int i = 0; i < 200 && !whileFull.contains(false); i++) whileFull.add(commit(commit, entry("full-" + i, big, 10 + i)));
        assertTrue(whileFull.contains(false), "some write on a full disk must fail, not be acknowledged: " + whileFull);
        Files.delete(filler);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        boolean again = false;
        while (!again && System.nanoTime() < until) again = commit(commit, entry("after", "y", 100));
        assertTrue(again, "writes must work again by themselves once space returns");
        commit.close();
        Map<String, Versioned> held = all(d);
        assertEquals("x", held.get("before").value());
        assertEquals("y", held.get("after").value());
        for (int i = 0; i < whileFull.size(); i++)
          if (whileFull.get(i)) assertEquals(big, held.get("full-" + i).value(), "an acknowledged write on the full disk is there");
      }
      try (DiskStore d = DiskStore.open(dir, "w1", MEMORY)) {
        assertEquals("y", all(d).get("after").value());
      }
    } finally {
      run("umount", "-l", mount.toString());
    }
  }

  private static boolean commit(GroupCommit c, Entry e) throws Exception {
    CompletableFuture<Boolean> done = new CompletableFuture<>();
    assertTrue(c.submit(List.of(e), List.of(), done::complete));
    return done.get(30, TimeUnit.SECONDS);
  }

  private static int run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    return p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
  }

  private static Process child(String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), DiskChild.class.getName()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
  }

  private static List<String> readAll(Process p, Duration within) throws Exception {
    CompletableFuture<List<String>> lines = CompletableFuture.supplyAsync(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        return r.lines().toList();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    boolean ended = p.waitFor(within.toMillis(), TimeUnit.MILLISECONDS);
    if (!ended) p.destroyForcibly();
    assertFalse(!ended, "the second process did not stop within " + within + ": it must refuse the directory");
    return lines.get(10, TimeUnit.SECONDS);
  }
}
