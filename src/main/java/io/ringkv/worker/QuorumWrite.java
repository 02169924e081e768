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
import java.util.function.Consumer;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Scheduler;
import scala.concurrent.ExecutionContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 *
 * <p>Not an actor: a small state machine driven by the owners' answers (futures completed by the
 * link and the store) and one timer, its state under its own lock. An actor per write cost a spawn,
 * a mailbox and a stop per request, the largest per-request cost of the coordinator after HTTP.
 */
final class QuorumWrite {
  private static final Logger log = LoggerFactory.getLogger(QuorumWrite.class);

  private final WorkerEnv env;
  private final ActorRef<Hints.Command> hints;
  private final Consumer<WriteOutcome> reply;
  /** The owners that have not answered yet. */
  private final Map<String, Member> waiting = new LinkedHashMap<>();
  /** The refusals: the newer versions some owners hold, and the owners whose clocks refused this version. */
  private final Map<String, Version> newerHeld = new LinkedHashMap<>();
  private final Set<String> tooFarAhead = new LinkedHashSet<>();
  /** The owners that could not make the write durable (a failed or full disk). */
  private final Set<String> notStored = new LinkedHashSet<>();
  private final Entry entry;
  private final Cancellable deadline;
  private QuorumCount count;
  private boolean answered;
  private boolean over;

  /** Starts the write; {@code reply} is called once, on whichever thread decides it. */
  static void start(WorkerEnv env, ActorRef<Hints.Command> hints, Entry entry, List<Member> owners, Scheduler scheduler,
      Consumer<WriteOutcome> reply) {
    new QuorumWrite(env, hints, entry, owners, scheduler, reply);
  }

  private QuorumWrite(WorkerEnv env, ActorRef<Hints.Command> hints, Entry entry, List<Member> owners, Scheduler scheduler,
      Consumer<WriteOutcome> reply) {
    this.env = env;
    this.hints = hints;
    this.entry = entry;
    this.reply = reply;
    this.count = QuorumCount.of(env.settings().writeQuorum(), owners.size());
    for (Member m : owners) waiting.put(m.id(), m);
    synchronized (this) {
      this.deadline = scheduler.scheduleOnce(env.settings().requestTimeout(), this::onDeadline, ExecutionContext.parasitic$.MODULE$);
    }
    for (Member m : owners) {
      String id = m.id();
      env.offer(m, entry).whenComplete((applied, err) -> {
        if (err == null) onOffered(id, applied);
        else onFailed(id, err);
      });
    }
  }

  private void onOffered(String node, Applied applied) {
    WriteOutcome outcome;
    synchronized (this) {
      if (over) return;
      Member owner = waiting.remove(node);
      if (applied.holds()) {
        count = count.ack(node);
      } else {
        if (applied.held() != null) newerHeld.put(node, applied.held());
        else if (applied.outcome() == Applied.Outcome.NOT_STORED) {
          notStored.add(node);
          hints.tell(new Hints.Hint(owner, entry));   // its disk may have room again by then
        } else {
          tooFarAhead.add(node);
          env.clock().refusedByPeer();
        }
        count = count.fail(node);
      }
      outcome = next();
    }
    if (outcome != null) reply.accept(outcome);
  }

  private void onFailed(String node, Throwable cause) {
    WriteOutcome outcome;
    synchronized (this) {
      if (over) return;
      log.debug("replica {} failed for key {}: {}", node, entry.key(), cause.toString());
      hints.tell(new Hints.Hint(waiting.remove(node), entry));
      count = count.fail(node);
      outcome = next();
    }
    if (outcome != null) reply.accept(outcome);
  }

  private void onDeadline() {
    WriteOutcome outcome = null;
    synchronized (this) {
      if (over) return;
      over = true;
      if (!answered) {
        answered = true;
        outcome = new WriteOutcome.NotReached(acks(), "write quorum not reached before the deadline: " + tally());
      }
      // still silent: their calls may yet land, and an offer of a version they hold costs nothing
      for (Member m : waiting.values()) hints.tell(new Hints.Hint(m, entry));
    }
    if (outcome != null) reply.accept(outcome);
  }

  /** Under the lock: the answer, once (at the quorum, or as soon as it is out of reach); over once every owner answered. */
  private WriteOutcome next() {
    WriteOutcome outcome = null;
    if (!answered && count.reached()) outcome = new WriteOutcome.Acked(acks(), entry.versioned().version());
    else if (!answered && count.impossible()) outcome = refused();
    if (outcome != null) answered = true;
    if (waiting.isEmpty()) {
      over = true;
      if (deadline != null) deadline.cancel();   // null only while the constructor has not armed it yet
    }
    return outcome;
  }

  /** Why the quorum is out of reach: owners that hold newer versions, clocks that refused ours, failures. */
  private WriteOutcome refused() {
    if (!tooFarAhead.isEmpty()) {
      log.warn("owners {} refused {} at {}: further ahead of their clocks than MAX_CLOCK_SKEW; this node's"
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

  private List<String> acks() {
    return new ArrayList<>(count.acks());
  }

  private String tally() {
    return count.acks().size() + " of " + count.needed() + " required acks"
        + (count.acks().isEmpty() ? "" : " (acked by " + String.join(", ", count.acks()) + ")");
  }
}
