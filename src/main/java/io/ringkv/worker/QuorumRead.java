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
import java.util.function.Consumer;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.Scheduler;
import scala.concurrent.ExecutionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Coordinates one client read, in the shape of Pekko's {@code DeviceGroupQuery}: asks
 * {@code READ_QUORUM} owners (this node first when it is one), asks a further owner for each one that
 * fails, counts with {@link QuorumCount}, and decides in one place ({@link #next}): the newest version
 * once the quorum has answered (repairing the owners that answered with an older copy), or a failure
 * as soon as the quorum is out of reach or the deadline passes.
 *
 * <p>Not an actor (see {@link QuorumWrite}): its state is under its own lock, driven by the owners'
 * answers and one timer.
 */
final class QuorumRead {
  private static final Logger log = LoggerFactory.getLogger(QuorumRead.class);

  private final WorkerEnv env;
  private final Scheduler scheduler;
  private final String key;
  private final Consumer<ReadOutcome> reply;
  private final Map<String, Member> byId = new LinkedHashMap<>();
  private final Deque<Member> spares = new ArrayDeque<>();
  private final Map<String, Optional<Versioned>> answers = new LinkedHashMap<>();
  private Cancellable deadline;
  private QuorumCount count;
  private boolean over;

  /**
   * Starts the read; {@code reply} is called once, on whichever thread decides it.
   * {@code selfServesReads}: false while this node is JOINING; then it does not count itself among the owners read.
   */
  static void start(WorkerEnv env, String key, List<Member> owners, boolean selfServesReads, Scheduler scheduler,
      Consumer<ReadOutcome> reply) {
    List<Member> read = selfServesReads ? owners : owners.stream().filter(m -> !m.id().equals(env.self())).toList();
    if (read.isEmpty()) {
      // the key's only owner is this node, and it is JOINING: nobody can answer yet
      reply.accept(new ReadOutcome.NotReached(List.of(), "this worker is the key's only owner and is still receiving its"
          + " data (JOINING): try again in a moment"));
      return;
    }
    new QuorumRead(env, key, read, scheduler, reply).begin();
  }

  private QuorumRead(WorkerEnv env, String key, List<Member> owners, Scheduler scheduler, Consumer<ReadOutcome> reply) {
    this.env = env;
    this.scheduler = scheduler;
    this.key = key;
    this.reply = reply;
    this.count = QuorumCount.of(Math.min(env.settings().readQuorum(), owners.size()), owners.size());
    for (Member m : owners) if (m.id().equals(env.self())) byId.put(m.id(), m);
    for (Member m : owners) byId.putIfAbsent(m.id(), m);
    spares.addAll(byId.values());
  }

  private void begin() {
    List<Member> first = new ArrayList<>();
    synchronized (this) {
      deadline = scheduler.scheduleOnce(env.settings().requestTimeout(), this::onDeadline, ExecutionContext.parasitic$.MODULE$);
      for (int i = 0; i < count.needed() && !spares.isEmpty(); i++) first.add(spares.poll());
    }
    for (Member m : first) ask(m);
  }

  private void ask(Member m) {
    String id = m.id();
    env.copy(m, key).whenComplete((copy, err) -> {
      if (err == null) onAnswer(id, copy);
      else onFailed(id, err);
    });
  }

  private void onAnswer(String node, Optional<Versioned> value) {
    Runnable then;
    synchronized (this) {
      if (over) return;
      answers.put(node, value);
      count = count.ack(node);
      then = next(false);
    }
    if (then != null) then.run();
  }

  private void onFailed(String node, Throwable cause) {
    Member spare;
    Runnable then;
    synchronized (this) {
      if (over) return;
      log.debug("read of {} from {} failed: {}", key, node, cause.toString());
      count = count.fail(node);
      spare = spares.poll();
      then = next(false);
    }
    if (spare != null && then == null) ask(spare);
    if (then != null) then.run();
  }

  private void onDeadline() {
    Runnable then;
    synchronized (this) {
      if (over) return;
      then = next(true);
    }
    if (then != null) then.run();
  }

  /** Under the lock, the one exit: the newest copy once the quorum answered, a failure once it cannot or the deadline passed. */
  private Runnable next(boolean deadlinePassed) {
    if (count.reached()) {
      over = true;
      deadline.cancel();
      Optional<Versioned> newest = Optional.empty();
      for (Optional<Versioned> v : answers.values())
        if (v.isPresent() && v.get().isNewerThan(newest.orElse(null))) newest = v;
      ReadOutcome outcome = new ReadOutcome.Answered(newest, new ArrayList<>(answers.keySet()));
      Map<String, Optional<Versioned>> seen = new LinkedHashMap<>(answers);
      Optional<Versioned> found = newest;
      return () -> {
        reply.accept(outcome);
        found.ifPresent(v -> repairStale(v, seen));
      };
    }
    if (count.impossible() || deadlinePassed) {
      over = true;
      deadline.cancel();
      ReadOutcome outcome = new ReadOutcome.NotReached(new ArrayList<>(answers.keySet()),
          (deadlinePassed ? "read quorum not reached before the deadline: " : "read quorum not reached: ")
              + answers.size() + " of " + count.needed() + " required answers");
      return () -> reply.accept(outcome);
    }
    return null;
  }

  private void repairStale(Versioned newest, Map<String, Optional<Versioned>> seen) {
    Entry fix = new Entry(key, newest);
    seen.forEach((node, v) -> {
      if (v.isPresent() && !newest.isNewerThan(v.get())) return;
      log.debug("read repair of {} on {}", key, node);
      env.offer(byId.get(node), fix);
    });
  }
}
