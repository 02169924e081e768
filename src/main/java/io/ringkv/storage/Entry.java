package io.ringkv.storage;

/** A key with its versioned value (or tombstone): the unit of replication and rebalancing. */
public record Entry(String key, Versioned versioned) {}
