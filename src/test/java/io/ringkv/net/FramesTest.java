package io.ringkv.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ringkv.storage.Entry;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

class FramesTest {
  @Test
  void aCallAndAnAnswerReadBackAsWritten() {
    byte[] body = "{\"keys\":[\"k\"]}".getBytes(StandardCharsets.UTF_8);
    Frames.Call call = Frames.readCall(Frames.call(Integer.MAX_VALUE, Frames.Kind.FORWARD, body));
    assertEquals(Integer.MAX_VALUE, call.id());
    assertEquals(Frames.Kind.FORWARD, call.kind());
    assertEquals("{\"keys\":[\"k\"]}", call.body().utf8String());

    Frames.Answer answer = Frames.readAnswer(Frames.answer(-7, 503, body));
    assertEquals(-7, answer.id());
    assertEquals(503, answer.status());
    assertEquals("{\"keys\":[\"k\"]}", answer.body().utf8String());
    assertEquals(413, Frames.readAnswer(Frames.answer(1, 413, new byte[0])).status());
  }

  @Test
  void aMessageThatIsNoCallIsBadInput() {
    Wire.BadInput shortOne = assertThrows(Wire.BadInput.class, () -> Frames.readCall(ByteString.fromArray(new byte[] {0, 0, 1})));
    assertEquals(400, shortOne.status());
    Wire.BadInput unknown = assertThrows(Wire.BadInput.class,
        () -> Frames.readCall(ByteString.fromArray(new byte[] {0, 0, 0, 1, 9, '{', '}'})));
    assertEquals("unknown call kind 9", unknown.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Frames.readAnswer(ByteString.fromArray(new byte[] {0, 0, 0, 1, 0})));
  }

  @Test
  void entriesRoundTripInTheBinaryLayout() {
    List<Entry> entries = List.of(
        new Entry("kéy", new Versioned("välue ☃", new Version(Long.MAX_VALUE, "worker1"))),
        new Entry("gone", Versioned.tombstone(new Version(7, "wörker2"))),
        new Entry("x".repeat(1000), new Versioned("", new Version(0, "n"))));
    assertEquals(entries, Frames.readEntries(ByteString.fromArray(Frames.entries(entries))));
    assertEquals(List.of(), Frames.readEntries(ByteString.fromArray(Frames.entries(List.of()))));
  }

  @Test
  void entriesThatDoNotFitTheLayoutAreBadInput() {
    byte[] good = Frames.entries(List.of(new Entry("k", new Versioned("v", new Version(1, "n")))));
    for (int cut = 0; cut < good.length; cut++) {
      byte[] truncated = java.util.Arrays.copyOf(good, cut);
      assertThrows(Wire.BadInput.class, () -> Frames.readEntries(ByteString.fromArray(truncated)), "cut at " + cut);
    }
    byte[] longer = java.util.Arrays.copyOf(good, good.length + 1);
    assertThrows(Wire.BadInput.class, () -> Frames.readEntries(ByteString.fromArray(longer)));
    byte[] hugeCount = good.clone();
    hugeCount[0] = 0x7f;
    assertThrows(Wire.BadInput.class, () -> Frames.readEntries(ByteString.fromArray(hugeCount)));
    byte[] badFlag = good.clone();
    badFlag[4 + 4 + 1] = 9;   // count, key length, "k", then the flag
    assertThrows(Wire.BadInput.class, () -> Frames.readEntries(ByteString.fromArray(badFlag)));
    byte[] negativeLength = good.clone();
    negativeLength[4] = (byte) 0xff;
    assertThrows(Wire.BadInput.class, () -> Frames.readEntries(ByteString.fromArray(negativeLength)));
  }
}
