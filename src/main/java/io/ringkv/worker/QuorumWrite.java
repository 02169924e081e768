package io.ringkv.worker;

import io.ringkv.cluster.Member;
import io.ringkv.net.Peers.WriteResult;
import io.ringkv.storage.Entry;
import io.ringkv.util.Stages;
import java.util.ArrayList;
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
 * or with a 503 as soon as the quorum can no longer be reached or the deadline passes. Replicas
 * still in flight complete on their own.
 */
public final class QuorumWrite extends AbstractBehavior<QuorumWrite.Command> {
  public sealed interface Command {}

  private record ReplicaAck(String node) implements Command {}

  private record ReplicaFailed(String node, Throwable cause) implements Command {}

  private enum Deadline implements Command { INSTANCE }

  public static Behavior<Command> create(WorkerEnv env, Entry entry, List<Member> owners, ActorRef<WriteResult> replyTo) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new QuorumWrite(ctx, timers, env, entry, owners, replyTo)));
  }

  private final Entry entry;
  private final ActorRef<WriteResult> replyTo;
  private QuorumCount count;

  private QuorumWrite(ActorContext<Command> ctx, TimerScheduler<Command> timers, WorkerEnv env, Entry entry,
      List<Member> owners, ActorRef<WriteResult> replyTo) {
    super(ctx);
    this.entry = entry;
    this.replyTo = replyTo;
    this.count = QuorumCount.of(env.settings().writeQuorum(), owners.size());
    timers.startSingleTimer(Deadline.INSTANCE, env.settings().requestTimeout());
    for (Member m : owners) {
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
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(ReplicaAck.class, a -> decide(count.ack(a.node())))
        .onMessage(ReplicaFailed.class, this::onFailed)
        .onMessageEquals(Deadline.INSTANCE, this::onDeadline)
        .build();
  }

  private Behavior<Command> onFailed(ReplicaFailed f) {
    getContext().getLog().debug("replica {} failed for key {}: {}", f.node(), entry.key(), f.cause().toString());
    return decide(count.fail(f.node()));
  }

  private Behavior<Command> decide(QuorumCount next) {
    count = next;
    if (count.reached()) {
      replyTo.tell(WriteResult.ok(new ArrayList<>(count.acks()), entry.versioned().version().toString()));
      return Behaviors.stopped();
    }
    if (count.impossible()) return fail("write quorum not reached");
    return this;
  }

  private Behavior<Command> onDeadline() {
    return fail("write quorum not reached before the deadline");
  }

  private Behavior<Command> fail(String why) {
    replyTo.tell(WriteResult.failed(503, new ArrayList<>(count.acks()),
        why + ": " + count.acks().size() + " of " + count.needed() + " required acks"
            + (count.acks().isEmpty() ? "" : " (acked by " + String.join(", ", count.acks()) + ")")));
    return Behaviors.stopped();
  }
}
