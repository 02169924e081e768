package io.ringkv.storage;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that writes a worker's data to its {@link DiskStore}, so that no actor blocks on
 * the disk. The store actors hand it writes with a callback; it takes every write waiting at that
 * moment (up to {@link #MAX_GROUP_BYTES}), writes them as one batch, with one fsync in
 * {@link Durability#FSYNC} mode (group commit: a write per fsync would cap a worker at a few hundred
 * writes per second), and then runs their callbacks. In {@link Durability#ASYNC} mode the batch is
 * written without the fsync, and the log is fsynced every {@code syncInterval}.
 *
 * <p>Every batch also stores the clock's reading, which is at or above every version this node
 * stamped so far; when no write comes, the reading is stored every {@code syncInterval} if it moved.
 * A failed write (a full disk) fails its callbacks; the next batch reopens the database first.
 */
public final class GroupCommit implements Committer, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GroupCommit.class);
  /** The most bytes of keys and values in one batch. */
  static final long MAX_GROUP_BYTES = 8L << 20;
  /** Writes waiting at most; past this, {@link #submit} refuses (the store answers "not stored", a 503). */
  static final int MAX_WAITING = 65_536;
  private static final long RETRY_PAUSE_MILLIS = 200;

  private record Job(List<Entry> puts, List<String> deletes, byte[] view, Callback callback, long bytes) {}

  private static final Job STOP = new Job(List.of(), List.of(), null, stored -> {}, 0);

  private final DiskStore disk;
  private final Durability durability;
  private final long syncIntervalMillis;
  private final LongSupplier clock;
  private final BlockingQueue<Job> queue = new LinkedBlockingQueue<>(MAX_WAITING);
  private final Thread thread;
  private volatile boolean closing;
  private boolean broken;
  private boolean unsynced;
  private long lastSync;
  private long lastClock;

  public GroupCommit(DiskStore disk, Durability durability, Duration syncInterval, LongSupplier clock) {
    if (durability == Durability.MEMORY) throw new IllegalArgumentException("memory mode writes nothing to disk");
    this.disk = disk;
    this.durability = durability;
    this.syncIntervalMillis = Math.max(1, syncInterval.toMillis());
    this.clock = clock;
    this.thread = new Thread(this::run, "ringkv-group-commit");
    thread.setDaemon(true);
    thread.start();
  }

  /** Queues a write; false when {@link #MAX_WAITING} writes are waiting already. The callback runs on the commit thread: keep it short. */
  @Override
  public boolean submit(List<Entry> puts, List<String> deletes, Callback callback) {
    if (closing) return false;
    long bytes = 0;
    for (Entry e : puts) bytes += e.key().length() + (e.versioned().isTombstone() ? 0 : e.versioned().value().length());
    return queue.offer(new Job(puts, deletes, null, callback, bytes));
  }

  /** Queues the node's last view (JSON), to be stored with the next batch; false when too many writes are waiting. */
  public boolean submitView(byte[] view) {
    return !closing && queue.offer(new Job(List.of(), List.of(), view, stored -> {}, view.length));
  }

  private void run() {
    List<Job> group = new ArrayList<>();
    while (true) {
      Job first;
      try {
        first = queue.poll(syncIntervalMillis, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        return;
      }
      boolean stop = false;
      group.clear();
      long bytes = 0;
      for (Job j = first; j != null; j = bytes < MAX_GROUP_BYTES ? queue.poll() : null) {
        if (j == STOP) {
          stop = true;
          break;
        }
        group.add(j);
        bytes += j.bytes();
      }
      commit(group);
      if (stop) {
        for (Job j; (j = queue.poll()) != null; ) if (j != STOP) j.callback().done(false);
        return;
      }
    }
  }

  private void commit(List<Job> group) {
    boolean stored = false;
    try {
      if (broken) {
        disk.reopen();
        broken = false;
        log.info("the data in {} takes writes again", disk.dir());
      }
      long reading = clock.getAsLong();
      if (!group.isEmpty() || reading != lastClock) {
        List<Entry> puts = new ArrayList<>();
        List<String> deletes = new ArrayList<>();
        byte[] view = null;
        for (Job j : group) {
          puts.addAll(j.puts());
          deletes.addAll(j.deletes());
          if (j.view() != null) view = j.view();
        }
        boolean sync = durability == Durability.FSYNC && !group.isEmpty();
        disk.write(puts, deletes, view, reading, sync);
        lastClock = reading;
        if (sync) lastSync = System.nanoTime();
        else unsynced = true;
      }
      stored = true;
      if (unsynced && System.nanoTime() - lastSync >= TimeUnit.MILLISECONDS.toNanos(syncIntervalMillis)) {
        disk.sync();
        unsynced = false;
        lastSync = System.nanoTime();
      }
    } catch (Exception e) {
      if (!broken) log.error("cannot write to {}: writes fail until it works again ({})", disk.dir(), e.toString());
      broken = true;
    }
    for (Job j : group) {
      try {
        j.callback().done(stored);
      } catch (RuntimeException e) {
        log.warn("a commit callback failed", e);
      }
    }
    if (broken) pause();
  }

  private static void pause() {
    try {
      Thread.sleep(RETRY_PAUSE_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Writes what is queued, fsyncs the log and stops the thread; the disk store stays open. */
  @Override
  public void close() {
    if (closing) return;
    closing = true;
    try {
      queue.put(STOP);
      thread.join();
      if (!broken) disk.sync();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      log.warn("could not sync {} at close: {}", disk.dir(), e.toString());
    }
  }
}
