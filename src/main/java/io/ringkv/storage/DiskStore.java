package io.ringkv.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.CompressionType;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteBufferManager;
import org.rocksdb.WriteOptions;

/**
 * One worker's data on disk: a RocksDB database in its own directory. Every key's current version
 * (tombstones included) under {@code 'd' + key}, and the node's own state under {@code 'm' + name}:
 * its id, an upper bound of its clock (see {@link GroupCommit}), its last view.
 *
 * <p>Opening refuses, with a message that names the directory, whatever would make the node start
 * empty or share its data: a directory in use by another process (RocksDB's LOCK), a directory that
 * is not empty but holds no database, a database that cannot be read (corrupt), and one that
 * belongs to another node id. Off-heap memory is bounded: the memtables are charged to the block
 * cache, whose size is the one budget given. Not thread-safe for writes: {@link GroupCommit}'s
 * thread is the one writer; {@link #load} and the metadata reads run before it starts.
 */
public final class DiskStore implements AutoCloseable {
  private static final byte DATA = 'd';
  private static final byte META = 'm';
  private static final byte HINT = 'h';
  static final String NODE_ID = "node-id";
  static final String CLOCK = "clock";
  static final String VIEW = "view";

  static {
    RocksDB.loadLibrary();
  }

  private final Path dir;
  private final LRUCache cache;
  private final WriteBufferManager buffers;
  private final Options options;
  private final WriteOptions synced = new WriteOptions().setSync(true);
  private final WriteOptions unsynced = new WriteOptions();
  private RocksDB db;

  private DiskStore(Path dir, long memoryBytes, boolean create) {
    this.dir = dir;
    this.cache = new LRUCache(memoryBytes);
    this.buffers = new WriteBufferManager(memoryBytes / 2, cache);
    this.options = new Options()
        .setCreateIfMissing(create)
        .setWriteBufferManager(buffers)
        .setWriteBufferSize(Math.min(32L << 20, Math.max(1L << 20, memoryBytes / 4)))
        .setMaxWriteBufferNumber(2)
        .setCompressionType(CompressionType.LZ4_COMPRESSION)
        .setMaxOpenFiles(512)
        .setMaxBackgroundJobs(2)
        .setKeepLogFileNum(3)
        .setMaxLogFileSize(8L << 20)
        .setTableFormatConfig(new BlockBasedTableConfig().setBlockCache(cache).setCacheIndexAndFilterBlocks(true));
  }

  /**
   * Opens (or, in an empty or missing directory, creates) the database of node {@code nodeId} in
   * {@code dir}, with {@code memoryBytes} of off-heap memory at most (block cache and memtables).
   */
  public static DiskStore open(Path dir, String nodeId, long memoryBytes) {
    boolean fresh = prepare(dir);
    DiskStore d = new DiskStore(dir, memoryBytes, fresh);
    try {
      d.db = d.openDb();
      byte[] owner = d.meta(NODE_ID);
      if (owner == null) {
        d.putMeta(NODE_ID, nodeId.getBytes(StandardCharsets.UTF_8));
      } else if (!new String(owner, StandardCharsets.UTF_8).equals(nodeId)) {
        throw new StorageException("the data directory " + dir + " holds the data of node '"
            + new String(owner, StandardCharsets.UTF_8) + "', not of '" + nodeId + "': refusing to start on it");
      }
      return d;
    } catch (RuntimeException e) {
      d.close();
      throw e;
    }
  }

  /** Checks the directory (creating it if missing); returns whether it is empty, i.e. a new database may be created in it. */
  private static boolean prepare(Path dir) {
    try {
      if (Files.exists(dir) && !Files.isDirectory(dir))
        throw new StorageException("the data directory " + dir + " is not a directory");
      if (!Files.exists(dir)) {
        Files.createDirectories(dir);
        try {   // the node's data: for its own user only
          Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
        } catch (UnsupportedOperationException e) {
          // not a POSIX file system: its own rules apply
        }
      }
      if (!Files.isReadable(dir) || !Files.isWritable(dir) || !Files.isExecutable(dir))
        throw new StorageException("the data directory " + dir + " is not readable and writable by this process");
      boolean empty;
      try (Stream<Path> files = Files.list(dir)) {
        empty = files.findAny().isEmpty();
      }
      if (!empty && !Files.exists(dir.resolve("CURRENT"))) {
        throw new StorageException("the data directory " + dir + " is not empty but holds no ringkv database (no CURRENT"
            + " file): refusing to start, which would start this node empty. Point DATA_DIR at the node's data, or at an"
            + " empty directory to start empty");
      }
      return empty;
    } catch (IOException e) {
      throw new StorageException("the data directory " + dir + " cannot be used: " + e, e);
    }
  }

