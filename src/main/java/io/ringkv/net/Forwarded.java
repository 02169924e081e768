package io.ringkv.net;

import io.ringkv.storage.Entry;

/**
 * A client write on its way to its key's primary. Its version was fixed where the write entered the
 * cluster, so the primary and, should the forwarder give up on the primary, the forwarder both write
 * the same versioned entry: a late duplicate changes nothing. The primary does not start it after
 * {@code deadlineMillis} (the forwarder's wall clock, when it gives up).
 */
public record Forwarded(Entry entry, long deadlineMillis) {}
