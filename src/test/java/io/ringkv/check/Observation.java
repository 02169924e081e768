package io.ringkv.check;

/**
 * One node's own copy of a key, sampled at {@code nanos} (the same clock as the {@link History}):
 * what {@code GET /replicate?key=} or {@code WorkerApi.local} returns.
 *
 * @param node        the node sampled
 * @param key         the key
 * @param version     the copy's version ({@code "ts@node"}), or null when the node holds no copy
 * @param tombstone   whether the copy is a tombstone (a delete)
 * @param nanos       when the sample was taken
 * @param incarnation the node's process start count (or instance id), kept by the harness: a
 *                    restarted node starts empty, so versions are compared only within one incarnation
 */
public record Observation(String node, String key, String version, boolean tombstone, long nanos, String incarnation) {}