  private RocksDB openDb() {
    try {
      return RocksDB.open(options, dir.toString());
    } catch (RocksDBException e) {
      String status = e.getMessage() == null ? String.valueOf(e.getStatus()) : e.getMessage();
      boolean locked = e.getStatus() != null && e.getStatus().getCode() == org.rocksdb.Status.Code.IOError
          && (status.contains("lock hold by current process") || status.contains("While lock file"));
      if (locked)
        throw new StorageException("the data directory " + dir + " is in use by another process (" + status + ")", e);
      throw new StorageException("the data in " + dir + " cannot be opened (" + status + "): refusing to start, which would"
          + " start this node empty. Repair or restore the directory, or move it aside to start empty", e);
    }
  }

  Path dir() {
    return dir;
  }

  /** Reads every stored entry, in key order. */
  public void load(BiConsumer<String, Versioned> each) {
    try (ReadOptions ro = new ReadOptions().setFillCache(false); RocksIterator it = db.newIterator(ro)) {
      for (it.seek(new byte[] {DATA}); it.isValid(); it.next()) {
        byte[] k = it.key();
        if (k.length == 0 || k[0] != DATA) break;
        String key = new String(k, 1, k.length - 1, StandardCharsets.UTF_8);
        Versioned v;
        try {
          v = decode(it.value());
        } catch (RuntimeException e) {
          throw new StorageException("the data in " + dir + " is corrupt: the entry of key '" + key + "' cannot be decoded ("
              + e + "): refusing to start", e);
        }
        each.accept(key, v);
      }
      it.status();
    } catch (RocksDBException e) {
      throw new StorageException("the data in " + dir + " cannot be read (" + e.getMessage() + ")", e);
    }
  }

  /** Reads every stored hint, oldest first. */
  public void loadHints(java.util.function.Consumer<StoredHint> each) {
    try (ReadOptions ro = new ReadOptions().setFillCache(false); RocksIterator it = db.newIterator(ro)) {
      for (it.seek(new byte[] {HINT}); it.isValid(); it.next()) {
        byte[] k = it.key();
        if (k.length != 9 || k[0] != HINT) break;
        long id = ByteBuffer.wrap(k, 1, 8).getLong();
        try {
          each.accept(decodeHint(id, it.value()));
        } catch (RuntimeException e) {
          throw new StorageException("the data in " + dir + " is corrupt: hint " + id + " cannot be decoded (" + e + ")", e);
        }
      }
      it.status();
    } catch (RocksDBException e) {
      throw new StorageException("the data in " + dir + " cannot be read (" + e.getMessage() + ")", e);
    }
  }

  /** One key's stored copy, or null. The worker reads its in-memory map instead: this is for ReadPathBenchmark, which measures both. */
  Versioned get(String key) throws RocksDBException {
    byte[] b = db.get(dataKey(key));
    return b == null ? null : decode(b);
  }

  /** The clock bound stored with the last write (above every version stamped before it), or 0. */
  public long clock() {
    byte[] b = meta(CLOCK);
    return b == null || b.length != Long.BYTES ? 0 : ByteBuffer.wrap(b).getLong();
  }

  byte[] meta(String name) {
    try {
      return db.get(metaKey(name));
    } catch (RocksDBException e) {
      throw new StorageException("the data in " + dir + " cannot be read (" + e.getMessage() + ")", e);
    }
  }

  /** Stores a piece of the node's own state, fsynced. */
  void putMeta(String name, byte[] value) {
    try {
      db.put(synced, metaKey(name), value);
    } catch (RocksDBException e) {
      throw new StorageException("cannot write to " + dir + " (" + e.getMessage() + ")", e);
    }
  }

  /** The last view this node adopted (JSON), or null. */
  public byte[] view() {
    return meta(VIEW);
  }

  /** One change to a key: its new copy, or its removal ({@code value == null}); {@link #WIPE}: every key's removal. */
  public record Change(String key, Versioned value) {}

  /**
   * Removes every key (a node that rejoins empty); the data as it was before is kept in a checkpoint
   * next to the directory, {@code <dir>.before-rejoin-<millis>}, for the operator to inspect or delete.
   */
  public static final Change WIPE = new Change(null, null);

  /** A hint to store, or the removal of hint {@code id} ({@code hint == null}). */
  public record HintChange(long id, StoredHint hint) {}

  /**
   * Writes {@code changes} in their order (a later change of a key wins), a new last view (null:
   * unchanged) and the clock bound {@code clock}, as one atomic batch; with {@code sync} it is in
   * the write-ahead log and fsynced when this returns.
   */
  public void write(List<Change> changes, byte[] view, long clock, boolean sync) throws RocksDBException {
    write(changes, List.of(), view, clock, sync);
  }

