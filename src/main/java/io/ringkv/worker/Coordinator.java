package io.ringkv.worker;

import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.net.Forwarded;
import io.ringkv.net.NotSent;
import io.ringkv.net.WriteOutcome;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Scheduler;
import scala.concurrent.ExecutionContext;

/**
 * Routes this worker's client requests, on the thread they arrive on, without an actor or an ask per
 * request: a write is stamped here and goes to the key's primary (or is coordinated here when this
 * node is the primary, or the primary does not take it); reads are coordinated here. Each request is
 * a {@link QuorumWrite} or {@link QuorumRead} driven by the owners' answers.
 *
 * <p>The {@link Worker} actor owns the membership: it hands this class every view it adopts, the
 * clock's standing against the controller's, and its {@link Hints} actor. Those are the only state
 * shared with it, published through volatile fields; the per-key order of the writes this node
 * coordinated ({@link #recent}) is under its own lock.
 */
public final class Coordinator {
  private static final String NO_VIEW = "no UP workers in this node's view yet";
  /** How many keys' last coordinated versions this worker remembers (about 100 bytes each). */
  static final int RECENT_KEYS = 65_536;

  private final WorkerEnv env;
  private final Scheduler scheduler;
  private final int n;
  private volatile ClusterView view;
  private volatile Worker.ClockChecked clock;
  private volatile ActorRef<Hints.Command> hints;
  /**
   * The newest version this worker coordinated, per recently written key. A key's writes are
   * coordinated by its primary; a write whose version is not above the last one (it entered
   * elsewhere a moment earlier, or on a node whose clock is a little behind) is stamped above it
   * before anything is sent, so it has one version still, and concurrent writes of a hot key do not
   * supersede each other at the replicas.
   */
  private final LinkedHashMap<String, Version> recent = new LinkedHashMap<>(1024, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Version> eldest) {
      return size() > RECENT_KEYS;
    }
  };

  public Coordinator(WorkerEnv env, Scheduler scheduler) {
    this.env = env;
    this.scheduler = scheduler;
    this.n = env.settings().replicationFactor();
    this.view = ClusterView.empty(env.settings().vnodes());
  }

  /** From the Worker: its hints actor (before any view). */
  void hints(ActorRef<Hints.Command> hints) {
    this.hints = hints;
  }

  /** From the Worker: the view it adopted; requests are routed by it from now on. */
  void adopt(ClusterView view) {
    this.view = view;
  }

  /** From the Worker: this node's clock against the controller's. */
  void clockChecked(Worker.ClockChecked clock) {
    this.clock = clock;
  }

  /**
   * A client write (value null = delete) enters the cluster here and is stamped here. The key's
   * primary coordinates it (stamping it above the last version it coordinated for the key first, if
   * need be, before anything is sent: see {@link #recent}); when this node is not the primary, the
   * write is forwarded with its version and a deadline. Should the primary be unreachable, be without
   * a view, answer after it can no longer be writing it, or hold a newer version, this node
   * coordinates the same versioned entry itself. So, short of a primary that stops answering in the
   * middle of a write, the owners are sent one version of each write.
   */
  CompletionStage<WriteOutcome> put(String key, String value) {
    List<Member> owners = view.owners(key, n);
    if (owners.isEmpty()) return CompletableFuture.completedFuture(new WriteOutcome.NoView(NO_VIEW));
    Worker.ClockChecked c = clock;
    if (c != null && c.off()) {
      return CompletableFuture.completedFuture(new WriteOutcome.NotReached(List.of(), "this node's clock is " + c.offsetMillis()
          + " ms off the controller's, more than MAX_CLOCK_SKEW: it stamps no writes until the clocks agree"));
    }
    Entry entry = new Entry(key, new Versioned(value, new Version(env.clock().now(), env.self())));
    Member primary = owners.get(0);
    if (primary.id().equals(env.self())) return coordinateInOrder(entry, owners);
    CompletableFuture<WriteOutcome> answer = new CompletableFuture<>();
    long timeout = env.settings().requestTimeout().toMillis();
    long deadline = env.clock().wallMillis() + timeout;
    env.peers().forward(primary, new Forwarded(entry, deadline)).whenComplete((outcome, err) -> {
      if (err == null && (outcome instanceof WriteOutcome.Acked || outcome instanceof WriteOutcome.NotReached))
        answer.complete(outcome);
      else if (err == null || NotSent.of(err)) coordinateHere(entry, answer);
      else {
        // the forward may have reached the primary: coordinate it here only once the primary cannot be
        // writing it any more (it starts nothing after the deadline, and ends within one request timeout)
        long wait = Math.max(0, deadline + timeout - env.clock().wallMillis());
        scheduler.scheduleOnce(Duration.ofMillis(wait), () -> coordinateHere(entry, answer), ExecutionContext.parasitic$.MODULE$);
      }
    });
    return answer;
  }

  /** A write another worker forwarded to this one as its key's primary: at the version it came with. */
  CompletionStage<WriteOutcome> coordinateForwarded(Forwarded write) {
    Entry entry = write.entry();
    List<Member> owners = view.owners(entry.key(), n);
    // this node just restarted: the others saw it UP before it had its own view
    if (owners.isEmpty()) return CompletableFuture.completedFuture(new WriteOutcome.NoView(NO_VIEW));
    if (env.clock().wallMillis() > write.deadlineMillis())
      return CompletableFuture.completedFuture(new WriteOutcome.Expired("arrived after its deadline: the forwarder coordinates it itself"));
    return coordinateInOrder(entry, owners);
  }

  /** A client read at the read quorum. */
  CompletionStage<ReadOutcome> get(String key) {
    List<Member> owners = view.owners(key, n);
    if (owners.isEmpty()) return CompletableFuture.completedFuture(new ReadOutcome.NoView(NO_VIEW));
    CompletableFuture<ReadOutcome> answer = new CompletableFuture<>();
    QuorumRead.start(env, key, owners, env.servesReads().get(), scheduler, answer::complete);
    return answer;
  }

  /**
   * Coordinates the entry as this primary: above the last version it coordinated for the key (see
   * {@link #recent}). The write leaves under the lock, so a key's writes reach each owner's lane in
   * the order of their versions, as when one actor sent them all.
   */
  private CompletionStage<WriteOutcome> coordinateInOrder(Entry e, List<Member> owners) {
    CompletableFuture<WriteOutcome> answer = new CompletableFuture<>();
    synchronized (recent) {
      Version last = recent.get(e.key());
      Entry out = e;
      if (last != null && !e.versioned().version().isNewerThan(last)) {
        env.clock().observe(last.timestamp());
        out = new Entry(e.key(), new Versioned(e.versioned().value(), new Version(env.clock().now(), env.self())));
      }
      if (env.clock().admits(out.versioned().version().timestamp())) recent.put(e.key(), out.versioned().version());
      QuorumWrite.start(env, hints, out, owners, scheduler, answer::complete);
    }
    return answer;
  }

  /** The primary did not take a forwarded write: coordinate the same versioned entry here. */
  private void coordinateHere(Entry entry, CompletableFuture<WriteOutcome> answer) {
    List<Member> owners = view.owners(entry.key(), n);
    if (owners.isEmpty()) answer.complete(new WriteOutcome.NoView(NO_VIEW));
    else QuorumWrite.start(env, hints, entry, owners, scheduler, answer::complete);
  }
}
