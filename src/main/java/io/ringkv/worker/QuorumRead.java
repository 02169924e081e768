package io.ringkv.worker;

import io.ringkv.cluster.Member;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Versioned;
import io.ringkv.util.Stages;
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
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Coordinates one client read: asks {@code READ_QUORUM} owners (this node first when it is one),
 * asks a further owner for each one that fails, answers with the newest version once the quorum
 * has answered, and repairs the owners that answered with an older copy.
 */
public final class QuorumRead extends AbstractBehavior<QuorumRead.Command> {
  public sealed interface Command {}

  private record Answer(String node, Optional<Versioned> value) implements Command {}

  private record Failed(String node, Throwable cause) implements Command {}

  private enum Deadline implements Command { INSTANCE }

  public static Behavior<Command> create(WorkerEnv env, String key, List<Member> owners, ActorRef<ReadResult> replyTo) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new QuorumRead(ctx, timers, env, key, owners, replyTo)));
  }

  private final WorkerEnv env;
  private final String key;
  private final ActorRef<ReadResult> replyTo;
  private final Map<String, Member> byId = new LinkedHashMap<>();
  private final Deque<Member> spares = new ArrayDeque<>();
  private final Map<String, Optional<Versioned>> answers = new LinkedHashMap<>();
  private final int needed;
  private int outstanding;

  private QuorumRead(ActorContext<Command> ctx, TimerScheduler<Command> timers, WorkerEnv env, String key,
      List<Member> owners, ActorRef<ReadResult> replyTo) {
    super(ctx);
    this.env = env;
    this.key = key;
    this.replyTo = replyTo;
    this.needed = Math.min(env.settings().readQuorum(), owners.size());
    List<Member> ordered = new ArrayList<>(owners.size());
    for (Member m : owners) if (m.id().equals(env.self())) ordered.add(m);
    for (Member m : owners) if (!m.id().equals(env.self())) ordered.add(m);
    for (Member m : ordered) byId.put(m.id(), m);
    spares.addAll(ordered);
    timers.startSingleTimer(Deadline.INSTANCE, env.settings().requestTimeout());
    for (int i = 0; i < needed; i++) askNext();
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
    outstanding++;
    String id = m.id();
    if (id.equals(env.self())) {
      // not context.ask: its reply stage would hop threads (see Stages)
      getContext().pipeToSelf(Stages.plain(AskPattern.<Store.Command, Store.ReadReply>ask(env.shards().forKey(key),
              r -> new Store.Read(key, r), env.settings().peerTimeout(), getContext().getSystem().scheduler())),
          (ok, err) -> err == null ? new Answer(id, ok.value()) : new Failed(id, err));
    } else {
      getContext().pipeToSelf(env.peers().fetch(m, key),
          (ok, err) -> err == null ? new Answer(id, ok) : new Failed(id, err));
    }
  }

  private Behavior<Command> onAnswer(Answer a) {
    outstanding--;
    answers.put(a.node(), a.value());
    if (answers.size() < needed) return outstanding == 0 ? fail("read quorum not reached") : this;   // nobody left to ask
    Optional<Versioned> newest = Optional.empty();
    for (Optional<Versioned> v : answers.values())
      if (v.isPresent() && v.get().isNewerThan(newest.orElse(null))) newest = v;
    replyTo.tell(ReadResult.of(newest, new ArrayList<>(answers.keySet())));
    newest.ifPresent(this::repairStale);
    return Behaviors.stopped();
  }

  private void repairStale(Versioned newest) {
    List<Entry> fix = List.of(new Entry(key, newest));
    answers.forEach((node, v) -> {
      if (v.isPresent() && !newest.isNewerThan(v.get())) return;
      getContext().getLog().debug("read repair of {} on {}", key, node);
      if (node.equals(env.self())) env.shards().forKey(key).tell(new Store.Apply(fix, getContext().getSystem().ignoreRef()));
      else env.peers().replicate(byId.get(node), fix);
    });
  }

  private Behavior<Command> onFailed(Failed f) {
    outstanding--;
    getContext().getLog().debug("read of {} from {} failed: {}", key, f.node(), f.cause().toString());
    askNext();
    if (outstanding == 0) return fail("read quorum not reached");
    return this;
  }

  private Behavior<Command> onDeadline() {
    return fail("read quorum not reached before the deadline");
  }

  private Behavior<Command> fail(String why) {
    replyTo.tell(ReadResult.failed(503, new ArrayList<>(answers.keySet()),
        why + ": " + answers.size() + " of " + needed + " required answers"));
    return Behaviors.stopped();
  }
}
