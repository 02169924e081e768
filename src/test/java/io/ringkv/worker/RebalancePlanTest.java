package io.ringkv.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.cluster.Member.Status;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class RebalancePlanTest {
  private static final int N = 3;
  private static final int KEYS = 2_000;
  private static final int BATCH = 50;
  private static final int VNODES = ConfigFactory.load().getInt("ringkv.ring.vnodes");

  private static Member member(int i, Status status, String instance) {
    return new Member("worker" + i, "127.0.0.1", 9100 + i, status, instance);
  }

  private static ClusterView fourUp() {
    Map<String, Member> members = new TreeMap<>();
    for (int i = 1; i <= 4; i++) members.put("worker" + i, member(i, Status.UP, "i" + i));
    return new ClusterView(1, members, VNODES);
  }

  private static List<Entry> entries() {
    List<Entry> out = new ArrayList<>();
    for (int i = 0; i < KEYS; i++)
      out.add(new Entry("key-" + i, new Versioned("value-" + i, new Version(1000 + i, "worker1"))));
    return out;
  }

  /** What each node holds after a settled cluster under {@code view}: every owner has each key it owns. */
  private static Map<String, List<Entry>> holdings(ClusterView view, List<Entry> entries) {
    Map<String, List<Entry>> out = new TreeMap<>();
    for (String id : view.members().keySet()) out.put(id, new ArrayList<>());
    for (Entry e : entries) for (String owner : view.ownerIds(e.key(), N)) out.get(owner).add(e);
    return out;
  }

  /** The plan of every node that is UP in {@code to}, from what it holds. */
  private static Map<String, RebalancePlan> plans(ClusterView from, ClusterView to, Map<String, List<Entry>> held,
      int batchSize) {
    Map<String, RebalancePlan> out = new TreeMap<>();
    for (String id : to.members().keySet()) {
      if (!to.isUp(id)) continue;
      out.put(id, RebalancePlan.compute(id, from, to, N, held.getOrDefault(id, List.of()), batchSize));
    }
    return out;
  }

  /** key -> target -> senders, over every batch of every plan. */
  private static Map<String, Map<String, List<String>>> deliveries(Map<String, RebalancePlan> plans) {
    Map<String, Map<String, List<String>>> out = new HashMap<>();
    plans.forEach((sender, plan) -> {
      for (RebalancePlan.Batch b : plan.batches())
        for (Entry e : b.entries())
          out.computeIfAbsent(e.key(), k -> new TreeMap<>())
              .computeIfAbsent(b.target().id(), k -> new ArrayList<>()).add(sender);
    });
    return out;
  }

  /** New owners that did not hold the key under {@code from} as the same running instance. */
  private static Set<String> expectedGained(String key, ClusterView from, ClusterView to) {
    Set<String> gained = new LinkedHashSet<>(to.ownerIds(key, N));
    for (String old : from.ownerIds(key, N)) {
      Member before = from.member(old);
      Member now = to.member(old);
      if (now != null && now.isUp() && now.instance().equals(before.instance())) gained.remove(old);
    }
    return gained;
  }

  private static void assertBatchesRespectSize(Map<String, RebalancePlan> plans, int batchSize, ClusterView to) {
    plans.forEach((sender, plan) -> {
      Map<String, Integer> perTarget = new HashMap<>();
      Map<String, Integer> batchCount = new HashMap<>();
      for (RebalancePlan.Batch b : plan.batches()) {
        assertFalse(b.entries().isEmpty(), "empty batch from " + sender);
        assertTrue(b.entries().size() <= batchSize, "batch of " + b.entries().size() + " from " + sender);
        assertEquals(to.member(b.target().id()), b.target(), "the target carries its address in the new view");
        assertTrue(to.isUp(b.target().id()), "never push to a DOWN node");
        perTarget.merge(b.target().id(), b.entries().size(), Integer::sum);
        batchCount.merge(b.target().id(), 1, Integer::sum);
      }
      perTarget.forEach((target, total) -> assertEquals((total + batchSize - 1) / batchSize,
          (int) batchCount.get(target), "as few batches as the size allows, " + sender + " -> " + target));
    });
  }

  /** Old owners that run as the same instance in {@code to} and hold the key: each may have the newest copy. */
  private static List<String> expectedSenders(Entry e, ClusterView from, ClusterView to, Map<String, List<Entry>> held) {
    List<String> out = new ArrayList<>();
    for (String old : from.ownerIds(e.key(), N)) {
      Member before = from.member(old);
      Member now = to.member(old);
      if (now != null && now.isUp() && now.instance().equals(before.instance())
          && held.getOrDefault(old, List.of()).contains(e)) out.add(old);
    }
    out.sort(null);
    return out;
  }

  private static void assertEachGainedOwnerGetsTheKeyFromEverySurvivor(List<Entry> entries, ClusterView from,
      ClusterView to, Map<String, List<Entry>> held, Map<String, RebalancePlan> plans) {
    Map<String, Map<String, List<String>>> delivered = deliveries(plans);
    int changed = 0;
    for (Entry e : entries) {
      Set<String> gained = expectedGained(e.key(), from, to);
      Map<String, List<String>> got = delivered.getOrDefault(e.key(), Map.of());
      assertEquals(gained, got.keySet(), "receivers of " + e.key());
      List<String> senders = expectedSenders(e, from, to, held);
      got.forEach((target, from_) -> assertEquals(senders, from_,
          e.key() + " reaches " + target + " from every surviving old owner (any may be the one with the newest copy)"));
      if (!gained.isEmpty()) changed++;
    }
    int moving = 0;
    for (RebalancePlan p : plans.values()) moving += p.keysToMove();
    assertEquals(changed, moving, "keysToMove counts each moving key once");
  }

  @Test
  void aNodeGoingDownIsReplacedFromTheSurvivorsAndNothingElseMoves() {
    List<Entry> entries = entries();
    ClusterView from = fourUp();
    ClusterView to = from.with(from.member("worker3").withStatus(Status.DOWN), 2);
    Map<String, List<Entry>> held = holdings(from, entries);
    held.remove("worker3");   // it is gone

    Map<String, RebalancePlan> plans = plans(from, to, held, BATCH);
    assertEquals(Set.of("worker1", "worker2", "worker4"), plans.keySet());
    assertEachGainedOwnerGetsTheKeyFromEverySurvivor(entries, from, to, held, plans);

    Map<String, Map<String, List<String>>> delivered = deliveries(plans);
    int changedKeys = 0;
    for (Entry e : entries) {
      boolean ownersChanged = !new HashSet<>(from.ownerIds(e.key(), N)).equals(new HashSet<>(to.ownerIds(e.key(), N)));
      if (!ownersChanged) assertFalse(delivered.containsKey(e.key()), e.key() + " kept its owners but moved");
      else {
        changedKeys++;
        // the one node that did not own it before receives it, from the surviving old owners
        Map<String, List<String>> got = delivered.get(e.key());
        assertEquals(1, got.size(), e.key() + ": " + got);
        String target = got.keySet().iterator().next();
        assertFalse(from.ownerIds(e.key(), N).contains(target));
        assertTrue(from.ownerIds(e.key(), N).containsAll(got.get(target)));
      }
    }
    assertTrue(changedKeys > KEYS / 2, "worker3 owned about 3/4 of the keys: " + changedKeys);
    for (RebalancePlan p : plans.values()) assertEquals(List.of(), p.handoffs(), "no survivor lost a key");
    assertBatchesRespectSize(plans, BATCH, to);
  }

  @Test
  void aNodeComingBackWithANewInstanceGetsItsKeysFromTheNodesThatLoseThem() {
    List<Entry> entries = entries();
    ClusterView up = fourUp();
    ClusterView from = up.with(up.member("worker3").withStatus(Status.DOWN), 2);
    ClusterView to = from.with(member(3, Status.UP, "i3b"), 3);
    Map<String, List<Entry>> held = holdings(from, entries);   // the three survivors hold every key
    assertEquals(List.of(), held.get("worker3"));

    Map<String, RebalancePlan> plans = plans(from, to, held, BATCH);
    assertEquals(Set.of("worker1", "worker2", "worker3", "worker4"), plans.keySet());
    assertEquals(List.of(), plans.get("worker3").batches());
    assertEachGainedOwnerGetsTheKeyFromEverySurvivor(entries, from, to, held, plans);

    Map<String, Map<String, List<String>>> delivered = deliveries(plans);
    Map<String, Map<String, RebalancePlan.Handoff>> handoffs = new HashMap<>();   // key -> loser -> handoff
    plans.forEach((node, plan) -> {
      for (RebalancePlan.Handoff h : plan.handoffs())
        handoffs.computeIfAbsent(h.entry().key(), k -> new HashMap<>()).put(node, h);
    });

    int owned = 0;
    for (Entry e : entries) {
      List<String> newOwners = to.ownerIds(e.key(), N);
      if (!newOwners.contains("worker3")) {
        assertFalse(delivered.containsKey(e.key()), e.key());
        assertFalse(handoffs.containsKey(e.key()), e.key());
        continue;
      }
      owned++;
      assertEquals(Set.of("worker3"), delivered.get(e.key()).keySet(), e.key());
      Set<String> losers = new HashSet<>(from.ownerIds(e.key(), N));
      losers.removeAll(newOwners);
      assertEquals(1, losers.size(), e.key());
      String loser = losers.iterator().next();
      assertTrue(delivered.get(e.key()).get("worker3").contains(loser), "the loser pushes " + e.key());
      assertEquals(Set.of(loser), handoffs.get(e.key()).keySet(), "only the loser hands off " + e.key());
      RebalancePlan.Handoff h = handoffs.get(e.key()).get(loser);
      assertTrue(h.targets().contains("worker3"));
      assertEquals(Set.of("worker3"), h.targets());
      assertEquals(e, h.entry());
    }
    assertTrue(owned > KEYS / 2, "worker3 owns about 3/4 of the keys again: " + owned);
    assertBatchesRespectSize(plans, BATCH, to);
  }

  @Test
  void anOwnerBackWithItsDataGetsATreeExchangeInsteadOfItsKeysAndANewOwnerStillGetsThemAll() {
    List<Entry> entries = entries();
    ClusterView from = fourUp();
    ClusterView restart = from.with(member(2, Status.UP, "i2b"), 2);   // worker2 restarted with its data
    Map<String, List<Entry>> held = holdings(from, entries);
    long[] tokens = restart.ring().tokens();
    java.util.Set<Integer> withData = new java.util.HashSet<>();   // the ranges whose tree root is not empty on worker2
    for (Entry e : held.get("worker2")) withData.add(io.ringkv.ring.HashRing.firstAtOrAfter(tokens, io.ringkv.ring.HashRing.hash(e.key())));
    RebalancePlan.Synced synced = (target, range) -> target.equals("worker2") && withData.contains(range);

    RebalancePlan p = RebalancePlan.compute("worker1", from, restart, N, held.get("worker1"), BATCH, synced);
    assertEquals(List.of(), p.batches(), "no key is pushed to a restarted owner that holds data in its ranges");
    assertEquals(0, p.keysToMove());
    assertTrue(p.exchanges().containsKey("worker2"));
    java.util.Set<Integer> exchanged = new java.util.HashSet<>();
    for (int r : p.exchanges().get("worker2")) exchanged.add(r);
    for (Entry e : held.get("worker1")) {
      if (restart.ownerIds(e.key(), N).contains("worker2"))
        assertTrue(exchanged.contains(io.ringkv.ring.HashRing.firstAtOrAfter(tokens, io.ringkv.ring.HashRing.hash(e.key()))), e.key());
    }

    // a worker that was not an owner before gets every key, whatever its trees hold (they are not of these keys)
    ClusterView grown = new ClusterView(3, new TreeMap<>(java.util.Map.of("worker1", member(1, Status.UP, "i1"),
        "worker2", member(2, Status.UP, "i2"), "worker3", member(3, Status.UP, "i3"), "worker4", member(4, Status.UP, "i4"),
        "worker5", member(5, Status.UP, "i5"))), VNODES);
    RebalancePlan toNew = RebalancePlan.compute("worker1", from, grown, N, held.get("worker1"), BATCH, (target, range) -> true);
    assertTrue(toNew.exchanges().isEmpty());
    assertTrue(toNew.batches().stream().anyMatch(b -> b.target().id().equals("worker5")));
  }

  @Test
  void anOwnerRestartingInPlaceGetsItsKeysPushedBack() {
    List<Entry> entries = entries();
    ClusterView from = fourUp();
    ClusterView to = from.with(member(2, Status.UP, "i2b"), 2);   // still UP, a new process
    Map<String, List<Entry>> held = holdings(from, entries);
    List<Entry> beforeRestart = held.put("worker2", List.of());   // the restart lost its memory

    Map<String, RebalancePlan> plans = plans(from, to, held, BATCH);
    assertEachGainedOwnerGetsTheKeyFromEverySurvivor(entries, from, to, held, plans);

    Map<String, Map<String, List<String>>> delivered = deliveries(plans);
    int owned = 0;
    for (Entry e : entries) {
      if (to.ownerIds(e.key(), N).contains("worker2")) {
        owned++;
        assertEquals(Set.of("worker2"), delivered.get(e.key()).keySet(), e.key());
      } else {
        assertFalse(delivered.containsKey(e.key()), e.key());
      }
    }
    assertEquals(beforeRestart.size(), owned);
    for (RebalancePlan p : plans.values()) assertEquals(List.of(), p.handoffs(), "the ring did not change");

    // whatever the new instance holds already (fresh writes) it does not push: it is not an old owner
    RebalancePlan restarted = RebalancePlan.compute("worker2", from, to, N, beforeRestart, BATCH);
    assertEquals(List.of(), restarted.batches());
    assertEquals(List.of(), restarted.handoffs());
  }

  @Test
  void batchesNeverExceedTheBatchSize() {
    List<Entry> entries = entries();
    ClusterView from = fourUp();
    ClusterView to = from.with(from.member("worker3").withStatus(Status.DOWN), 2);
    Map<String, List<Entry>> held = holdings(from, entries);
    held.remove("worker3");
    for (int size : new int[] {1, 7, 64, KEYS * 2}) {
      Map<String, RebalancePlan> plans = plans(from, to, held, size);
      assertBatchesRespectSize(plans, size, to);
      assertEachGainedOwnerGetsTheKeyFromEverySurvivor(entries, from, to, held, plans);
    }
    Map<String, RebalancePlan> single = plans(from, to, held, KEYS * 2);
    for (RebalancePlan p : single.values()) {
      Set<String> targets = new HashSet<>();
      for (RebalancePlan.Batch b : p.batches()) assertTrue(targets.add(b.target().id()), "one batch per target");
    }
  }

  @Test
  void aStrayKeyGoesToEveryNewOwnerAndIsHandedOff() {
    List<Entry> entries = entries();
    ClusterView from = fourUp();
    ClusterView to = new ClusterView(2, from.members(), VNODES);   // membership unchanged
    Map<String, List<Entry>> held = holdings(from, entries);
    Entry stray = null;
    for (Entry e : entries) {
      if (!from.ownerIds(e.key(), N).contains("worker4")) {
        stray = e;
        break;
      }
    }
    List<Entry> w4 = new ArrayList<>(held.get("worker4"));
    w4.add(stray);
    held.put("worker4", w4);

    Map<String, RebalancePlan> plans = plans(from, to, held, BATCH);
    for (String node : List.of("worker1", "worker2", "worker3")) {
      assertEquals(List.of(), plans.get(node).batches(), "nothing changed for " + node);
      assertEquals(List.of(), plans.get(node).handoffs());
    }
    RebalancePlan p = plans.get("worker4");
    Set<String> owners = new HashSet<>(to.ownerIds(stray.key(), N));
    Set<String> targets = new HashSet<>();
    for (RebalancePlan.Batch b : p.batches()) {
      assertEquals(List.of(stray), b.entries(), "only the stray moves");
      targets.add(b.target().id());
    }
    assertEquals(owners, targets);
    assertEquals(List.of(new RebalancePlan.Handoff(stray, owners)), p.handoffs());
    assertEquals(1, p.keysToMove());
  }

  @Test
  void keysStayWhenNoNodeIsUp() {
    List<Entry> entries = entries();
    ClusterView from = fourUp();
    ClusterView to = from;
    for (int i = 1; i <= 4; i++) to = to.with(to.member("worker" + i).withStatus(Status.DOWN), 1 + i);
    RebalancePlan p = RebalancePlan.compute("worker1", from, to, N, holdings(from, entries).get("worker1"), BATCH);
    assertEquals(List.of(), p.batches());
    assertEquals(List.of(), p.handoffs(), "with nobody to hand to, nothing is dropped");
  }

  /** Batches are bounded in bytes too: with 1 MiB values, 512 keys a batch would be 512 MiB in one frame. */
  @Test
  void batchesOfLargeValuesAreBoundedInBytes() {
    String big = "v".repeat(1 << 20);
    List<Entry> entries = new java.util.ArrayList<>();
    for (int i = 0; i < 60; i++) entries.add(new Entry("big-" + i, new Versioned(big, new Version(1, "worker1"))));
    ClusterView from = fourUp();
    ClusterView to = from.with(from.member("worker4").withStatus(Status.DOWN), 5);
    RebalancePlan p = RebalancePlan.compute("worker1", from, to, N, holdings(from, entries).get("worker1"), 512);
    assertTrue(p.keysToMove() > 8, "too few keys move to see batches split: " + p.keysToMove());
    for (RebalancePlan.Batch b : p.batches()) {
      long bytes = b.entries().stream().mapToLong(io.ringkv.storage.Entry::chars).sum();
      assertTrue(b.entries().size() == 1 || bytes <= RebalancePlan.BATCH_BYTES, b.entries().size() + " entries, " + bytes + " bytes");
    }
  }
}
