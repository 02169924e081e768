package io.ringkv.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class VersionTest {
  @Test
  void ordersByTimestampThenNode() {
    Version a1 = new Version(100, "worker1");
    Version a2 = new Version(100, "worker2");
    Version b1 = new Version(101, "worker1");
    assertTrue(a1.compareTo(a2) < 0);
    assertTrue(a2.compareTo(b1) < 0, "timestamp wins over node id");
    assertTrue(b1.compareTo(a2) > 0);
    assertEquals(0, a1.compareTo(new Version(100, "worker1")));

    List<Version> shuffled = new ArrayList<>(List.of(b1, a2, a1));
    Collections.sort(shuffled);
    assertEquals(List.of(a1, a2, b1), shuffled);
  }

  @Test
  void isNewerThanIsStrict() {
    Version v = new Version(5, "n");
    assertTrue(v.isNewerThan(null));
    assertTrue(v.isNewerThan(new Version(4, "z")));
    assertFalse(v.isNewerThan(new Version(5, "n")));
    assertFalse(v.isNewerThan(new Version(5, "o")));
  }

  @Test
  void textFormRoundTrips() {
    Version v = new Version(123456789012345L, "worker-7");
    assertEquals("123456789012345@worker-7", v.toString());
    assertEquals(v, Version.parse(v.toString()));
    // a node id may itself contain '@': the first one separates
    Version odd = new Version(1, "a@b");
    assertEquals(odd, Version.parse(odd.toString()));
    Version negative = new Version(-3, "x");
    assertEquals(negative, Version.parse(negative.toString()));
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(strings = {"abc", "12@", "@x", "x@y", "@", "1.5@n", "99999999999999999999@n"})
  void parseRejectsGarbage(String text) {
    assertThrows(IllegalArgumentException.class, () -> Version.parse(text));
  }

  @Test
  void needsANodeId() {
    assertThrows(IllegalArgumentException.class, () -> new Version(1, ""));
    assertThrows(IllegalArgumentException.class, () -> new Version(1, null));
  }

  @Test
  void millisIsThePhysicalPart() {
    assertEquals(1_700_000_000_000L, new Version(HybridClock.fromMillis(1_700_000_000_000L) + 7, "n").millis());
  }

  @Test
  void versionsOfOneNodeShareOneNodeIdString() {
    Version parsed = Version.parse("17@" + new String("worker-shared-id"));   // as if read from the wire
    Version stamped = new Version(18, "worker-shared-" + "id".toString());
    org.junit.jupiter.api.Assertions.assertSame(parsed.node(), stamped.node());
  }
}
