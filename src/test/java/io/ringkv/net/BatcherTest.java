package io.ringkv.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

class BatcherTest {
  /** A send that records each call and leaves it open until the test completes it. */
  private static final class Calls {
    final List<String> destinations = new ArrayList<>();
    final List<List<Integer>> batches = new ArrayList<>();
    final List<CompletableFuture<List<String>>> answers = new ArrayList<>();

    CompletionStage<List<String>> send(String destination, List<Integer> items) {
      destinations.add(destination);
      batches.add(List.copyOf(items));
      CompletableFuture<List<String>> f = new CompletableFuture<>();
      answers.add(f);
      return f;
    }

    void answer(int call) {
      answers.get(call).complete(batches.get(call).stream().map(i -> "ok" + i).toList());
    }
  }

  @Test
  void underLightLoadEveryItemLeavesAtOnceAlone() {
    Calls calls = new Calls();
    Batcher<Integer, String> b = new Batcher<>(2, 100, 1000, i -> 1, calls::send);
    CompletionStage<String> a = b.submit("peer1", 1);
    assertEquals(List.of(List.of(1)), calls.batches);
    calls.answer(0);
    assertEquals("ok1", a.toCompletableFuture().getNow(null));
    CompletionStage<String> c = b.submit("peer1", 2);
    assertEquals(List.of(2), calls.batches.get(1));
    calls.answer(1);
    assertEquals("ok2", c.toCompletableFuture().getNow(null));
  }

  @Test
  void whileTheLaneIsFullItemsWaitAndThenLeaveTogetherInOrder() {
    Calls calls = new Calls();
    Batcher<Integer, String> b = new Batcher<>(2, 100, 1000, i -> 1, calls::send);
    List<CompletionStage<String>> out = new ArrayList<>();
    for (int i = 0; i < 7; i++) out.add(b.submit("peer1", i));
    assertEquals(List.of(List.of(0), List.of(1)), calls.batches, "two calls in flight, the rest wait");
    calls.answer(1);
    assertEquals(List.of(2, 3, 4, 5, 6), calls.batches.get(2), "everything waiting leaves as one call");
    assertEquals("ok1", out.get(1).toCompletableFuture().getNow(null));
    assertFalse(out.get(0).toCompletableFuture().isDone(), "the first call is still out");
    calls.answer(0);
    calls.answer(2);
    for (int i = 0; i < 7; i++) assertEquals("ok" + i, out.get(i).toCompletableFuture().getNow(null));
    assertEquals(3, calls.batches.size(), "nothing was left to send");
  }

  @Test
  void destinationsHaveLanesOfTheirOwn() {
    Calls calls = new Calls();
    Batcher<Integer, String> b = new Batcher<>(1, 100, 1000, i -> 1, calls::send);
    b.submit("peer1", 1);
    b.submit("peer1", 2);
    b.submit("peer2", 3);
    assertEquals(List.of("peer1", "peer2"), calls.destinations, "peer2 does not wait behind peer1");
  }

  @Test
  void aBatchStopsAtItsCountAndWeightButAnOversizedItemStillGoes() {
    Calls calls = new Calls();
    Batcher<Integer, String> b = new Batcher<>(1, 3, 10, i -> i, calls::send);
    b.submit("p", 100);                                   // heavier than the limit: goes alone
    for (int i : new int[] {1, 1, 1, 1, 4, 4, 4}) b.submit("p", i);
    calls.answer(0);
    assertEquals(List.of(1, 1, 1), calls.batches.get(1), "at most 3 items");
    calls.answer(1);
    assertEquals(List.of(1, 4, 4), calls.batches.get(2), "at most a weight of 10");
    calls.answer(2);
    assertEquals(List.of(4), calls.batches.get(3));
  }

  @Test
  void aFailedCallFailsEachOfItsItemsAndTheLaneGoesOn() {
    Calls calls = new Calls();
    Batcher<Integer, String> b = new Batcher<>(1, 100, 1000, i -> 1, calls::send);
    CompletionStage<String> first = b.submit("p", 1);
    CompletionStage<String> second = b.submit("p", 2);
    CompletionStage<String> third = b.submit("p", 3);
    calls.answers.get(0).completeExceptionally(new IllegalStateException("down"));
    assertTrue(first.toCompletableFuture().isCompletedExceptionally());
    assertEquals(List.of(2, 3), calls.batches.get(1));
    calls.answers.get(1).complete(List.of("only one answer"));   // a malformed answer fails the batch too
    assertTrue(second.toCompletableFuture().isCompletedExceptionally());
    assertTrue(third.toCompletableFuture().isCompletedExceptionally());
    CompletionStage<String> fourth = b.submit("p", 4);
    calls.answer(2);
    assertEquals("ok4", fourth.toCompletableFuture().getNow(null), "the lane is free again");
  }

  @Test
  void aSendThatAnswersAtOnceOrThrowsNeitherRecursesNorLeaksASlot() {
    List<Integer> sizes = new ArrayList<>();
    Batcher<Integer, Integer> b = new Batcher<>(1, 100, 1000, i -> 1, (d, items) -> {
      sizes.add(items.size());
      if (items.get(0) < 0) throw new IllegalStateException("cannot send");
      return CompletableFuture.completedFuture(items);
    });
    assertTrue(b.submit("p", -1).toCompletableFuture().isCompletedExceptionally());
    for (int i = 0; i < 100_000; i++) assertEquals(i, b.submit("p", i).toCompletableFuture().getNow(null));
    assertEquals(Collections.nCopies(100_001, 1), sizes);
  }

  /** A peer that does not keep up cannot make the queue grow without bound: past the limit a submit fails at once. */
  @Test
  void aLaneHoldsABoundedNumberOfWaitingItems() {
    Calls calls = new Calls();
    Batcher<Integer, String> b = new Batcher<>(1, 100, 1000, i -> 1, calls::send);
    b.submit("p", 0);   // under way, never answered
    List<CompletionStage<String>> waiting = new java.util.ArrayList<>();
    for (int i = 1; i <= Batcher.MAX_WAITING; i++) waiting.add(b.submit("p", i));
    assertTrue(waiting.stream().noneMatch(w -> w.toCompletableFuture().isDone()), "a waiting item failed below the limit");
    CompletionStage<String> over = b.submit("p", -1);
    assertTrue(over.toCompletableFuture().isCompletedExceptionally(), "the item past the limit was queued");
    Throwable why = over.toCompletableFuture().handle((v, e) -> e).join();
    assertTrue(NotSent.of(why), "a refused item never left: its caller may act at once, " + why);
    b.submit("other", 7);
    assertEquals(List.of(7), calls.batches.get(1), "another peer's lane is not affected");
  }
}
