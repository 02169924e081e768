package io.ringkv.worker;

import io.ringkv.ring.HashRing;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;

/** The store actors of one worker; a key always lives in the same one. */
public record Shards(List<ActorRef<Store.Command>> stores) {
  public Shards {
    stores = List.copyOf(stores);
  }

  public ActorRef<Store.Command> forKey(String key) {
    return stores.get(indexOf(key, stores.size()));
  }

  /** The shard of {@code key} among {@code shards}. */
  public static int indexOf(String key, int shards) {
    // a different mix than the ring's, so that one shard does not get all keys of one vnode range
    return (int) Math.floorMod(Long.rotateLeft(HashRing.hash(key), 17) ^ 0x9e3779b97f4a7c15L, (long) shards);
  }
}
