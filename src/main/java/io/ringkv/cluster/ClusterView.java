package io.ringkv.cluster;

import io.ringkv.ring.HashRing;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * An immutable membership view: every known node with its status, stamped with the epoch that
 * produced it. The ring is built from the UP members only, so the controller and every worker derive
 * the same preference lists from the same view.
 */
public final class ClusterView {
  private final long epoch;
  private final Map<String, Member> members;
  private final HashRing ring;

  public ClusterView(long epoch, Map<String, Member> members, int vnodes) {
    this.epoch = epoch;
    this.members = Collections.unmodifiableMap(new TreeMap<>(members));
    List<String> up = new ArrayList<>();
    for (Member m : this.members.values()) if (m.isUp()) up.add(m.id());
    this.ring = HashRing.of(up, vnodes);
  }

  public static ClusterView empty(int vnodes) {
    return new ClusterView(0, Map.of(), vnodes);
  }

  public long epoch() {
    return epoch;
  }

  /** Every known node, sorted by id. */
  public Map<String, Member> members() {
    return members;
  }

  public HashRing ring() {
    return ring;
  }

  public Member member(String id) {
    return members.get(id);
  }

  public boolean isUp(String id) {
    Member m = members.get(id);
    return m != null && m.isUp();
  }

  /** The key's preference list: {@code n} distinct UP members, primary first. */
  public List<Member> owners(String key, int n) {
    List<String> ids = ring.preferenceList(key, n);
    List<Member> out = new ArrayList<>(ids.size());
    for (String id : ids) out.add(members.get(id));
    return out;
  }

  public List<String> ownerIds(String key, int n) {
    return ring.preferenceList(key, n);
  }

  public int upCount() {
    return ring.nodes().size();
  }

  /** The same view with one member replaced (or added) and the epoch set to {@code newEpoch}. */
  public ClusterView with(Member m, long newEpoch) {
    Map<String, Member> next = new TreeMap<>(members);
    next.put(m.id(), m);
    return new ClusterView(newEpoch, next, ring.vnodes());
  }

  @Override
  public String toString() {
    return "ClusterView{epoch=" + epoch + ", members=" + members.values() + "}";
  }
}
