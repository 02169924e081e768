package io.ringkv.net;

import java.nio.ByteOrder;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.ws.BinaryMessage;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.util.ByteStringBuilder;

/**
 * The messages of the node-to-node link ({@code GET /peer}, a WebSocket): each binary message is
 * one call or one answer, so that many calls share one connection, pipelined, in any order.
 *
 * <pre>
 *   call:   int id | byte kind   | JSON body (the same body as the kind's HTTP endpoint)
 *   answer: int id | short status | JSON body (the endpoint's answer, or {"detail": ...})
 * </pre>
 */
public final class Frames {
  private static final ByteOrder ORDER = ByteOrder.BIG_ENDIAN;
  static final int CALL_HEADER = 5;
  static final int ANSWER_HEADER = 6;

  private Frames() {}

  /** What a call asks for: each kind is one of the batch endpoints, with its body. */
  public enum Kind {
    /** {@code POST /replicate} with {@code {"entries": [...]}} */
    REPLICATE,
    /** {@code POST /replicate/read} */
    READ,
    /** {@code POST /forward} */
    FORWARD;

    private static final Kind[] ALL = values();

    static Kind of(int code) {
      if (code < 0 || code >= ALL.length) throw new Wire.BadInput("unknown call kind " + code);
      return ALL[code];
    }
  }

  public record Call(int id, Kind kind, ByteString body) {}

  public record Answer(int id, int status, ByteString body) {}

  public static ByteString call(int id, Kind kind, byte[] body) {
    return new ByteStringBuilder().putInt(id, ORDER).putByte((byte) kind.ordinal()).putBytes(body).result();
  }

  public static ByteString answer(int id, int status, byte[] body) {
    return new ByteStringBuilder().putInt(id, ORDER).putShort(status, ORDER).putBytes(body).result();
  }

  /** Reads a call; a message too short to be one, or of an unknown kind, is a {@link Wire.BadInput}. */
  public static Call readCall(ByteString msg) {
    if (msg.size() < CALL_HEADER) throw new Wire.BadInput("a call needs at least " + CALL_HEADER + " bytes, got " + msg.size());
    var it = msg.iterator();
    int id = it.getInt(ORDER);
    Kind kind = Kind.of(it.getByte() & 0xff);
    return new Call(id, kind, msg.drop(CALL_HEADER));
  }

  /** A binary WebSocket message's bytes (one that arrived whole as it is; a streamed one collected, within 10 s). */
  public static CompletionStage<ByteString> bytes(BinaryMessage m, Materializer mat) {
    if (m.isStrict()) return CompletableFuture.completedFuture(m.getStrictData());
    return m.toStrict(10_000, mat).thenApply(s -> s.getStrictData());
  }

  public static Answer readAnswer(ByteString msg) {
    if (msg.size() < ANSWER_HEADER) throw new IllegalArgumentException("an answer needs at least " + ANSWER_HEADER + " bytes, got " + msg.size());
    var it = msg.iterator();
    int id = it.getInt(ORDER);
    int status = it.getShort(ORDER) & 0xffff;
    return new Answer(id, status, msg.drop(ANSWER_HEADER));
  }
}
