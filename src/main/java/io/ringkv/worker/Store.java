package io.ringkv.worker;

import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.HybridClock;
import io.ringkv.storage.KvStore;
import io.ringkv.storage.Versioned;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/** Owns one slice of this worker's key-value map: applies versioned writes and answers local reads. */
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

  public static Behavior<Command> create(HybridClock clock, Duration tombstoneTtl) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Store(ctx, timers, clock, tombstoneTtl)));
  }

  private final KvStore store = new KvStore();
  private final HybridClock clock;
  private final Duration tombstoneTtl;

  private Store(ActorContext<Command> ctx, TimerScheduler<Command> timers, HybridClock clock, Duration ttl) {
    super(ctx);
    this.clock = clock;
    this.tombstoneTtl = ttl;
    Duration every = ttl.dividedBy(10).compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : ttl.dividedBy(10);
    timers.startTimerWithFixedDelay(PurgeTick.INSTANCE, every);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Apply.class, this::onApply)
        .onMessage(Read.class, this::onRead)
        .onMessage(ReadMany.class, this::onReadMany)
        .onMessage(Snapshot.class, this::onSnapshot)
        .onMessage(DropIfUnchanged.class, this::onDrop)
        .onMessage(Count.class, this::onCount)
        .onMessageEquals(PurgeTick.INSTANCE, this::onPurge)
        .build();
  }

  private Behavior<Command> onApply(Apply a) {
    List<Applied> outcomes = new java.util.ArrayList<>(a.entries().size());
    for (Entry e : a.entries()) {
      long ts = e.versioned().version().timestamp();
      if (!clock.admits(ts)) {
        // a clock that runs ahead must not win, nor pull this node's clock along
        getContext().getLog().warn("refused {} at version {}: more than MAX_CLOCK_SKEW ({} ms) ahead of this node's clock",
            e.key(), e.versioned().version(), clock.skew().maxSkewMillis());
        outcomes.add(Applied.TOO_FAR_AHEAD);
        continue;
      }
      clock.observe(ts);
      outcomes.add(store.offer(e.key(), e.versioned()));
    }
    a.replyTo().tell(new Offered(List.copyOf(outcomes)));
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
    int dropped = 0;
    for (Entry e : d.entries()) if (store.removeIfVersion(e.key(), e.versioned().version())) dropped++;
    d.replyTo().tell(new Dropped(dropped));
    return this;
  }

  private Behavior<Command> onCount(Count c) {
    c.replyTo().tell(new Counts(store.liveCount(), store.size()));
    return this;
  }

  private Behavior<Command> onPurge() {
    long cutoff = HybridClock.fromMillis(HybridClock.physicalMillis(clock.current()) - tombstoneTtl.toMillis());
    int purged = store.purgeTombstonesBefore(cutoff);
    if (purged > 0) getContext().getLog().debug("purged {} tombstones", purged);
    return this;
  }
}
