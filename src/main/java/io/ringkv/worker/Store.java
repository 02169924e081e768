package io.ringkv.worker;

import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Committer;
import io.ringkv.storage.GroupCommit;
import io.ringkv.storage.HybridClock;
import io.ringkv.storage.KvStore;
import io.ringkv.storage.RangeTrees;
import io.ringkv.ring.HashRing;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Owns one slice of this worker's key-value map: applies versioned writes and answers local reads.
 *
 * <p>With a data directory ({@code disk} set), a write is acknowledged only once the {@link
 * GroupCommit} thread has it on disk as DURABILITY asks: until then it waits in {@code pending}
 * (newer writes of the key are checked against it), and reads and rebalance snapshots see the map,
 * which holds only what is on disk. Without one, a write is in the map when it is acknowledged.
 */
public final class Store extends AbstractBehavior<Store.Command> {
  public sealed interface Command {}

  /**
   * Applies each entry if it is newer than the stored one; replies with what happened to each. The
   * reply of this and of the reads is a callback, run on this actor's thread: the client path
   * completes a future with it ({@link #apply}, {@link #read}: no ask, no temporary actor, no timeout
   * task per request); an actor passes {@code ref::tell}.
   */
  public record Apply(List<Entry> entries, Consumer<Offered> replyTo) implements Command {}

  public record Read(String key, Consumer<ReadReply> replyTo) implements Command {}

  /** Several keys' copies in one message (a batch of replica reads); answers in the order asked. */
  public record ReadMany(List<String> keys, Consumer<ReadManyReply> replyTo) implements Command {}

  /** Every entry, tombstones included, for the rebalancer. */
  public record Snapshot(ActorRef<SnapshotReply> replyTo) implements Command {}

  /** Removes each key that still holds the given version (after a hand-off). */
  public record DropIfUnchanged(List<Entry> entries, ActorRef<Dropped> replyTo) implements Command {}

  public record Count(ActorRef<Counts> replyTo) implements Command {}

  /** Drops every entry, on disk too (a node that rejoins empty: see {@link Worker.RejoinEmpty}). */
  public enum Clear implements Command { INSTANCE }

  /** A new view's ring: rebuild the hash trees for its ranges (anti-entropy compares them at {@code epoch}). */
  public record Track(long epoch, long[] tokens) implements Command {}

  /** The hash trees' nodes at {@code level} for {@code ids} (see {@link RangeTrees#values}), if they are at {@code epoch}. */
  public record TreeValues(long epoch, int level, int[] ids, ActorRef<TreeReply> replyTo) implements Command {}

  /** Every entry (lazily, as {@link Snapshot}) with the trees' ranges, if they are at {@code epoch}. */
  public record Listing(long epoch, ActorRef<ListingReply> replyTo) implements Command {}

  /**
   * From anti-entropy: for each range of the ring at {@code epoch}, the wall-clock time (this node's)
   * at which the last complete exchange with every other owner of the range began. A tombstone may
   * be purged only once its range was exchanged so after the tombstone arrived here: every owner holds
   * it (or a newer version) then, and none can bring the key back.
   */
  public record ExchangedSince(long epoch, long[] millis) implements Command {}

  /** {@code entries} offered to {@code store}: what happened to each, in order. */
  static CompletableFuture<List<Applied>> apply(ActorRef<Command> store, List<Entry> entries) {
    CompletableFuture<Offered> offered = new CompletableFuture<>();
    store.tell(new Apply(entries, offered::complete));
    return offered.thenApply(Offered::outcomes);
  }

  /** {@code store}'s copy of {@code key}, tombstone included. */
  static CompletableFuture<Optional<Versioned>> read(ActorRef<Command> store, String key) {
    CompletableFuture<ReadReply> copy = new CompletableFuture<>();
    store.tell(new Read(key, copy::complete));
    return copy.thenApply(ReadReply::value);
  }

  /** What happened to each entry of an {@link Apply}, in order. */
  public record Offered(List<Applied> outcomes) {}

  public record Dropped(int count) {}

  public record ReadReply(Optional<Versioned> value) {}

  public record ReadManyReply(List<Optional<Versioned>> values) {}

  public record SnapshotReply(List<Entry> entries) {}

