package io.ringkv.check;

import io.ringkv.storage.Versioned;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The cluster after the run, as the {@link HistoryChecker} reads it: implemented by the harness.
 */
public interface FinalState {
  /**
   * A quorum read of {@code key} through worker {@code viaNode}, the version included: a value, a
   * tombstone ({@code Versioned} with a null value) when the worker reports one, or empty when the
   * key is not found (a plain HTTP 404 carries no version). Throws when the read fails: the
   * checker cannot judge a cluster that does not answer.
   */
  Optional<Versioned> read(String viaNode, String key);

  /** The workers every acknowledged write must be readable from. */
  List<String> workers();

  /** {@link #read} of many keys; override to send the reads concurrently. */
  default Map<String, Optional<Versioned>> readAll(String viaNode, Collection<String> keys) {
    Map<String, Optional<Versioned>> out = new LinkedHashMap<>();
    for (String key : keys) out.put(key, read(viaNode, key));
    return out;
  }
}
