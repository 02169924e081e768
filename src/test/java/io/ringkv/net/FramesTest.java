package io.ringkv.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

class FramesTest {
  @Test
  void aCallAndAnAnswerReadBackAsWritten() {
    ByteString body = Frames.keys(List.of("k"));
    Frames.Call call = Frames.readCall(Frames.call(Integer.MAX_VALUE, Frames.Kind.FORWARD, body));
    assertEquals(Integer.MAX_VALUE, call.id());
    assertEquals(Frames.Kind.FORWARD, call.kind());
    assertEquals(body, call.body());

    Frames.Answer answer = Frames.readAnswer(Frames.answer(-7, Frames.Result.UNAVAILABLE, body));
    assertEquals(-7, answer.id());
    assertEquals(Frames.Result.UNAVAILABLE, answer.result());
    assertEquals(body, answer.body());
    Frames.Answer failed = Frames.readAnswer(Frames.failure(1, Frames.Result.BAD_INPUT, "no ☃ here"));
    assertEquals("no ☃ here", failed.detail());
  }

  /** The codes are the protocol: written down in Frames' layout, not derived from declaration order. */
  @Test
  void kindsAndResultsHaveTheirDocumentedCodes() {
    assertEquals(ByteString.fromArray(new byte[] {0, 0, 0, 5, 1}), Frames.call(5, Frames.Kind.REPLICATE, ByteString.emptyByteString()));
    assertEquals(ByteString.fromArray(new byte[] {0, 0, 0, 5, 2}), Frames.call(5, Frames.Kind.READ, ByteString.emptyByteString()));
    assertEquals(ByteString.fromArray(new byte[] {0, 0, 0, 5, 3}), Frames.call(5, Frames.Kind.FORWARD, ByteString.emptyByteString()));
    byte[] results = new byte[4];
    for (Frames.Result r : Frames.Result.values())
      results[Frames.answer(0, r, ByteString.emptyByteString()).apply(4)] = 1;
    assertEquals(ByteString.fromArray(new byte[] {1, 1, 1, 1}), ByteString.fromArray(results), "results 0..3");
    assertEquals(ByteString.fromArray(new byte[] {0, 0, 0, 4, 0, 1, 3, 4}),
        Frames.applied(List.of(Applied.STORED, Applied.ALREADY_HELD, Applied.TOO_FAR_AHEAD, Applied.NOT_STORED)));
    assertEquals(ByteString.fromArray(new byte[] {0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 7, 0, 1, 'n'}),
        Frames.applied(List.of(Applied.superseded(new Version(7, "n")))), "superseded, with the version held");
  }

  @Test
  void aMessageThatIsNoCallIsBadInput() {
    assertThrows(Wire.BadInput.class, () -> Frames.readCall(ByteString.fromArray(new byte[] {0, 0, 1})));
    Wire.BadInput unknown = assertThrows(Wire.BadInput.class,
        () -> Frames.readCall(ByteString.fromArray(new byte[] {0, 0, 0, 1, 9, 0})));
    assertEquals("unknown call kind 9", unknown.getMessage());
    assertThrows(Wire.BadInput.class, () -> Frames.readCall(ByteString.fromArray(new byte[] {0, 0, 0, 1, 0})));
    assertThrows(Wire.BadInput.class, () -> Frames.readAnswer(ByteString.fromArray(new byte[] {0, 0, 0, 1})));
    assertThrows(Wire.BadInput.class, () -> Frames.readAnswer(ByteString.fromArray(new byte[] {0, 0, 0, 1, 4})));
  }

  @Test
  void everyBodyRoundTrips() {
    List<Entry> entries = List.of(
        new Entry("kéy", new Versioned("välue ☃", new Version(Long.MAX_VALUE, "worker1"))),
        new Entry("gone", Versioned.tombstone(new Version(7, "wörker2"))),
        new Entry("x".repeat(1000), new Versioned("", new Version(0, "n"))));
    assertEquals(entries, Frames.readEntries(Frames.entries(entries)));
    assertEquals(List.of(), Frames.readEntries(Frames.entries(List.of())));

    List<Applied> applied = List.of(Applied.superseded(new Version(9, "w3")), Applied.STORED, Applied.ALREADY_HELD,
        Applied.TOO_FAR_AHEAD, Applied.NOT_STORED);
    assertEquals(applied, Frames.readApplied(Frames.applied(applied)));

    List<String> keys = List.of("a", "ключ", "");
    assertEquals(keys, Frames.readKeys(Frames.keys(keys)));

    List<Optional<Versioned>> copies = List.of(Optional.empty(), Optional.of(entries.get(0).versioned()),
        Optional.of(entries.get(1).versioned()));
    assertEquals(copies, Frames.readCopies(Frames.copies(copies)));

    List<Forwarded> writes = List.of(new Forwarded(entries.get(0), Long.MAX_VALUE), new Forwarded(entries.get(1), 0),
        new Forwarded(entries.get(2), -5));
    assertEquals(writes, Frames.readForwards(Frames.forwards(writes)));

    List<WriteOutcome> outcomes = List.of(
        new WriteOutcome.Acked(List.of("w1", "w2"), new Version(42, "w1")),
        new WriteOutcome.Superseded(List.of("w1"), "w2 holds a newer version"),
        new WriteOutcome.NotReached(List.of(), "write quorum not reached before the deadline"),
        new WriteOutcome.NoView("no view yet"),
        new WriteOutcome.Expired("too late"));
    assertEquals(outcomes, Frames.readOutcomes(Frames.outcomes(outcomes)));
  }

