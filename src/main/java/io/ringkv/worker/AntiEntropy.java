package io.ringkv.worker;

import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.storage.HybridClock;
import io.ringkv.storage.RangeTrees;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * Owns this worker's active anti-entropy: every ANTI_ENTROPY_INTERVAL, once its data is in line with
 * the view, it runs one {@link Exchange} with each other owner of its ranges, one peer after the
 * other, and tells the store shards since when each range has been fully exchanged with every other
 * owner (a tombstone is purged only after that; see {@link Store.ExchangedSince}).
 */
public final class AntiEntropy extends AbstractBehavior<AntiEntropy.Command> {
  public sealed interface Command {}

  /** From the worker: the local data is in line with {@code view} (its rebalance completed). */
  public record Settled(ClusterView view) implements Command {}

  /** From the worker: a new view, and a rebalance under way: no exchange until it settles. */
  public enum Unsettled implements Command { INSTANCE }

  public record GetReport(ActorRef<Report> replyTo) implements Command {}

  /** Where one range of this worker's stands. */
  public record RangeState(int range, long token, List<String> owners, long exchangedAtMillis, long keysRepaired,
      boolean complete) {}

  /**
   * Anti-entropy's state: the epoch whose ranges it exchanges (-1: none yet, or a rebalance under
   * way), rounds and exchanges run, keys repaired, bytes of the exchanges' calls, and per owned range
   * the time the last exchange with every other owner completed (0: not yet).
   */
  public record Report(long epoch, long intervalMillis, long rounds, long exchanges, long failedExchanges,
      long keysRepaired, long treeBytes, long keyBytes, long entryBytes, long lastRoundMillis, long lastRoundEndedAtMillis,
      long lastRoundSegments, Round round, List<RangeState> ranges) {}

  /** The round under way: peers exchanged with so far, of how many, and for how long (null: none under way). */
  public record Round(int peersDone, int peers, long elapsedMillis) {}

  private enum Tick implements Command { INSTANCE }

  private record Exchanged(long epoch, String peer, long startedMillis, Exchange.Result result, Throwable failure)
      implements Command {}

