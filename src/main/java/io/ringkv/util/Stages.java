package io.ringkv.util;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The stages Pekko hands out ({@code AskPattern.ask}, {@code Patterns.retry})
 * are Scala futures behind a CompletableFuture that runs every {@code thenApply}, {@code thenCompose}
 * or {@code thenCombine} as its {@code *Async} form. Without an executor that means the common
 * ForkJoinPool, which on a 2-core machine has parallelism 1, so CompletableFuture starts a new
 * thread for each callback. Chain on {@link #plain} instead: a plain CompletableFuture, completed on
 * the thread that completes the original.
 */
public final class Stages {
  private Stages() {}

  public static <T> CompletableFuture<T> plain(CompletionStage<T> stage) {
    CompletableFuture<T> f = new CompletableFuture<>();
    stage.whenCompleteAsync((v, e) -> {
      if (e != null) f.completeExceptionally(e);
      else f.complete(v);
    }, Runnable::run);
    return f;
  }
}
