package io.ringkv.check;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * The record of every client operation of a test run, for {@link HistoryChecker}. Thread-safe:
 * clients call {@link #invoke} just before they send a request and {@link #complete} when its
 * answer (or its failure) comes back. Times come from {@link System#nanoTime} unless a clock is given
 * (hand-built histories in tests).
 */
public final class History {
  private final LongSupplier clock;
  private final AtomicLong ids = new AtomicLong();
  private final Map<Long, Op> ops = new ConcurrentHashMap<>();

  public History() {
    this(System::nanoTime);
  }

  public History(LongSupplier clock) {
    this.clock = clock;
  }

  /** Records an operation about to be sent; returns its id for {@link #complete}. */
  public long invoke(String client, Op.Type type, String key, String value, String via) {
    long id = ids.incrementAndGet();
    ops.put(id, new Op(id, client, type, key, value, via, clock.getAsLong(), -1, Op.INDETERMINATE, null, null));
    return id;
  }

  /**
   * Records the outcome of op {@code id}: its HTTP status (-1 = no answer / timeout / connection
   * error), the version returned (written or read; may be null) and the value a GET read.
   */
  public void complete(long id, int status, String version, String valueRead) {
    long now = clock.getAsLong();
    Op before = ops.computeIfPresent(id, (k, op) -> {
      if (op.completed()) throw new IllegalStateException("op " + id + " completed twice: " + op);
      return op.completedWith(now, status, version, valueRead);
    });
    if (before == null) throw new IllegalArgumentException("no such op " + id);
  }

  /** Every op so far, in invocation order; ops still in flight have status -1 and completeNanos -1. */
  public List<Op> ops() {
    List<Op> out = new ArrayList<>(ops.values());
    out.sort(Comparator.comparingLong(Op::id));
    return out;
  }

  public int size() {
    return ops.size();
  }
}