  public static Behavior<Command> create(WorkerEnv env) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      ctx.setLoggerName(AntiEntropy.class);   // else its lines went out under the name of a Pekko class (filtered to WARN)
      // the workers' rounds spread over the interval (by node id), so that two of them rarely repair the
      // same differences at once: a round that comes after another finds the trees equal
      Duration interval = env.settings().antiEntropyInterval();
      double phase = 0.5 + Math.floorMod(env.self().hashCode() * 0x9E3779B1, 1000) / 1000.0;
      timers.startTimerWithFixedDelay(Tick.INSTANCE, Duration.ofMillis((long) (interval.toMillis() * phase)), interval);
      return new AntiEntropy(ctx, env);
    }));
  }

  /** Keys one exchange copies at most; the rest wait for the next round (their ranges stay incomplete). */
  static final int MAX_REPAIRS = 100_000;

  private final WorkerEnv env;
  private final LocalStores local;
  private final int n;
  /** The settled view whose ranges are exchanged; null while a rebalance is under way. */
  private ClusterView view;
  private RangeTrees layout = RangeTrees.NONE;
  private long[] tokens = new long[0];
  /** The ranges each other owner shares with this worker. */
  private Map<String, int[]> shared = Map.of();
  /** Per range: owners of it other than this worker (null: not an owner). */
  private List<String>[] others;
  /** Per peer, per range: when the last complete exchange began (wall millis; 0: never). */
  private final Map<String, long[]> completedAt = new HashMap<>();
  private long[] repaired = new long[0];
  private final ArrayDeque<String> round = new ArrayDeque<>();
  private boolean inRound;
  private long roundStarted;
  private long rounds;
  private long exchanges;
  private long failed;
  private long keysRepaired;
  private long treeBytes;
  private long keyBytes;
  private long entryBytes;
  /** Differing segments found in the round under way, and in the last complete one (-1: none yet). */
  private long roundSegments;
  private long lastRoundSegments = -1;
  private boolean roundFailed;
  private int roundPeers;
  private long lastRoundMillis;
  private long lastRoundEnded;

  private AntiEntropy(ActorContext<Command> ctx, WorkerEnv env) {
    super(ctx);
    this.env = env;
    this.local = new LocalStores(env.shards(), ctx.getSystem(), env.settings().peerTimeout());
    this.n = env.settings().replicationFactor();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Settled.class, this::onSettled)
        .onMessageEquals(Unsettled.INSTANCE, this::onUnsettled)
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onMessage(Exchanged.class, this::onExchanged)
        .onMessage(GetReport.class, this::onGetReport)
        .build();
  }

  @SuppressWarnings("unchecked")
  private Behavior<Command> onSettled(Settled s) {
    if (view != null && view.epoch() == s.view().epoch()) return this;
    view = s.view();
    tokens = view.ring().tokens();
    layout = new RangeTrees(view.epoch(), tokens);
    others = new List[tokens.length];
    Map<String, List<Integer>> byPeer = new TreeMap<>();
    for (int r = 0; r < tokens.length; r++) {
      List<String> owners = view.ring().preferenceListForHash(tokens[r], n);
      if (!owners.contains(env.self())) continue;
      List<String> o = new ArrayList<>(owners);
      o.remove(env.self());
      others[r] = o;
      for (String peer : o) byPeer.computeIfAbsent(peer, k -> new ArrayList<>()).add(r);
    }
    Map<String, int[]> next = new TreeMap<>();
    byPeer.forEach((peer, rs) -> next.put(peer, rs.stream().mapToInt(Integer::intValue).toArray()));
    shared = next;
    completedAt.clear();
    repaired = new long[tokens.length];
    round.clear();
    inRound = false;
    tellStores();   // a range without another owner may purge at once; the others wait for their exchanges
    return this;
  }

  private Behavior<Command> onUnsettled() {
    view = null;
    round.clear();
    inRound = false;
    return this;
  }

  private Behavior<Command> onTick() {
    if (view == null || inRound || !env.servesReads().get() || shared.isEmpty()) return this;
    inRound = true;
    roundStarted = System.nanoTime();
    round.addAll(shared.keySet());
    roundPeers = round.size();
    roundSegments = 0;
    roundFailed = false;
    return next();
  }

  private Behavior<Command> next() {
    String peer = round.poll();
    if (peer == null) {
      inRound = false;
      rounds++;
      lastRoundMillis = (System.nanoTime() - roundStarted) / 1_000_000;
      lastRoundEnded = env.clock().wallMillis();
      lastRoundSegments = roundFailed ? -1 : roundSegments;
      return this;
    }
    Member to = view.member(peer);
    long epoch = view.epoch();
    long started = env.clock().wallMillis();
    long expiredBefore = HybridClock.fromMillis(started - env.settings().tombstoneTtl().toMillis());
    getContext().pipeToSelf(Exchange.run(local, Exchange.remote(env.peers(), to), layout, shared.get(peer), MAX_REPAIRS, expiredBefore),
        (result, err) -> new Exchanged(epoch, peer, started, result, err));
    return this;
  }

  private Behavior<Command> onExchanged(Exchanged x) {
    if (view == null || x.epoch() != view.epoch()) return this;   // the ranges changed meanwhile
    exchanges++;
    if (x.failure() != null) {
      failed++;
      roundFailed = true;   // this round proved nothing
      getContext().getLog().debug("anti-entropy exchange with {} failed: {}", x.peer(), x.failure().toString());
    } else {
      Exchange.Result r = x.result();
      long[] at = completedAt.computeIfAbsent(x.peer(), k -> new long[tokens.length]);
      for (int range : r.ranges()) if (!r.incomplete().get(range)) at[range] = x.startedMillis();
      for (int i = 0; i < repaired.length; i++) repaired[i] += r.repairedPerRange()[i];
      keysRepaired += r.pulled() + r.pushed();
      treeBytes += r.treeBytes();
      keyBytes += r.keyBytes();
      entryBytes += r.entryBytes();
      roundSegments += r.segments();
      if (r.pulled() + r.pushed() > 0 || !r.incomplete().isEmpty())
        getContext().getLog().info("anti-entropy with {} in {} ms: {} differing segments, {} keys pulled, {} pushed, {} bytes{}",
            x.peer(), env.clock().wallMillis() - x.startedMillis(), r.segments(), r.pulled(), r.pushed(), r.bytes(),
            r.incomplete().isEmpty() ? "" : ", " + r.incomplete().cardinality() + " ranges incomplete");
      tellStores();
    }
    return next();
  }

  /** Per range, since when every other owner has been fully exchanged with (the oldest of their last complete exchanges). */
  private long[] exchangedSince() {
    long[] since = new long[tokens.length];
    for (int r = 0; r < tokens.length; r++) {
      if (others[r] == null) continue;
      long min = Long.MAX_VALUE;   // no other owner: nobody to miss a delete
      for (String peer : others[r]) {
        long[] at = completedAt.get(peer);
        min = Math.min(min, at == null ? 0 : at[r]);
      }
      since[r] = min;
    }
    return since;
  }

  private void tellStores() {
    Store.ExchangedSince x = new Store.ExchangedSince(view.epoch(), exchangedSince());
    for (var store : env.shards().stores()) store.tell(x);
  }

  private Behavior<Command> onGetReport(GetReport g) {
    List<RangeState> states = new ArrayList<>();
    if (view != null) {
      long[] since = exchangedSince();
      for (int r = 0; r < tokens.length; r++) {
        if (others[r] == null) continue;
        List<String> owners = new ArrayList<>(others[r]);
        owners.add(0, env.self());
        states.add(new RangeState(r, tokens[r], List.copyOf(owners), since[r] == Long.MAX_VALUE ? 0 : since[r], repaired[r],
            since[r] > 0));
      }
    }
    g.replyTo().tell(new Report(view == null ? -1 : view.epoch(), env.settings().antiEntropyInterval().toMillis(), rounds,
        exchanges, failed, keysRepaired, treeBytes, keyBytes, entryBytes, lastRoundMillis, lastRoundEnded,
        lastRoundSegments, inRound ? new Round(roundPeers - round.size() - 1, roundPeers,
            (System.nanoTime() - roundStarted) / 1_000_000) : null, List.copyOf(states)));
    return this;
  }
}
