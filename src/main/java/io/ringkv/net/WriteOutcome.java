package io.ringkv.net;

import io.ringkv.storage.Version;
import java.util.List;

/** How a coordinated write ended, as its coordinator reports it. */
public sealed interface WriteOutcome {
  /** The owners that hold the write now. */
  List<String> ackedBy();

  /** The write quorum holds the write at {@code version}. */
  record Acked(List<String> ackedBy, Version version) implements WriteOutcome {
    public Acked {
      ackedBy = List.copyOf(ackedBy);
    }
  }

  /** Owners already held a newer version of the key, so the write quorum could not be reached. */
  record Superseded(List<String> ackedBy, String detail) implements WriteOutcome {
    public Superseded {
      ackedBy = List.copyOf(ackedBy);
    }
  }

  /** Too few owners acknowledged before the deadline, or too many failed for the quorum to be reached. */
  record NotReached(List<String> ackedBy, String detail) implements WriteOutcome {
    public NotReached {
      ackedBy = List.copyOf(ackedBy);
    }
  }

  /** A forwarded write reached its primary after its deadline, and was not started. */
  record Expired(String detail) implements WriteOutcome {
    @Override
    public List<String> ackedBy() {
      return List.of();
    }
  }

  /** The node has no view of the cluster yet, so it knows no owners. */
  record NoView(String detail) implements WriteOutcome {
    @Override
    public List<String> ackedBy() {
      return List.of();
    }
  }
}
