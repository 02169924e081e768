package io.ringkv.worker;

import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Committer;
import io.ringkv.storage.GroupCommit;
import io.ringkv.storage.HybridClock;
import io.ringkv.storage.KvStore;
import io.ringkv.storage.Versioned;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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

  /** Applies each entry if it is newer than the stored one; replies with what happened to each. */
  public record Apply(List<Entry> entries, ActorRef<Offered> replyTo) implements Command {}

  public record Read(String key, ActorRef<ReadReply> replyTo) implements Command {}

  /** Several keys' copies in one message (a batch of replica reads); answers in the order asked. */
  public record ReadMany(List<String> keys, ActorRef<ReadManyReply> replyTo) implements Command {}

  /** Every entry, tombstones included, for the rebalancer. */
  public record Snapshot(ActorRef<SnapshotReply> replyTo) implements Command {}

  /** Removes each key that still holds the given version (after a hand-off). */
  public record DropIfUnchanged(List<Entry> entries, ActorRef<Dropped> replyTo) implements Command {}

  public record Count(ActorRef<Counts> replyTo) implements Command {}

  /** What happened to each entry of an {@link Apply}, in order. */
  public record Offered(List<Applied> outcomes) {}

  public record Dropped(int count) {}

  public record ReadReply(Optional<Versioned> value) {}

  public record ReadManyReply(List<Optional<Versioned>> values) {}

  public record SnapshotReply(List<Entry> entries) {}

  public record Counts(int live, int total) {}

  private enum PurgeTick implements Command { INSTANCE }

  /** The group commit thread wrote (or failed to write) the entries at {@code written} of an {@link Apply}. */
  private record Committed(Apply apply, List<Applied> outcomes, int[] written, boolean stored) implements Command {}

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
  /** Writes on their way to disk, the newest per key: not acknowledged, not in the map yet. */
  private final Map<String, Versioned> pending = new HashMap<>();
  private final HybridClock clock;
  private final Duration tombstoneTtl;

  private Store(ActorContext<Command> ctx, TimerScheduler<Command> timers, HybridClock clock, Duration ttl, KvStore loaded,
      Committer disk) {
    super(ctx);
    this.store = loaded;
    this.disk = disk;
    this.clock = clock;
    this.tombstoneTtl = ttl;
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
        .onMessageEquals(PurgeTick.INSTANCE, this::onPurge)
        .build();
  }

  private Behavior<Command> onApply(Apply a) {
    List<Applied> outcomes = new ArrayList<>(a.entries().size());
    int[] written = new int[a.entries().size()];
    int writes = 0;
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
        outcomes.add(store.offer(e.key(), e.versioned()));
        continue;
      }
      Applied o = offerPending(e);
      outcomes.add(o);
      if (o.holds()) written[writes++] = i;
    }
    if (writes == 0) {
      a.replyTo().tell(new Offered(List.copyOf(outcomes)));
      return this;
    }
    List<Entry> toWrite = new ArrayList<>(writes);
    for (int k = 0; k < writes; k++) toWrite.add(a.entries().get(written[k]));
    int[] at = java.util.Arrays.copyOf(written, writes);
    ActorRef<Command> self = getContext().getSelf();
    if (!disk.submit(toWrite, List.of(), stored -> self.tell(new Committed(a, outcomes, at, stored)))) {
      getContext().getLog().warn("the writes waiting for the disk are at their limit: {} not stored", toWrite.size());
      return onCommitted(new Committed(a, outcomes, at, false));
    }
    return this;
  }

  /**
   * What to do with an entry in durable mode, against the newest pending write of its key or else
   * the map. An entry that holds (stored, or the very version on its way to disk) is written, and its
   * acknowledgement waits for the disk.
   */
  private Applied offerPending(Entry e) {
    Versioned waiting = pending.get(e.key());
    Applied o;
    if (waiting == null) {
      o = store.check(e.key(), e.versioned().version());
    } else {
      int c = e.versioned().version().compareTo(waiting.version());
      o = c > 0 ? Applied.STORED : c == 0 ? Applied.ALREADY_HELD : Applied.superseded(waiting.version());
    }
    if (o == Applied.STORED) pending.put(e.key(), e.versioned());
    return o;
  }

  private Behavior<Command> onCommitted(Committed c) {
    List<Applied> outcomes = c.outcomes();
    for (int i : c.written()) {
      Entry e = c.apply().entries().get(i);
      Versioned waiting = pending.get(e.key());
      if (waiting != null && waiting.version().equals(e.versioned().version())) pending.remove(e.key());
      if (c.stored()) store.apply(e.key(), e.versioned());
      else outcomes.set(i, Applied.NOT_STORED);
    }
    c.apply().replyTo().tell(new Offered(List.copyOf(outcomes)));
    return this;
  }

  private Behavior<Command> onRead(Read r) {
    r.replyTo().tell(new ReadReply(Optional.ofNullable(store.get(r.key()))));
    return this;
  }

  private Behavior<Command> onReadMany(ReadMany r) {
    List<Optional<Versioned>> values = new java.util.ArrayList<>(r.keys().size());
    for (String k : r.keys()) values.add(Optional.ofNullable(store.get(k)));
    r.replyTo().tell(new ReadManyReply(List.copyOf(values)));
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
    forget(dropped);
    d.replyTo().tell(new Dropped(dropped.size()));
    return this;
  }

  private Behavior<Command> onCount(Count c) {
    c.replyTo().tell(new Counts(store.liveCount(), store.size()));
    return this;
  }

  private Behavior<Command> onPurge() {
    long cutoff = HybridClock.fromMillis(HybridClock.physicalMillis(clock.current()) - tombstoneTtl.toMillis());
    List<String> purged = store.purgeTombstonesBefore(cutoff, pending::containsKey);
    forget(purged);
    if (!purged.isEmpty()) getContext().getLog().debug("purged {} tombstones", purged.size());
    return this;
  }

  /** Deletes keys gone from the map from the disk too. Not waited for: a key that survives a crash there is a stray copy, which the next rebalance hands to its owners. */
  private void forget(List<String> keys) {
    if (disk != null && !keys.isEmpty()) disk.submit(List.of(), List.copyOf(keys), stored -> {});
  }
}
