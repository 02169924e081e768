package io.ringkv.worker;

import io.ringkv.storage.Versioned;
import java.util.List;
import java.util.Optional;

/** How a client read ended, as its coordinator reports it. */
public sealed interface ReadOutcome {
  /** The read quorum answered: the newest copy among them (absent, a tombstone, or a value). */
  record Answered(Optional<Versioned> newest, List<String> answeredBy) implements ReadOutcome {
    public Answered {
      answeredBy = List.copyOf(answeredBy);
    }

    /** True when the key has a live value (not absent, not deleted). */
    public boolean found() {
      return newest.isPresent() && !newest.get().isTombstone();
    }
  }

  /** Too few owners answered before the deadline, or too many failed for the quorum to be reached. */
  record NotReached(List<String> answeredBy, String detail) implements ReadOutcome {
    public NotReached {
      answeredBy = List.copyOf(answeredBy);
    }
  }

  /** The node has no view of the cluster yet, so it knows no owners. */
  record NoView(String detail) implements ReadOutcome {}
}
