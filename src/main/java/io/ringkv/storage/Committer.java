package io.ringkv.storage;

import java.util.List;

/** Where a store actor sends its writes to be made durable: {@link GroupCommit}, or a test's hand-driven one. */
public interface Committer {
  /** Told once whether the write is on disk as the durability asks. */
  interface Callback {
    void done(boolean stored);
  }

  /** Queues a write; false when it cannot be queued (too many waiting, or closing): the callback is not called then. */
  boolean submit(List<Entry> puts, List<String> deletes, Callback callback);

  /** Queues the removal of every key (in order with the other writes); false when it cannot be queued. */
  boolean submitWipe(Callback callback);
}