  @Test
  void bodiesThatDoNotFitTheLayoutAreBadInput() {
    assertEveryCutIsBadInput(Frames.entries(List.of(new Entry("k", new Versioned("v", new Version(1, "n"))))), Frames::readEntries);
    assertEveryCutIsBadInput(Frames.keys(List.of("k1", "k2")), Frames::readKeys);
    assertEveryCutIsBadInput(Frames.copies(List.of(Optional.of(new Versioned("v", new Version(1, "n"))))), Frames::readCopies);
    assertEveryCutIsBadInput(Frames.forwards(List.of(new Forwarded(new Entry("k", new Versioned("v", new Version(1, "n"))), 5))),
        Frames::readForwards);
    assertEveryCutIsBadInput(Frames.applied(List.of(Applied.superseded(new Version(1, "n")))), Frames::readApplied);
    assertEveryCutIsBadInput(Frames.outcomes(List.of(new WriteOutcome.Acked(List.of("w1"), new Version(1, "w1")))),
        Frames::readOutcomes);

    byte[] good = Frames.entries(List.of(new Entry("k", new Versioned("v", new Version(1, "n"))))).toArray();
    byte[] hugeCount = good.clone();
    hugeCount[0] = 0x7f;
    assertThrows(Wire.BadInput.class, () -> Frames.readEntries(ByteString.fromArray(hugeCount)));
    byte[] badFlag = good.clone();
    badFlag[4 + 4 + 1] = 9;   // count, key length, "k", then the flag
    assertThrows(Wire.BadInput.class, () -> Frames.readEntries(ByteString.fromArray(badFlag)));
    byte[] negativeLength = good.clone();
    negativeLength[4] = (byte) 0xff;
    assertThrows(Wire.BadInput.class, () -> Frames.readEntries(ByteString.fromArray(negativeLength)));
    assertThrows(Wire.BadInput.class, () -> Frames.readApplied(ByteString.fromArray(new byte[] {0, 0, 0, 1, 5})));
    assertThrows(Wire.BadInput.class, () -> Frames.readOutcomes(ByteString.fromArray(new byte[] {0, 0, 0, 1, 5, 0, 0})));
  }

  @Test
  void antiEntropyCallsRoundTripAndAreBounded() {
    Frames.TreeQuery q = new Frames.TreeQuery(7, 2, new int[] {0, 5, 1023});
    Frames.TreeQuery back = Frames.readTreeQuery(Frames.treeQuery(q));
    assertEquals(List.of(7L, 2, List.of(0, 5, 1023)), List.of(back.epoch(), back.level(), java.util.Arrays.stream(back.ids()).boxed().toList()));
    assertEquals(List.of(1L, -1L, Long.MIN_VALUE), java.util.Arrays.stream(Frames.readLongs(Frames.longs(new long[] {1, -1, Long.MIN_VALUE})))
        .boxed().toList());
    Frames.SegmentQuery sq = Frames.readSegmentQuery(Frames.segmentQuery(new Frames.SegmentQuery(3, new int[] {9, 8})));
    assertEquals(List.of(9, 8), java.util.Arrays.stream(sq.segments()).boxed().toList());
    List<io.ringkv.storage.KeyVersion> kvs = List.of(new io.ringkv.storage.KeyVersion("k", new Version(5, "n"), true),
        new io.ringkv.storage.KeyVersion("é", new Version(6, "m"), false));
    assertEquals(kvs, Frames.readKeyVersions(Frames.keyVersions(kvs)));

    assertEveryCutIsBadInput(Frames.treeQuery(q), Frames::readTreeQuery);
    assertEveryCutIsBadInput(Frames.longs(new long[] {1, 2}), Frames::readLongs);
    assertEveryCutIsBadInput(Frames.segmentQuery(new Frames.SegmentQuery(3, new int[] {9})), Frames::readSegmentQuery);
    assertEveryCutIsBadInput(Frames.keyVersions(kvs), Frames::readKeyVersions);
    // more ids or segments than one call may carry, even when the message holds them all
    assertThrows(Wire.BadInput.class, () -> Frames.readTreeQuery(Frames.treeQuery(
        new Frames.TreeQuery(1, 0, new int[Frames.MAX_TREE_VALUES + 1]))));
    assertThrows(Wire.BadInput.class, () -> Frames.readSegmentQuery(Frames.segmentQuery(
        new Frames.SegmentQuery(1, new int[Frames.MAX_SEGMENTS + 1]))));
    byte[] badFlag = Frames.keyVersions(kvs.subList(0, 1)).toArray();
    badFlag[4 + 4 + 1] = 7;   // count, key length, "k", then the tombstone flag
    assertThrows(Wire.BadInput.class, () -> Frames.readKeyVersions(ByteString.fromArray(badFlag)));
  }

  /** Every truncation of {@code good}, and {@code good} with a byte more, is refused as bad input. */
  private static void assertEveryCutIsBadInput(ByteString good, Function<ByteString, ?> read) {
    read.apply(good);
    for (int cut = 0; cut < good.size(); cut++) {
      ByteString truncated = good.take(cut);
      assertThrows(Wire.BadInput.class, () -> read.apply(truncated), "cut at " + cut);
    }
    assertThrows(Wire.BadInput.class, () -> read.apply(good.concat(ByteString.fromArray(new byte[] {0}))));
  }
}
