package io.ringkv.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
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
}
