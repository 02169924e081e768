package io.ringkv.worker;

import io.ringkv.cluster.ClusterView;
import io.ringkv.config.NodeSettings;
import io.ringkv.net.Wire;
import io.ringkv.storage.DiskStore;
import io.ringkv.storage.Durability;
import io.ringkv.storage.GroupCommit;
import io.ringkv.storage.KvStore;
import io.ringkv.storage.StorageException;
import io.ringkv.storage.StoredHint;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;
import org.slf4j.LoggerFactory;

/**
 * What a worker finds in its data directory when it starts ({@code DATA_DIR/<node id>}): its keys,
 * already split over its store shards, the upper bound of its clock stored with the last write, and its last view; and the
 * means to keep writing them ({@link #startWriting}). In {@code memory} mode, nothing.
 */
public final class LocalData implements AutoCloseable {
  private final DiskStore disk;
  private final Durability durability;
  private final java.time.Duration syncInterval;
  private final java.time.Duration window;
  private final List<KvStore> shards;
  private final long clock;
  private final ClusterView lastView;
  private final List<StoredHint> hints;
  private volatile GroupCommit commit;

  private LocalData(DiskStore disk, Durability durability, java.time.Duration syncInterval, java.time.Duration window,
      List<KvStore> shards, long clock, ClusterView lastView, List<StoredHint> hints) {
    this.hints = hints;
    this.window = window;
    this.disk = disk;
    this.durability = durability;
    this.syncInterval = syncInterval;
    this.shards = shards;
    this.clock = clock;
    this.lastView = lastView;
  }

  /** No data directory: every shard starts empty, nothing is written. */
  public static LocalData inMemory(int shards) {
    List<KvStore> empty = new ArrayList<>();
    for (int i = 0; i < shards; i++) empty.add(new KvStore());
    return new LocalData(null, Durability.MEMORY, java.time.Duration.ZERO, java.time.Duration.ZERO, List.copyOf(empty), 0, null, List.of());
  }

  /** Opens the node's data directory and reads it all; throws {@link StorageException} if the node must not start. */
  public static LocalData open(NodeSettings s) {
    if (s.durability() == Durability.MEMORY) return inMemory(s.storeShards());
    Path dir = s.nodeDataDir();
    long start = System.nanoTime();
    DiskStore disk = DiskStore.open(dir, s.nodeId(), s.storageMemoryBytes());
    try {
      List<KvStore> shards = new ArrayList<>();
      for (int i = 0; i < s.storeShards(); i++) shards.add(new KvStore());
      int[] keys = new int[1];
      disk.load((key, v) -> {
        shards.get(Shards.indexOf(key, shards.size())).apply(key, v);
        keys[0]++;
      });
      List<StoredHint> hints = new ArrayList<>();
      disk.loadHints(hints::add);
      ClusterView view = null;
      byte[] json = disk.view();
      if (json != null) {
        try {
          view = Wire.readView(Wire.JSON.readTree(json), s.vnodes());
        } catch (Exception e) {
          LoggerFactory.getLogger(LocalData.class).warn("the last view stored in {} cannot be read ({}): starting without it", dir, e.toString());
        }
      }
      LoggerFactory.getLogger(LocalData.class).info("{}: {} keys and {} hints read from {} in {} ms ({} mode)", s.nodeId(),
          keys[0], hints.size(), dir, (System.nanoTime() - start) / 1_000_000, s.durability());
      return new LocalData(disk, s.durability(), s.syncInterval(), s.groupCommitWindow(), List.copyOf(shards), disk.clock(), view,
          List.copyOf(hints));
    } catch (RuntimeException e) {
      disk.close();
      throw e;
    }
  }

  /** The keys found, one map per store shard (each goes to the one store actor that owns it). */
  public List<KvStore> shards() {
    return shards;
  }

  /** The clock bound stored with the last write: above every version this node stamped before it stopped (see {@link GroupCommit}). */
  public long clock() {
    return clock;
  }

  /** The last view this node adopted before it stopped, or null. */
  public ClusterView lastView() {
    return lastView;
  }

  /** The hints found (replicas other owners missed, not delivered before this node stopped), oldest first. */
  public List<StoredHint> hints() {
    return hints;
  }

  /** The group commit thread once {@link #startWriting} started it; null in memory mode. */
  public GroupCommit writer() {
    return commit;
  }

  /** Starts the group commit thread (null in memory mode); {@code clock}: the clock's reading, stored with every batch. */
  public synchronized GroupCommit startWriting(LongSupplier clock) {
    if (disk == null) return null;
    if (commit == null) commit = new GroupCommit(disk, durability, syncInterval, window, clock);
    return commit;
  }

  /** Stores the view this node adopted (not waited for). */
  public void saveView(ClusterView view) {
    GroupCommit c = commit;
    if (c != null) c.submitView(Wire.bytes(Wire.view(view)));
  }

  private boolean closed;

  /** A storage engine property for the metrics (see {@link DiskStore#property}); 0 in memory mode or once closed. */
  public synchronized long engineProperty(String name) {
    return disk == null || closed ? 0 : disk.property(name);
  }

  /** Writes what is queued and closes the database (its lock is free after this); once. */
  @Override
  public synchronized void close() {
    if (closed) return;
    closed = true;
    GroupCommit c = commit;
    if (c != null) c.close();   // returns once its thread has ended: nothing uses the database after this
    if (disk != null) disk.close();
  }
}
