package io.ringkv.util;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Optional;

/** A configured shared secret (a token), kept as its SHA-256: offered values are compared digest to digest, in constant time. */
public final class Secret {
  private final byte[] digest;

  private Secret(byte[] digest) {
    this.digest = digest;
  }

  /** The secret of a setting, or null when the setting is empty (not configured). */
  public static Secret of(String value) {
    return value.isEmpty() ? null : new Secret(sha256(value));
  }

  public boolean matches(Optional<String> offered) {
    // digest first: the comparison takes the same time whatever the offered value's length or content
    return offered.isPresent() && MessageDigest.isEqual(digest, sha256(offered.get()));
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JRE", e);
    }
  }
}
