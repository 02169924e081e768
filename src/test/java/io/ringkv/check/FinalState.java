package io.ringkv.check;

import io.ringkv.storage.Versioned;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The cluster after the run, as the {@link HistoryChecker} reads it: implemented by the harness.
 * Two views of it: each owner's own copy of a key ({@link #copy}, read first, without any repair),
 * which is what the checker judges every read quorum by, and a quorum read through each worker
 * ({@link #read}, which may repair), which shows every worker still answers for every key. Every
 * method throws when the cluster does not answer: the checker cannot judge a cluster that is silent.
 */
public interface FinalState {
  /**
   * A quorum read of {@code key} through worker {@code viaNode}, the version included: a value, a
   * tombstone ({@code Versioned} with a null value) when the worker reports one, or empty when the
   * key is not found (a plain HTTP 404 carries no version). Such a read may repair the owners it
   * asked: the checker makes these reads only after it has read every owner's own copy.
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

  /**
   * The owners of {@code key} by the cluster's current view (the controller's), primary first: the
   * nodes a read of the key asks. In a settled cluster, N of them.
   */
  List<String> owners(String key);

  /** {@link #owners} of many keys; override to ask once or concurrently. */
  default Map<String, List<String>> ownersAll(Collection<String> keys) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (String key : keys) out.put(key, owners(key));
    return out;
  }

  /**
   * Worker {@code worker}'s own copy of {@code key}, as it stores it: a value or a tombstone with its
   * version, or empty when the worker holds nothing. No quorum, no read repair.
   */
  Optional<Versioned> copy(String worker, String key);

  /** {@link #copy} of many keys on one worker; override to read them concurrently. */
  default Map<String, Optional<Versioned>> copyAll(String worker, Collection<String> keys) {
    Map<String, Optional<Versioned>> out = new LinkedHashMap<>();
    for (String key : keys) out.put(key, copy(worker, key));
    return out;
  }
}
