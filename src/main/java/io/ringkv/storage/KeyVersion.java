package io.ringkv.storage;

/** A key and the version a replica holds of it (a tombstone's, if {@code tombstone}): what anti-entropy compares, without the value. */
public record KeyVersion(String key, Version version, boolean tombstone) {}
