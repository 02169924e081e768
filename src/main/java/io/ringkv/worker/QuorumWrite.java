package io.ringkv.worker;

import io.ringkv.cluster.Member;
import io.ringkv.net.Peers.WriteResult;
import io.ringkv.storage.Entry;
import io.ringkv.util.Stages;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Coordinates one versioned write: sends it to every owner at once (the local store for this node,
 * {@code Peers.replicate} for the others) and answers as soon as the write quorum has acknowledged,
 * or with a 503 as soon as the quorum can no longer be reached or the deadline passes. Then it stays
 * on as a hint: an owner that failed is sent the write again every {@link #RETRY_EVERY} until it
 * acknowledges or {@link #HINT_WINDOW} has passed since the first failure, so a replica that missed the write through a
 * dropped message, a delay or a partition that heals gets its copy without waiting for a read.
 */
public final class QuorumWrite extends AbstractBehavior<QuorumWrite.Command> {
  public sealed interface Command {}

  private record ReplicaAck(String node) implements Command {}

  private record ReplicaFailed(String node, Throwable cause) implements Command {}

  private enum Deadline implements Command { INSTANCE }

  private enum HintDeadline implements Command { INSTANCE }

  private record Retry(String node) implements Command {}

  public static Behavior<Command> create(WorkerEnv env, Entry entry, List<Member> owners, ActorRef<WriteResult> replyTo) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new QuorumWrite(ctx, timers, env, entry, owners, replyTo)));
  }

  static final Duration RETRY_EVERY = Duration.ofMillis(500);
  static final Duration HINT_WINDOW = Duration.ofSeconds(30);
  private final WorkerEnv env;
  private final TimerScheduler<Command> timers;
  private final Entry entry;
  private final ActorRef<WriteResult> replyTo;
  private final Map<String, Member> pending = new HashMap<>();
  private QuorumCount count;
  private boolean answered;

  private QuorumWrite(ActorContext<Command> ctx, TimerScheduler<Command> timers, WorkerEnv env, Entry entry,
      List<Member> owners, ActorRef<WriteResult> replyTo) {
    super(ctx);
    this.env = env;
    this.timers = timers;
    this.entry = entry;
    this.replyTo = replyTo;
    this.count = QuorumCount.of(env.settings().writeQuorum(), owners.size());
    timers.startSingleTimer(Deadline.INSTANCE, env.settings().requestTimeout());
    for (Member m : owners) {
      pending.put(m.id(), m);
      send(m);
    }
  }

  private void send(Member m) {
    ActorContext<Command> ctx = getContext();
    String id = m.id();
    if (id.equals(env.self())) {
      // not ctx.ask: its reply stage would hop threads (see Stages)
      ctx.pipeToSelf(Stages.plain(AskPattern.<Store.Command, Store.Applied>ask(env.shards().forKey(entry.key()),
              r -> new Store.Apply(List.of(entry), r), env.settings().peerTimeout(), ctx.getSystem().scheduler())),
          (ok, err) -> err == null ? new ReplicaAck(id) : new ReplicaFailed(id, err));
    } else {
      ctx.pipeToSelf(env.peers().replicate(m, List.of(entry)),
          (ok, err) -> err == null ? new ReplicaAck(id) : new ReplicaFailed(id, err));
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(ReplicaAck.class, this::onAck)
        .onMessage(ReplicaFailed.class, this::onFailed)
        .onMessage(Retry.class, this::onRetry)
        .onMessageEquals(Deadline.INSTANCE, this::onDeadline)
        .onMessageEquals(HintDeadline.INSTANCE, () -> Behaviors.stopped())
        .build();
  }

  private Behavior<Command> onAck(ReplicaAck a) {
    pending.remove(a.node());
    decide(count.ack(a.node()));
    return pending.isEmpty() ? Behaviors.stopped() : this;
  }

  private Behavior<Command> onFailed(ReplicaFailed f) {
    getContext().getLog().debug("replica {} failed for key {}: {}", f.node(), entry.key(), f.cause().toString());
    decide(count.fail(f.node()));
    // started only now: a write that every owner acknowledges (nearly all) leaves no 30-second timer
    // behind in the scheduler
    if (!timers.isTimerActive(HintDeadline.INSTANCE)) timers.startSingleTimer(HintDeadline.INSTANCE, HINT_WINDOW);
    timers.startSingleTimer(new Retry(f.node()), new Retry(f.node()), RETRY_EVERY);
    return this;
  }

  private Behavior<Command> onRetry(Retry r) {
    Member m = pending.get(r.node());
    if (m != null) send(m);
    return this;
  }

  /** Answers the client once: success at the quorum, failure as soon as it is out of reach. */
  private void decide(QuorumCount next) {
    count = next;
    if (answered) return;
    if (count.reached()) {
      answered = true;
      replyTo.tell(WriteResult.ok(new ArrayList<>(count.acks()), entry.versioned().version().toString()));
    } else if (count.impossible()) {
      fail("write quorum not reached");
    }
  }

  private Behavior<Command> onDeadline() {
    if (!answered) fail("write quorum not reached before the deadline");
    return this;
  }

  private void fail(String why) {
    answered = true;
    replyTo.tell(WriteResult.failed(503, new ArrayList<>(count.acks()),
        why + ": " + count.acks().size() + " of " + count.needed() + " required acks"
            + (count.acks().isEmpty() ? "" : " (acked by " + String.join(", ", count.acks()) + ")")));
  }
}
