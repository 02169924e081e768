package io.ringkv.worker;

import io.ringkv.cluster.Member;
import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Owns the replicas that an owner missed (hinted handoff, in memory): each is offered again every
 * {@link #RETRY_EVERY} until the owner holds it (or a newer version), or for HINT_WINDOW, so
 * a replica that missed a write through a dropped message, a delay or a partition that heals gets its
 * copy without waiting for a read.
 */
public final class Hints extends AbstractBehavior<Hints.Command> {
  public sealed interface Command {}

  /** {@code owner} did not acknowledge {@code entry}. */
  public record Hint(Member owner, Entry entry) implements Command {}

  private record Retry(long id) implements Command {}

  private record Delivered(long id, Applied applied) implements Command {}

  private record Undelivered(long id, Throwable cause) implements Command {}

  public static Behavior<Command> create(WorkerEnv env) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new Hints(ctx, timers, env)));
  }

  static final Duration RETRY_EVERY = Duration.ofMillis(500);
  /** Hints held at once; past this a missed replica waits for a read repair or the next rebalance. */
  static final int MAX_PENDING = 100_000;

  private record Pending(Member owner, Entry entry, long attempts) {}

  private final WorkerEnv env;
  private final TimerScheduler<Command> timers;
  private final Map<Long, Pending> pending = new HashMap<>();
  private long nextId;
  /** Offers of one hint before it is given up (HINT_WINDOW). */
  private final long attempts;

  private Hints(ActorContext<Command> ctx, TimerScheduler<Command> timers, WorkerEnv env) {
    super(ctx);
    this.env = env;
    this.timers = timers;
    this.attempts = Math.max(1, env.settings().hintWindow().toMillis() / RETRY_EVERY.toMillis());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Hint.class, this::onHint)
        .onMessage(Retry.class, this::onRetry)
        .onMessage(Delivered.class, this::onDelivered)
        .onMessage(Undelivered.class, this::onUndelivered)
        .build();
  }

  private Behavior<Command> onHint(Hint h) {
    if (pending.size() >= MAX_PENDING) {
      getContext().getLog().warn("{} hints pending: the hint for {} on {} is dropped", MAX_PENDING, h.entry().key(),
          h.owner().id());
      return this;
    }
    long id = ++nextId;
    pending.put(id, new Pending(h.owner(), h.entry(), 0));
    schedule(id);
    return this;
  }

  private Behavior<Command> onRetry(Retry r) {
    Pending p = pending.get(r.id());
    if (p == null) return this;
    pending.put(r.id(), new Pending(p.owner(), p.entry(), p.attempts() + 1));
    getContext().pipeToSelf(env.offer(p.owner(), p.entry(), getContext().getSystem().scheduler()),
        (applied, err) -> err == null ? new Delivered(r.id(), applied) : new Undelivered(r.id(), err));
    return this;
  }

  private Behavior<Command> onDelivered(Delivered d) {
    if (d.applied().outcome() == Applied.Outcome.NOT_STORED) {
      // its disk failed or is full: try again, it may have room by then
      return onUndelivered(new Undelivered(d.id(), new IllegalStateException("not stored")));
    }
    // stored, already there, or a newer version there (or refused for good): the owner needs this copy no more
    pending.remove(d.id());
    return this;
  }

  private Behavior<Command> onUndelivered(Undelivered u) {
    Pending p = pending.get(u.id());
    if (p == null) return this;
    if (p.attempts() >= attempts) {
      getContext().getLog().debug("hint for {} on {} given up after {}: {}", p.entry().key(), p.owner().id(), env.settings().hintWindow(),
          u.cause().toString());
      pending.remove(u.id());
    } else {
      schedule(u.id());
    }
    return this;
  }

  private void schedule(long id) {
    Retry r = new Retry(id);
    timers.startSingleTimer(r, r, RETRY_EVERY);
  }
}
