package io.ringkv.worker;

import io.ringkv.config.NodeSettings;
import io.ringkv.net.Wire;
import io.ringkv.storage.Entry;

/**
 * The limits on what the network may store (MAX_KEY_BYTES, MAX_VALUE_BYTES), checked in one place for
 * every way in: the HTTP routes and the node-to-node link both hand their input to {@link WorkerApi},
 * which checks it here. A breach is a {@link Wire.BadInput}, thrown before anything is applied.
 */
public record Limits(int maxKeyBytes, int maxValueBytes) {
  public static Limits of(NodeSettings s) {
    return new Limits(s.maxKeyBytes(), s.maxValueBytes());
  }

  /** A key: non-empty, at most {@code maxKeyBytes} of UTF-8. */
  public String key(String key) {
    if (key.isEmpty()) throw new Wire.BadInput("key must not be empty");
    int bytes = utf8Length(key);
    if (bytes > maxKeyBytes) throw new Wire.BadInput("key is " + bytes + " bytes; the limit is " + maxKeyBytes);
    return key;
  }

  /** A client value: non-empty, at most {@code maxValueBytes} of UTF-8. */
  public String value(String value) {
    if (value.isEmpty()) throw new Wire.BadInput("field 'value' must not be empty");
    int bytes = utf8Length(value);
    if (bytes > maxValueBytes)
      throw Wire.BadInput.tooLarge("value is " + bytes + " bytes; the limit is " + maxValueBytes + " (MAX_VALUE_BYTES)");
    return value;
  }

  /** A replica: its key, and a value within {@code maxValueBytes} (a tombstone has none). */
  public Entry entry(Entry e) {
    key(e.key());
    if (!e.versioned().isTombstone() && utf8Length(e.versioned().value()) > maxValueBytes)
      throw Wire.BadInput.tooLarge("value of " + e.key() + " is over the limit of " + maxValueBytes + " bytes");
    return e;
  }

  /** The UTF-8 length of {@code s}, without encoding it. */
  public static int utf8Length(String s) {
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) n++;
      else if (c < 0x800) n += 2;
      else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else n += 3;
    }
    return n;
  }
}