  /** Live keys, live keys and tombstones, and the epoch of the view whose ranges the hash trees follow (-1: none yet). */
  public record Counts(int live, int total, long treeEpoch) {}

  /** {@code values} null when the trees are at {@code treeEpoch}, not the one asked; {@code problem}: a bad id. */
  public record TreeReply(long treeEpoch, long[] values, String problem) {}

  /** {@code entries} null when the trees are at {@code treeEpoch}, not the one asked; {@code ranges}: segments of keys (read-only use). */
  public record ListingReply(long treeEpoch, KvStore.Snapshot entries, RangeTrees ranges) {}

  private enum PurgeTick implements Command { INSTANCE }

  /**
   * The group commit thread wrote (or failed to write) the entries at {@code written} of an {@link
   * Apply}; those at {@code recheck} were superseded by versions then on their way to disk.
   */
  private record Committed(Apply apply, List<Applied> outcomes, int[] written, int[] recheck, boolean stored)
      implements Command {
    Committed failed() {
      return new Committed(apply, outcomes, written, recheck, false);
    }
  }

  /** A key's writes on their way to disk: the newest version, and how many writes of the key are queued. */
  private record Pending(Versioned newest, int jobs) {
    Applied against(Version v) {
      int c = v.compareTo(newest.version());
      return c > 0 ? Applied.STORED : c == 0 ? Applied.ALREADY_HELD : Applied.superseded(newest.version());
    }

    Pending plus(Pending more) {
      return new Pending(more.newest.isNewerThan(newest) ? more.newest : newest, jobs + more.jobs);
    }

    /** One write fewer; null once none is left (the newest may have failed: the map says what is on disk then). */
    Pending minusOne() {
      return jobs == 1 ? null : new Pending(newest, jobs - 1);
    }
  }

  /** A store in memory only. */
  public static Behavior<Command> create(HybridClock clock, Duration tombstoneTtl) {
    return create(clock, tombstoneTtl, new KvStore(), null);
  }

