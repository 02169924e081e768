package io.ringkv.worker;

import io.ringkv.cluster.Member;
import io.ringkv.net.WriteOutcome;
import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Version;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Coordinates one versioned write: offers it to every owner at once (the local store for this node,
 * {@code Peers.replicate} for the others) and answers as soon as the write quorum holds it, or as
 * soon as the quorum can no longer be reached, or at the deadline. An owner that holds a newer
 * version does not acknowledge; it says which version it holds. A write whose quorum is out of reach
 * because owners hold newer versions is answered {@link WriteOutcome.Superseded} (a 503): it keeps
 * the one version it was given where it entered the cluster (stamping it again would make a second
 * version of one client write, and the history checker found exactly that when it was tried), and
 * this node's clock observes the newer versions, so a retry through it is stamped above them. An
 * owner that failed, could not store the write durably, or had not answered by the deadline, is
 * handed to {@link Hints}, which offers it the write again.
 */
public final class QuorumWrite extends AbstractBehavior<QuorumWrite.Command> {
  public sealed interface Command {}

  private record Offered(String node, Applied applied) implements Command {}

  private record Failed(String node, Throwable cause) implements Command {}

  private enum Deadline implements Command { INSTANCE }

  public static Behavior<Command> create(WorkerEnv env, ActorRef<Hints.Command> hints, Entry entry, List<Member> owners,
      ActorRef<WriteOutcome> replyTo) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new QuorumWrite(ctx, timers, env, hints, entry, owners, replyTo)));
  }

  private final WorkerEnv env;
  private final ActorRef<Hints.Command> hints;
  private final ActorRef<WriteOutcome> replyTo;
  /** The owners that have not answered yet. */
  private final Map<String, Member> waiting = new LinkedHashMap<>();
  /** The refusals: the newer versions some owners hold, and the owners whose clocks refused this version. */
  private final Map<String, Version> newerHeld = new LinkedHashMap<>();
  private final Set<String> tooFarAhead = new LinkedHashSet<>();
  /** The owners that could not make the write durable (a failed or full disk). */
  private final Set<String> notStored = new LinkedHashSet<>();
  private final Entry entry;
  private QuorumCount count;
  private boolean answered;

  private QuorumWrite(ActorContext<Command> ctx, TimerScheduler<Command> timers, WorkerEnv env,
      ActorRef<Hints.Command> hints, Entry entry, List<Member> owners, ActorRef<WriteOutcome> replyTo) {
    super(ctx);
    this.env = env;
    this.hints = hints;
    this.entry = entry;
    this.replyTo = replyTo;
    this.count = QuorumCount.of(env.settings().writeQuorum(), owners.size());
    timers.startSingleTimer(Deadline.INSTANCE, env.settings().requestTimeout());
    for (Member m : owners) {
      waiting.put(m.id(), m);
      String id = m.id();
      ctx.pipeToSelf(env.offer(m, entry, ctx.getSystem().scheduler()),
          (applied, err) -> err == null ? new Offered(id, applied) : new Failed(id, err));
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Offered.class, this::onOffered)
        .onMessage(Failed.class, this::onFailed)
        .onMessageEquals(Deadline.INSTANCE, this::onDeadline)
        .build();
  }

  private Behavior<Command> onOffered(Offered o) {
    Member owner = waiting.remove(o.node());
    if (o.applied().holds()) {
      count = count.ack(o.node());
    } else {
      if (o.applied().held() != null) newerHeld.put(o.node(), o.applied().held());
      else if (o.applied().outcome() == Applied.Outcome.NOT_STORED) {
        notStored.add(o.node());
        hints.tell(new Hints.Hint(owner, entry));   // its disk may have room again by then
      } else {
        tooFarAhead.add(o.node());
        env.clock().refusedByPeer();
      }
      count = count.fail(o.node());
    }
    return next();
  }

  private Behavior<Command> onFailed(Failed f) {
    getContext().getLog().debug("replica {} failed for key {}: {}", f.node(), entry.key(), f.cause().toString());
    hints.tell(new Hints.Hint(waiting.remove(f.node()), entry));
    count = count.fail(f.node());
    return next();
  }

  private Behavior<Command> onDeadline() {
    if (!answered) answer(new WriteOutcome.NotReached(acks(), "write quorum not reached before the deadline: " + tally()));
    // still silent: their calls may yet land, and an offer of a version they hold costs nothing
    for (Member m : waiting.values()) hints.tell(new Hints.Hint(m, entry));
    return Behaviors.stopped();
  }

  /** Answers the client once (at the quorum, or as soon as it is out of reach); stops once every owner answered. */
  private Behavior<Command> next() {
    if (!answered && count.reached()) {
      answer(new WriteOutcome.Acked(acks(), entry.versioned().version()));
    } else if (!answered && count.impossible()) {
      answer(refused());
    }
    return waiting.isEmpty() ? Behaviors.stopped() : this;
  }

  /** Why the quorum is out of reach: owners that hold newer versions, clocks that refused ours, failures. */
  private WriteOutcome refused() {
    if (!tooFarAhead.isEmpty()) {
      getContext().getLog().warn("owners {} refused {} at {}: further ahead of their clocks than MAX_CLOCK_SKEW; this node's"
          + " clock may run ahead", tooFarAhead, entry.key(), entry.versioned().version());
      return new WriteOutcome.NotReached(acks(), "owners " + String.join(", ", tooFarAhead) + " refused the write's version as"
          + " further ahead of their clocks than MAX_CLOCK_SKEW (this node's clock may run ahead): " + tally());
    }
    if (!newerHeld.isEmpty()) {
      // a retry through this node is stamped above what the owners hold
      for (Version held : newerHeld.values()) if (env.clock().admits(held.timestamp())) env.clock().observe(held.timestamp());
      return new WriteOutcome.Superseded(acks(), "owners " + String.join(", ", newerHeld.keySet())
          + " already hold a newer version of this key: " + tally());
    }
    if (!notStored.isEmpty()) {
      return new WriteOutcome.NotReached(acks(), "owners " + String.join(", ", notStored) + " could not store the write"
          + " durably (a failed or full disk): " + tally());
    }
    return new WriteOutcome.NotReached(acks(), "write quorum not reached: " + tally());
  }

  private void answer(WriteOutcome outcome) {
    answered = true;
    replyTo.tell(outcome);
  }

  private List<String> acks() {
    return new ArrayList<>(count.acks());
  }

  private String tally() {
    return count.acks().size() + " of " + count.needed() + " required acks"
        + (count.acks().isEmpty() ? "" : " (acked by " + String.join(", ", count.acks()) + ")");
  }
}
