package io.ringkv.net;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.ToIntFunction;

/**
 * Group commit for calls to other nodes: items bound for the same destination travel together.
 * Each destination has a lane with at most {@code maxInFlight} calls under way; an item that
 * arrives while the lane is full waits, and when a call returns, everything waiting (up to
 * {@code maxBatch} items and {@code maxWeight}, e.g. bytes, but always at least one item) leaves as
 * the next call. Under light load every item leaves at once, alone;
 * under heavy load batches grow by themselves, so the number of calls stays near what the link
 * can carry rather than one per item. No timers, no threads of its own.
 *
 * @param <I> an item
 * @param <R> the answer for one item; {@code send} answers a batch with one answer per item, in order
 */
public final class Batcher<I, R> {
  private final int maxInFlight;
  private final int maxBatch;
  private final int maxWeight;
  private final ToIntFunction<I> weight;
  private final BiFunction<String, List<I>, CompletionStage<List<R>>> send;
  private final ConcurrentHashMap<String, Lane> lanes = new ConcurrentHashMap<>();
  /** Items that may wait in one lane; past that a submit fails at once (the peer is not keeping up). */
  static final int MAX_WAITING = 16_384;

  /** {@code send(destination, items)}: one call carrying the items. */
  public Batcher(int maxInFlight, int maxBatch, int maxWeight, ToIntFunction<I> weight,
      BiFunction<String, List<I>, CompletionStage<List<R>>> send) {
    if (maxInFlight < 1 || maxBatch < 1) throw new IllegalArgumentException("maxInFlight and maxBatch must be positive");
    this.maxInFlight = maxInFlight;
    this.maxBatch = maxBatch;
    this.maxWeight = maxWeight;
    this.weight = weight;
    this.send = send;
  }

  public CompletionStage<R> submit(String destination, I item) {
    CompletableFuture<R> answer = new CompletableFuture<>();
    lanes.computeIfAbsent(destination, Lane::new).offer(new Pending<>(item, answer));
    return answer;
  }

  private record Pending<I, R>(I item, CompletableFuture<R> answer) {}

  private final class Lane {
    private final String destination;
    private final ArrayDeque<Pending<I, R>> waiting = new ArrayDeque<>();
    private int inFlight;

    Lane(String destination) {
      this.destination = destination;
    }

    void offer(Pending<I, R> p) {
      List<Pending<I, R>> batch;
      synchronized (this) {
        if (waiting.size() >= MAX_WAITING) {
          // refused before it was sent: the caller may act at once (a forwarder coordinates the write itself)
          p.answer().completeExceptionally(new NotSent(new IllegalStateException(
              MAX_WAITING + " calls already wait for " + destination + ": overloaded")));
          return;
        }
        waiting.add(p);
        if (inFlight >= maxInFlight) return;
        inFlight++;
        batch = take();
      }
      dispatch(batch);
    }

    /** Under the lock: the next batch, oldest first. */
    private List<Pending<I, R>> take() {
      List<Pending<I, R>> batch = new ArrayList<>(Math.min(waiting.size(), maxBatch));
      long total = 0;
      while (!waiting.isEmpty() && batch.size() < maxBatch) {
        int w = weight.applyAsInt(waiting.peek().item());
        if (!batch.isEmpty() && total + w > maxWeight) break;
        total += w;
        batch.add(waiting.poll());
      }
      return batch;
    }

    private void dispatch(List<Pending<I, R>> batch) {
      while (batch != null) {
        List<I> items = new ArrayList<>(batch.size());
        for (Pending<I, R> p : batch) items.add(p.item());
        CompletionStage<List<R>> call;
        try {
          call = send.apply(destination, items);
        } catch (RuntimeException e) {
          call = CompletableFuture.failedFuture(e);
        }
        CompletableFuture<List<R>> f = call.toCompletableFuture();
        final List<Pending<I, R>> sent = batch;
        if (!f.isDone()) {
          f.whenComplete((answers, err) -> {
            settle(sent, answers, err);
            dispatch(next());
          });
          return;
        }
        // completed already (a failure before sending, or an in-memory transport): no recursion
        Throwable err = f.isCompletedExceptionally() ? exception(f) : null;
        settle(sent, err == null ? f.join() : null, err);
        batch = next();
      }
    }

    /** After a call: the next batch if anything waits, else one fewer call in flight. */
    private List<Pending<I, R>> next() {
      synchronized (this) {
        if (waiting.isEmpty()) {
          inFlight--;
          return null;
        }
        return take();
      }
    }

    private void settle(List<Pending<I, R>> batch, List<R> answers, Throwable err) {
      if (err == null && (answers == null || answers.size() != batch.size())) {
        err = new IllegalStateException("batch of " + batch.size() + " answered with "
            + (answers == null ? "nothing" : answers.size() + " answers"));
      }
      for (int i = 0; i < batch.size(); i++) {
        if (err != null) batch.get(i).answer().completeExceptionally(err);
        else batch.get(i).answer().complete(answers.get(i));
      }
    }
  }

  private static Throwable exception(CompletableFuture<?> f) {
    try {
      f.join();
      return new IllegalStateException("not failed");
    } catch (java.util.concurrent.CompletionException e) {
      return e.getCause() != null ? e.getCause() : e;
    } catch (java.util.concurrent.CancellationException e) {
      return e;
    }
  }
}