  /** A store that starts with {@code loaded} (its slice of the data on disk) and writes through {@code disk} (null: memory only). */
  public static Behavior<Command> create(HybridClock clock, Duration tombstoneTtl, KvStore loaded, Committer disk) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Store(ctx, timers, clock, tombstoneTtl, loaded, disk)));
  }

  private final KvStore store;
  private final Committer disk;
  /** Writes on their way to disk, per key: not acknowledged, not in the map yet. */
  private final Map<String, Pending> pending = new HashMap<>();
  private final HybridClock clock;
  private final Duration tombstoneTtl;
  /** When each tombstone stored since this store started arrived (wall millis); those loaded from disk count as arrived at start. */
  private final Map<String, Long> tombstoneArrived = new HashMap<>();
  private final long startedMillis;
  /** The last {@link ExchangedSince} for the trees' epoch (null: none yet, no tombstone may be purged). */
  private ExchangedSince exchanged;

  private Store(ActorContext<Command> ctx, TimerScheduler<Command> timers, HybridClock clock, Duration ttl, KvStore loaded,
      Committer disk) {
    super(ctx);
    this.store = loaded;
    this.disk = disk;
    this.clock = clock;
    this.tombstoneTtl = ttl;
    this.startedMillis = clock.wallMillis();
    Duration every = ttl.dividedBy(10).compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : ttl.dividedBy(10);
    timers.startTimerWithFixedDelay(PurgeTick.INSTANCE, every);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Apply.class, this::onApply)
        .onMessage(Committed.class, this::onCommitted)
        .onMessage(Read.class, this::onRead)
        .onMessage(ReadMany.class, this::onReadMany)
        .onMessage(Snapshot.class, this::onSnapshot)
        .onMessage(DropIfUnchanged.class, this::onDrop)
        .onMessage(Count.class, this::onCount)
        .onMessage(Track.class, this::onTrack)
        .onMessageEquals(Clear.INSTANCE, this::onClear)
        .onMessage(TreeValues.class, this::onTreeValues)
        .onMessage(Listing.class, this::onListing)
        .onMessage(ExchangedSince.class, this::onExchangedSince)
        .onMessageEquals(PurgeTick.INSTANCE, this::onPurge)
        .build();
  }

  private Behavior<Command> onApply(Apply a) {
    List<Applied> outcomes = new ArrayList<>(a.entries().size());
    int[] written = new int[a.entries().size()];
    int[] recheck = new int[a.entries().size()];
    int writes = 0;
    int rechecks = 0;
    for (int i = 0; i < a.entries().size(); i++) {
      Entry e = a.entries().get(i);
      long ts = e.versioned().version().timestamp();
      if (!clock.admits(ts)) {
        // a clock that runs ahead must not win, nor pull this node's clock along
        getContext().getLog().warn("refused {} at version {}: more than MAX_CLOCK_SKEW ({} ms) ahead of this node's clock",
            e.key(), e.versioned().version(), clock.skew().maxSkewMillis());
        outcomes.add(Applied.TOO_FAR_AHEAD);
        continue;
      }
      clock.observe(ts);
      if (disk == null) {
        Applied o = store.offer(e.key(), e.versioned());
        if (o == Applied.STORED) stored(e);
        outcomes.add(o);
        continue;
      }
      Pending waiting = pending.get(e.key());
      Applied o = waiting == null ? store.check(e.key(), e.versioned().version()) : waiting.against(e.versioned().version());
      outcomes.add(o);
      if (o == Applied.STORED || (waiting != null && o == Applied.ALREADY_HELD)) {
        // stored, or the very version on its way to disk: acknowledged once the disk has it
        pending.merge(e.key(), new Pending(e.versioned(), 1), Pending::plus);
        written[writes++] = i;
      } else if (waiting != null && o.outcome() == Applied.Outcome.SUPERSEDED) {
        // the newer version is not on disk yet: the answer waits for it (a rebalance or a hint
        // takes "superseded" as "no need to send it again")
        recheck[rechecks++] = i;
      }
    }
    if (writes == 0 && rechecks == 0) {
      a.replyTo().accept(new Offered(List.copyOf(outcomes)));
      return this;
    }
    List<Entry> toWrite = new ArrayList<>(writes);
    for (int k = 0; k < writes; k++) toWrite.add(a.entries().get(written[k]));
    Committed done = new Committed(a, outcomes, java.util.Arrays.copyOf(written, writes),
        java.util.Arrays.copyOf(recheck, rechecks), true);
    ActorRef<Command> self = getContext().getSelf();
    // the disk takes writes in order: this one's callback comes after those of the pending writes it was checked against
    if (!disk.submit(toWrite, List.of(), stored -> self.tell(stored ? done : done.failed()))) {
      getContext().getLog().warn("the writes waiting for the disk are at their limit: {} not stored", toWrite.size());
      return onCommitted(done.failed());
    }
    return this;
  }

  private Behavior<Command> onCommitted(Committed c) {
    List<Applied> outcomes = c.outcomes();
    for (int i : c.written()) {
      Entry e = c.apply().entries().get(i);
      pending.computeIfPresent(e.key(), (k, p) -> p.minusOne());
      if (!c.stored()) outcomes.set(i, Applied.NOT_STORED);
      else if (store.apply(e.key(), e.versioned())) stored(e);
    }
    for (int i : c.recheck()) {
      // superseded only if the newer version reached the disk; else the sender must try again
      Entry e = c.apply().entries().get(i);
      Applied now = store.check(e.key(), e.versioned().version());
      outcomes.set(i, now.outcome() == Applied.Outcome.SUPERSEDED ? now : Applied.NOT_STORED);
    }
    c.apply().replyTo().accept(new Offered(List.copyOf(outcomes)));
    return this;
  }

  private Behavior<Command> onRead(Read r) {
    r.replyTo().accept(new ReadReply(Optional.ofNullable(store.get(r.key()))));
    return this;
  }

  private Behavior<Command> onReadMany(ReadMany r) {
    List<Optional<Versioned>> values = new java.util.ArrayList<>(r.keys().size());
    for (String k : r.keys()) values.add(Optional.ofNullable(store.get(k)));
    r.replyTo().accept(new ReadManyReply(List.copyOf(values)));
    return this;
  }

  private Behavior<Command> onSnapshot(Snapshot s) {
    s.replyTo().tell(new SnapshotReply(store.snapshot()));
    return this;
  }

  private Behavior<Command> onDrop(DropIfUnchanged d) {
    List<String> dropped = new ArrayList<>();
    for (Entry e : d.entries()) {
      // a key with a newer write on its way to disk keeps it (the delete would reach the disk after it)
      if (!pending.containsKey(e.key()) && store.removeIfVersion(e.key(), e.versioned().version())) dropped.add(e.key());
    }
    dropped.forEach(tombstoneArrived::remove);
    forget(dropped);
    d.replyTo().tell(new Dropped(dropped.size()));
    return this;
  }

  private Behavior<Command> onCount(Count c) {
    c.replyTo().tell(new Counts(store.liveCount(), store.size(), store.trees().epoch()));
    return this;
  }

  /** An entry is in the map now: a tombstone's arrival is noted (see {@link #purgeable}). */
  private void stored(Entry e) {
    if (e.versioned().isTombstone()) tombstoneArrived.put(e.key(), clock.wallMillis());
    else tombstoneArrived.remove(e.key());
  }

  private Behavior<Command> onClear() {
    int dropped = store.size();
    store.clear();
    tombstoneArrived.clear();
    org.slf4j.Logger log = getContext().getLog();   // the callback runs on the commit thread: no context there
    if (disk != null && !disk.submitWipe(stored -> {
      if (!stored) log.error("the data on disk could not be dropped: it comes back at the next start");
    })) log.error("the data on disk could not be dropped (too many writes waiting): it comes back at the next start");
    getContext().getLog().info("dropped {} entries", dropped);
    return this;
  }

  private Behavior<Command> onTrack(Track t) {
    if (t.epoch() <= store.trees().epoch()) return this;
    long start = System.nanoTime();
    store.track(new RangeTrees(t.epoch(), t.tokens()));
    exchanged = null;   // the ranges changed: no exchange of the new ones has run yet
    getContext().getLog().debug("hash trees of {} entries rebuilt for epoch {} in {} ms", store.size(), t.epoch(),
        (System.nanoTime() - start) / 1_000_000);
    return this;
  }

  private Behavior<Command> onTreeValues(TreeValues t) {
    RangeTrees trees = store.trees();
    if (trees.epoch() != t.epoch()) {
      t.replyTo().tell(new TreeReply(trees.epoch(), null, null));
      return this;
    }
    try {
      t.replyTo().tell(new TreeReply(trees.epoch(), trees.values(t.level(), t.ids()), null));
    } catch (IllegalArgumentException e) {
      t.replyTo().tell(new TreeReply(trees.epoch(), null, e.getMessage()));
    }
    return this;
  }

  private Behavior<Command> onListing(Listing l) {
    RangeTrees trees = store.trees();
    l.replyTo().tell(new ListingReply(trees.epoch(), trees.epoch() == l.epoch() ? store.snapshot() : null, trees));
    return this;
  }

  private Behavior<Command> onExchangedSince(ExchangedSince x) {
    if (x.epoch() == store.trees().epoch() && x.millis().length == store.trees().ranges()) exchanged = x;
    return this;
  }

  private Behavior<Command> onPurge() {
    // the wall clock, not the hybrid clock's last reading: that one stands still on a node that stamps nothing
    long cutoff = HybridClock.fromMillis(clock.wallMillis() - tombstoneTtl.toMillis());
    List<String> purged = store.purgeTombstones((key, ts) -> ts < cutoff && purgeable(key));
    purged.forEach(tombstoneArrived::remove);
    forget(purged);
    if (!purged.isEmpty()) getContext().getLog().debug("purged {} tombstones", purged.size());
    return this;
  }

  /**
   * Whether a tombstone older than TOMBSTONE_TTL may go: no write of the key is on its way to disk,
   * and a complete anti-entropy exchange of its range with every other owner began after the
   * tombstone arrived here (so every owner holds it, or a newer version).
   */
  private boolean purgeable(String key) {
    if (pending.containsKey(key) || exchanged == null || exchanged.epoch() != store.trees().epoch()) return false;
    long since = exchanged.millis()[store.trees().rangeOf(HashRing.hash(key))];
    return since > tombstoneArrived.getOrDefault(key, startedMillis);
  }

  /** Deletes keys gone from the map from the disk too. Not waited for: a key that survives a crash there is a stray copy, which the next rebalance hands to its owners. */
  private void forget(List<String> keys) {
    if (disk != null && !keys.isEmpty()) disk.submit(List.of(), List.copyOf(keys), stored -> {});
  }
}
