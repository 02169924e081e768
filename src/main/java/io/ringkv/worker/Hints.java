package io.ringkv.worker;

import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.GroupCommit;
import io.ringkv.storage.StoredHint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * Owns the replicas that owners missed (hinted handoff): each is kept, on disk with the node's data
 * (not in {@code memory} mode), and offered to its owner every {@link #RETRY_EVERY} while the owner
 * is UP in the view, in batches, until the owner holds it (or a newer version), for at most
 * HINT_WINDOW. Hints survive a restart of this node; they are bounded in count ({@link
 * #MAX_PENDING}) and bytes ({@link #MAX_BYTES}), past which a missed replica waits for anti-entropy.
 */
public final class Hints extends AbstractBehavior<Hints.Command> {
  public sealed interface Command {}

  /** {@code owner} did not acknowledge {@code entry}. */
  public record Hint(Member owner, Entry entry) implements Command {}

  /** The worker's current view: hints go to owners UP in it. */
  public record ViewChanged(ClusterView view) implements Command {}

  public record GetCounts(ActorRef<Counts> replyTo) implements Command {}

  /** Hints held, their bytes (keys and values), delivered and dropped (full, or older than HINT_WINDOW) since start. */
  public record Counts(int pending, long bytes, long delivered, long dropped) {}

  private enum Tick implements Command { INSTANCE }

  private record Answered(String owner, List<StoredHint> sent, List<Applied> applied, Throwable failure) implements Command {}

  public static Behavior<Command> create(WorkerEnv env) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      ctx.setLoggerName(Hints.class);   // it logs while being set up: without this, under the name of a Pekko class
      timers.startTimerWithFixedDelay(Tick.INSTANCE, RETRY_EVERY);
      return new Hints(ctx, env);
    }));
  }

  static final Duration RETRY_EVERY = Duration.ofMillis(500);
  /** Hints held at once, and their bytes of keys and values. */
  static final int MAX_PENDING = 100_000;
  static final long MAX_BYTES = 64L << 20;
  /** Hints offered to one owner in one call. */
  static final int BATCH = 256;

  private final WorkerEnv env;
  private final LocalStores local;
  /** Per owner, its hints by id (oldest first). */
  private final Map<String, LinkedHashMap<Long, StoredHint>> pending = new TreeMap<>();
  /** Owners with a batch under way. */
  private final Set<String> sending = new java.util.HashSet<>();
  private ClusterView view;
  private long nextId;
  private int count;
  private long bytes;
  private long delivered;
  private long dropped;
  private long lastFullWarning;

  private Hints(ActorContext<Command> ctx, WorkerEnv env) {
    super(ctx);
    this.env = env;
    this.local = new LocalStores(env.shards(), ctx.getSystem(), env.settings().peerTimeout());
    for (StoredHint h : env.data().hints()) {
      add(h);
      nextId = Math.max(nextId, h.id());
    }
    if (count > 0) ctx.getLog().info("{} hints found on disk: delivered when their owners answer", count);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Hint.class, this::onHint)
        .onMessage(ViewChanged.class, v -> { view = v.view(); return this; })
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onMessage(Answered.class, this::onAnswered)
        .onMessage(GetCounts.class, g -> { g.replyTo().tell(new Counts(count, bytes, delivered, dropped)); return this; })
        .build();
  }

  private Behavior<Command> onHint(Hint h) {
    if (count >= MAX_PENDING || bytes + h.entry().chars() > MAX_BYTES) {
      dropped++;
      long now = System.nanoTime();
      if (now - lastFullWarning > 10_000_000_000L) {
        lastFullWarning = now;
        getContext().getLog().warn("{} hints ({} bytes) held: new ones are dropped; anti-entropy repairs those replicas", count, bytes);
      }
      return this;
    }
    StoredHint stored = new StoredHint(++nextId, h.owner().id(), h.entry(), env.clock().wallMillis());
    add(stored);
    GroupCommit disk = env.data().writer();
    if (disk != null) disk.submitHints(List.of(stored), List.of());   // not waited for: the write it hints at is already answered
    return this;
  }

  private void add(StoredHint h) {
    pending.computeIfAbsent(h.owner(), k -> new LinkedHashMap<>()).put(h.id(), h);
    count++;
    bytes += h.entry().chars();
  }

  private void remove(List<Long> ids, String owner) {
    LinkedHashMap<Long, StoredHint> mine = pending.get(owner);
    for (long id : ids) {
      StoredHint h = mine == null ? null : mine.remove(id);
      if (h == null) continue;
      count--;
      bytes -= h.entry().chars();
    }
    if (mine != null && mine.isEmpty()) pending.remove(owner);
    GroupCommit disk = env.data().writer();
    if (disk != null && !ids.isEmpty()) disk.submitHints(List.of(), ids);
  }

  /** Drops what is older than HINT_WINDOW, then sends each reachable owner its oldest batch. */
  private Behavior<Command> onTick() {
    long expired = env.clock().wallMillis() - env.settings().hintWindow().toMillis();
    for (String owner : List.copyOf(pending.keySet())) {
      List<Long> old = new ArrayList<>();
      for (StoredHint h : pending.get(owner).values()) {
        if (h.createdMillis() >= expired) break;   // oldest first: the rest are younger
        old.add(h.id());
      }
      if (!old.isEmpty()) {
        dropped += old.size();
        getContext().getLog().debug("{} hints for {} given up after {}", old.size(), owner, env.settings().hintWindow());
        remove(old, owner);
      }
    }
    if (view == null) return this;
    for (var e : pending.entrySet()) {
      String owner = e.getKey();
      Member to = view.member(owner);
      if (sending.contains(owner) || to == null || !view.isUp(owner)) continue;
      List<StoredHint> batch = new ArrayList<>(BATCH);
      for (Iterator<StoredHint> it = e.getValue().values().iterator(); it.hasNext() && batch.size() < BATCH; ) batch.add(it.next());
      List<Entry> entries = batch.stream().map(StoredHint::entry).toList();
      CompletionStage<List<Applied>> sent = owner.equals(env.self()) ? local.replicate(entries) : env.peers().replicate(to, entries);
      sending.add(owner);
      getContext().pipeToSelf(sent, (applied, err) -> new Answered(owner, batch, applied, err));
    }
    return this;
  }

  private Behavior<Command> onAnswered(Answered a) {
    sending.remove(a.owner());
    if (a.failure() != null) return this;   // unreachable, or busy: the next tick tries again
    List<Long> done = new ArrayList<>();
    for (int i = 0; i < a.sent().size(); i++) {
      // stored, already there, a newer version there, or refused for good (too far ahead): the owner
      // needs this copy no more; not stored (its disk): try again, it may have room by then
      if (a.applied().get(i).outcome() != Applied.Outcome.NOT_STORED) done.add(a.sent().get(i).id());
    }
    delivered += done.size();
    remove(done, a.owner());
    return this;
  }
}
