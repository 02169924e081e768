package io.ringkv.storage;

/** A value with its version; a null value is a tombstone (a versioned delete). */
public record Versioned(String value, Version version) {
  public Versioned {
    if (version == null) throw new IllegalArgumentException("a stored value needs a version");
  }

  public static Versioned tombstone(Version v) {
    return new Versioned(null, v);
  }

  public boolean isTombstone() {
    return value == null;
  }

  public boolean isNewerThan(Versioned other) {
    return other == null || version.isNewerThan(other.version);
  }
}