  /** As {@link #write(List, byte[], long, boolean)}, with changes to the stored hints. */
  public void write(List<Change> changes, List<HintChange> hints, byte[] view, long clock, boolean sync) throws RocksDBException {
    try (WriteBatch batch = new WriteBatch()) {
      for (HintChange h : hints) {
        byte[] key = ByteBuffer.allocate(9).put(HINT).putLong(h.id()).array();
        if (h.hint() == null) batch.delete(key);
        else batch.put(key, encodeHint(h.hint()));
      }
      batch.put(metaKey(CLOCK), ByteBuffer.allocate(Long.BYTES).putLong(clock).array());
      if (view != null) batch.put(metaKey(VIEW), view);
      for (Change c : changes) {
        if (c == WIPE) {
          checkpoint();
          batch.deleteRange(new byte[] {DATA}, new byte[] {DATA + 1});
        } else if (c.value() == null) batch.delete(dataKey(c.key()));
        else batch.put(dataKey(c.key()), encode(c.value()));
      }
      db.write(sync ? synced : unsynced, batch);
    }
  }

  private void checkpoint() throws RocksDBException {
    Path aside = dir.resolveSibling(dir.getFileName() + ".before-rejoin-" + System.currentTimeMillis());
    try (org.rocksdb.Checkpoint cp = org.rocksdb.Checkpoint.create(db)) {
      cp.createCheckpoint(aside.toString());
    }
    org.slf4j.LoggerFactory.getLogger(DiskStore.class).warn("the data of {} before it rejoined empty is kept in {}"
        + " (delete it once it is not needed)", dir, aside);
  }

  /** One of RocksDB's integer properties (e.g. {@code rocksdb.estimate-live-data-size}); -1 if it cannot be read. Not after {@link #close}. */
  public long property(String name) {
    try {
      return db.getLongProperty(name);
    } catch (RocksDBException e) {
      return -1;
    }
  }

  /** Fsyncs what the write-ahead log holds. */
  public void sync() throws RocksDBException {
    db.flushWal(true);
  }

  /** Closes and opens the database again: after a write error (a full disk), RocksDB takes no writes until then. */
  public void reopen() {
    if (db != null) db.close();
    db = null;
    db = openDb();
  }

  @Override
  public void close() {
    if (db != null) db.close();
    db = null;
    options.close();
    buffers.close();
    cache.close();
    synced.close();
    unsynced.close();
  }

  private static byte[] dataKey(String key) {
    return prefixed(DATA, key);
  }

  private static byte[] metaKey(String name) {
    return prefixed(META, name);
  }

  private static byte[] prefixed(byte prefix, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[b.length + 1];
    out[0] = prefix;
    System.arraycopy(b, 0, out, 1, b.length);
    return out;
  }

  /** {@code long timestamp | short node length | node | byte 1 tombstone or 0 value | value (UTF-8)}. */
  static byte[] encode(Versioned v) {
    byte[] node = v.version().node().getBytes(StandardCharsets.UTF_8);
    byte[] value = v.isTombstone() ? new byte[0] : v.value().getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(8 + 2 + node.length + 1 + value.length)
        .putLong(v.version().timestamp()).putShort((short) node.length).put(node)
        .put((byte) (v.isTombstone() ? 1 : 0)).put(value).array();
  }

  /** {@code long created | short owner length | owner | int key length | key | entry (as encode)}. */
  static byte[] encodeHint(StoredHint h) {
    byte[] owner = h.owner().getBytes(StandardCharsets.UTF_8);
    byte[] key = h.entry().key().getBytes(StandardCharsets.UTF_8);
    byte[] value = encode(h.entry().versioned());
    return ByteBuffer.allocate(8 + 2 + owner.length + 4 + key.length + value.length).putLong(h.createdMillis())
        .putShort((short) owner.length).put(owner).putInt(key.length).put(key).put(value).array();
  }

  static StoredHint decodeHint(long id, byte[] b) {
    ByteBuffer in = ByteBuffer.wrap(b);
    long created = in.getLong();
    int ownerLength = in.getShort() & 0xFFFF;
    String owner = new String(b, in.position(), ownerLength, StandardCharsets.UTF_8);
    in.position(in.position() + ownerLength);
    int keyLength = in.getInt();
    String key = new String(b, in.position(), keyLength, StandardCharsets.UTF_8);
    in.position(in.position() + keyLength);
    return new StoredHint(id, owner, new Entry(key, decode(java.util.Arrays.copyOfRange(b, in.position(), b.length))), created);
  }

  static Versioned decode(byte[] b) {
    ByteBuffer in = ByteBuffer.wrap(b);
    long ts = in.getLong();
    int nodeLength = in.getShort() & 0xFFFF;
    String node = new String(b, in.position(), nodeLength, StandardCharsets.UTF_8);
    in.position(in.position() + nodeLength);
    boolean tombstone = in.get() == 1;
    Version version = new Version(ts, node);
    if (tombstone) return Versioned.tombstone(version);
    return new Versioned(new String(b, in.position(), in.remaining(), StandardCharsets.UTF_8), version);
  }
}
