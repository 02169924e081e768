package io.ringkv.storage;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that writes a worker's data to its {@link DiskStore}, so that no actor blocks on
 * the disk. The store actors hand it writes with a callback; it takes every write waiting at that
 * moment (up to {@link #MAX_GROUP_BYTES}), writes them in their order as one batch, with one fsync
 * in {@link Durability#FSYNC} mode (group commit: a write per fsync would cap a worker at a few
 * hundred writes per second), and then runs their callbacks. In {@link Durability#ASYNC} mode the
 * batch is written without the fsync, and the log is fsynced every {@code syncInterval}. Under load
 * (the last group held more than one write), a group waits {@code window} after its first write
 * before the fsync, so that more writes share it: each fsync costs CPU time in the kernel, and on a
 * machine that runs several workers it was the largest cost of a durable write (bench/durability.sh).
 *
 * <p>The clock's upper bound: every batch stores a bound {@link #CLOCK_LEAD} above the clock's
 * reading, and a new bound is stored (fsynced) before the clock comes within half the lead of the
 * last one, so the stored bound stays above every version this node stamped (short of a clock that
 * jumps by more than that between two rounds, at most {@code syncInterval} apart). A restarted node
 * starts its clock at the bound, so it never stamps below what it stamped before.
 *
 * <p>A failed write (a full disk) fails its callbacks; the next batch reopens the database first.
 * Every callback is called exactly once, with false for what is still queued at {@link #close}.
 */
public final class GroupCommit implements Committer, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GroupCommit.class);
  /** The most bytes of keys and values in one batch. */
  static final long MAX_GROUP_BYTES = 8L << 20;
  /** Writes waiting at most, by count and by bytes; past either, {@link #submit} refuses (the store answers "not stored", a 503). */
  static final int MAX_WAITING = 65_536;
  static final long MAX_WAITING_BYTES = 256L << 20;
  /** How far above the clock's reading the stored bound is (under MAX_CLOCK_SKEW: a restarted node's stamps are admitted). */
  static final long CLOCK_LEAD = HybridClock.fromMillis(250);
  private static final long RETRY_PAUSE_MILLIS = 200;

  private record Job(List<DiskStore.Change> changes, List<DiskStore.HintChange> hints, byte[] view, Callback callback,
      long bytes) {}

  private static final Job STOP = new Job(List.of(), List.of(), null, stored -> {}, 0);

  private final DiskStore disk;
  private final Durability durability;
  private final long syncIntervalMillis;
  private final long windowNanos;
  private final LongSupplier clock;
  private final BlockingQueue<Job> queue = new LinkedBlockingQueue<>(MAX_WAITING + 1);
  private final AtomicLong waitingBytes = new AtomicLong();
  private final Thread thread;
  private final Object lock = new Object();
  /** Set under {@code lock}: no job is queued after STOP. */
  private boolean closing;
  private volatile boolean dead;
  private boolean broken;
  private boolean unsynced;
  private long lastSync;
  private long storedBound;
  /** How many writes the last group had. */
  private int lastGroup;

  public GroupCommit(DiskStore disk, Durability durability, Duration syncInterval, LongSupplier clock) {
    this(disk, durability, syncInterval, Duration.ZERO, clock);
  }

  /** {@code window}: in fsync mode, how long the first write of a group waits for more to share its fsync. */
  public GroupCommit(DiskStore disk, Durability durability, Duration syncInterval, Duration window, LongSupplier clock) {
    if (durability == Durability.MEMORY) throw new IllegalArgumentException("memory mode writes nothing to disk");
    this.windowNanos = window.toNanos();
    this.disk = disk;
    this.durability = durability;
    this.syncIntervalMillis = Math.max(1, syncInterval.toMillis());
    this.clock = clock;
    this.storedBound = disk.clock();
    this.thread = new Thread(this::run, "ringkv-group-commit");
    thread.setDaemon(true);
    thread.start();
  }

  /** Queues a write; false when too many writes are waiting, or the committer is closing. The callback runs on the commit thread: keep it short. */
  @Override
  public boolean submit(List<Entry> puts, List<String> deletes, Callback callback) {
    List<DiskStore.Change> changes = new ArrayList<>(puts.size() + deletes.size());
    long bytes = 0;
    for (Entry e : puts) {
      changes.add(new DiskStore.Change(e.key(), e.versioned()));
      bytes += e.chars();
    }
    for (String k : deletes) {
      changes.add(new DiskStore.Change(k, null));
      bytes += k.length();
    }
    return enqueue(new Job(changes, List.of(), null, callback, bytes));
  }

  @Override
  public boolean submitWipe(Callback callback) {
    return enqueue(new Job(List.of(DiskStore.WIPE), List.of(), null, callback, 1));
  }

  /** Queues the node's last view (JSON), stored with the next batch; false when too many writes are waiting. */
  public boolean submitView(byte[] view) {
    return enqueue(new Job(List.of(), List.of(), view, stored -> {}, view.length));
  }

  /** Queues hints to store and hints to remove (not waited for); false when too many writes are waiting. */
  public boolean submitHints(List<StoredHint> puts, List<Long> removals) {
    List<DiskStore.HintChange> changes = new ArrayList<>(puts.size() + removals.size());
    long bytes = 0;
    for (StoredHint h : puts) {
      changes.add(new DiskStore.HintChange(h.id(), h));
      bytes += h.entry().chars() + 32;
    }
    for (long id : removals) {
      changes.add(new DiskStore.HintChange(id, null));
      bytes += 9;
    }
    return enqueue(new Job(List.of(), List.copyOf(changes), null, stored -> {}, bytes));
  }

  private boolean enqueue(Job job) {
    synchronized (lock) {
      if (closing || dead || waitingBytes.get() + job.bytes() > MAX_WAITING_BYTES || queue.size() >= MAX_WAITING) return false;
      waitingBytes.addAndGet(job.bytes());
      return queue.offer(job);
    }
  }

  private void run() {
    List<Job> group = new ArrayList<>();
    try {
      while (true) {
        Job first = queue.poll(syncIntervalMillis, TimeUnit.MILLISECONDS);
        boolean stop = false;
        group.clear();
        long bytes = 0;
        // in fsync mode under load (the last group had company), the writes that arrive within the
        // window after the first one share its fsync; a lone write does not wait
        if (first != null && durability == Durability.FSYNC && windowNanos > 0 && lastGroup > 1) LockSupport.parkNanos(windowNanos);
        for (Job j = first; j != null; j = bytes < MAX_GROUP_BYTES ? queue.poll() : null) {
          if (j == STOP) {
            stop = true;
            break;
          }
          group.add(j);
          bytes += j.bytes();
        }
        waitingBytes.addAndGet(-bytes);
        if (first != null) lastGroup = group.size();
        commit(group);
        if (stop) return;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Throwable t) {
      log.error("the group commit thread of {} failed: no more writes are stored", disk.dir(), t);
      for (Job j : group) call(j, false);
    } finally {
      dead = true;
      synchronized (lock) {
        closing = true;
      }
      for (Job j; (j = queue.poll()) != null; ) call(j, false);
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
      boolean refresh = saturatingAdd(reading, CLOCK_LEAD / 2) > storedBound;
      if (!group.isEmpty() || refresh) {
        long bound = refresh ? saturatingAdd(reading, CLOCK_LEAD) : storedBound;
        List<DiskStore.Change> changes = new ArrayList<>();
        List<DiskStore.HintChange> hints = new ArrayList<>();
        byte[] view = null;
        for (Job j : group) {
          changes.addAll(j.changes());
          hints.addAll(j.hints());
          if (j.view() != null) view = j.view();
        }
        boolean sync = durability == Durability.FSYNC;
        disk.write(changes, hints, view, bound, sync);
        storedBound = bound;
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
    for (Job j : group) call(j, stored);
    if (broken) pause();
  }

  private static long saturatingAdd(long a, long b) {
    long r = a + b;
    return r < a ? Long.MAX_VALUE : r;
  }

  private static void call(Job j, boolean stored) {
    try {
      j.callback().done(stored);
    } catch (RuntimeException e) {
      log.warn("a commit callback failed", e);
    }
  }

  private static void pause() {
    try {
      Thread.sleep(RETRY_PAUSE_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Writes what is queued, fsyncs the log and stops the thread; returns once the thread has ended
   * (the disk store may be closed then). The disk store stays open.
   */
  @Override
  public void close() {
    synchronized (lock) {
      if (!closing) {
        closing = true;
        queue.offer(STOP);   // the queue holds one more than MAX_WAITING: room for it
      }
    }
    boolean interrupted = false;
    while (thread.isAlive()) {
      try {
        thread.join();
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) Thread.currentThread().interrupt();
    try {
      if (!broken) disk.sync();
    } catch (Exception e) {
      log.warn("could not sync {} at close: {}", disk.dir(), e.toString());
    }
  }
}
