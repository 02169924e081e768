package io.ringkv.worker;

import io.ringkv.storage.Versioned;
import java.util.List;
import java.util.Optional;

/** The outcome of a client read: the newest copy among the replicas that answered, or a failure. */
public record ReadResult(boolean ok, Optional<Versioned> newest, List<String> answeredBy, int status, String detail) {
  public static ReadResult of(Optional<Versioned> newest, List<String> answeredBy) {
    return new ReadResult(true, newest, List.copyOf(answeredBy), 200, null);
  }

  public static ReadResult failed(int status, List<String> answeredBy, String detail) {
    return new ReadResult(false, Optional.empty(), List.copyOf(answeredBy), status, detail);
  }

  /** True when the key has a live value (not absent, not deleted). */
  public boolean found() {
    return newest.isPresent() && !newest.get().isTombstone();
  }
}
