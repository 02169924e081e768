package io.ringkv.worker;

import io.ringkv.cluster.Member;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Versioned;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
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
 * Coordinates one client read, in the shape of Pekko's {@code DeviceGroupQuery}: asks
 * {@code READ_QUORUM} owners (this node first when it is one), asks a further owner for each one that
 * fails, counts with {@link QuorumCount}, and decides in one place ({@link #next}): the newest version
 * once the quorum has answered (repairing the owners that answered with an older copy), or a failure
 * as soon as the quorum is out of reach or the deadline passes.
 */
public final class QuorumRead extends AbstractBehavior<QuorumRead.Command> {
  public sealed interface Command {}

  private record Answer(String node, Optional<Versioned> value) implements Command {}

  private record Failed(String node, Throwable cause) implements Command {}

  private enum Deadline implements Command { INSTANCE }

  /** {@code selfServesReads}: false while this node is JOINING; then it does not count itself among the owners read. */
  public static Behavior<Command> create(WorkerEnv env, String key, List<Member> owners, boolean selfServesReads,
      ActorRef<ReadOutcome> replyTo) {
    List<Member> read = selfServesReads ? owners : owners.stream().filter(m -> !m.id().equals(env.self())).toList();
    if (read.isEmpty()) {
      // the key's only owner is this node, and it is JOINING: nobody can answer yet
      replyTo.tell(new ReadOutcome.NotReached(List.of(), "this worker is the key's only owner and is still receiving its"
          + " data (JOINING): try again in a moment"));
      return Behaviors.stopped();
    }
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new QuorumRead(ctx, timers, env, key, read, replyTo)));
  }

  private final WorkerEnv env;
  private final String key;
  private final ActorRef<ReadOutcome> replyTo;
  private final Map<String, Member> byId = new LinkedHashMap<>();
  private final Deque<Member> spares = new ArrayDeque<>();
  private final Map<String, Optional<Versioned>> answers = new LinkedHashMap<>();
  private QuorumCount count;
  private boolean deadlinePassed;

  private QuorumRead(ActorContext<Command> ctx, TimerScheduler<Command> timers, WorkerEnv env, String key,
      List<Member> owners, ActorRef<ReadOutcome> replyTo) {
    super(ctx);
    this.env = env;
    this.key = key;
    this.replyTo = replyTo;
    this.count = QuorumCount.of(Math.min(env.settings().readQuorum(), owners.size()), owners.size());
    for (Member m : owners) if (m.id().equals(env.self())) byId.put(m.id(), m);
    for (Member m : owners) byId.putIfAbsent(m.id(), m);
    spares.addAll(byId.values());
    timers.startSingleTimer(Deadline.INSTANCE, env.settings().requestTimeout());
    for (int i = 0; i < count.needed(); i++) askNext();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Answer.class, this::onAnswer)
        .onMessage(Failed.class, this::onFailed)
        .onMessageEquals(Deadline.INSTANCE, this::onDeadline)
        .build();
  }

  private void askNext() {
    Member m = spares.poll();
    if (m == null) return;
    String id = m.id();
    getContext().pipeToSelf(env.copy(m, key, getContext().getSystem().scheduler()),
        (copy, err) -> err == null ? new Answer(id, copy) : new Failed(id, err));
  }

  private Behavior<Command> onAnswer(Answer a) {
    answers.put(a.node(), a.value());
    count = count.ack(a.node());
    return next();
  }

  private Behavior<Command> onFailed(Failed f) {
    getContext().getLog().debug("read of {} from {} failed: {}", key, f.node(), f.cause().toString());
    count = count.fail(f.node());
    askNext();
    return next();
  }

  private Behavior<Command> onDeadline() {
    deadlinePassed = true;
    return next();
  }

  /** The one exit: the newest copy once the quorum answered, a failure once it cannot or the deadline passed. */
  private Behavior<Command> next() {
    if (count.reached()) {
      Optional<Versioned> newest = Optional.empty();
      for (Optional<Versioned> v : answers.values())
        if (v.isPresent() && v.get().isNewerThan(newest.orElse(null))) newest = v;
      replyTo.tell(new ReadOutcome.Answered(newest, new ArrayList<>(answers.keySet())));
      newest.ifPresent(this::repairStale);
      return Behaviors.stopped();
    }
    if (count.impossible() || deadlinePassed) {
      replyTo.tell(new ReadOutcome.NotReached(new ArrayList<>(answers.keySet()),
          (deadlinePassed ? "read quorum not reached before the deadline: " : "read quorum not reached: ")
              + answers.size() + " of " + count.needed() + " required answers"));
      return Behaviors.stopped();
    }
    return this;
  }

  private void repairStale(Versioned newest) {
    Entry fix = new Entry(key, newest);
    answers.forEach((node, v) -> {
      if (v.isPresent() && !newest.isNewerThan(v.get())) return;
      getContext().getLog().debug("read repair of {} on {}", key, node);
      env.offer(byId.get(node), fix, getContext().getSystem().scheduler());
    });
  }
}
