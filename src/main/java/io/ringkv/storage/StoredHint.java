package io.ringkv.storage;

/** A replica that owner {@code owner} missed, kept by the coordinator until it can be delivered (hinted handoff). */
public record StoredHint(long id, String owner, Entry entry, long createdMillis) {}
