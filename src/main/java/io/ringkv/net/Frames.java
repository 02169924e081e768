package io.ringkv.net;

import io.ringkv.storage.Entry;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.ws.BinaryMessage;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.util.ByteStringBuilder;

/**
 * The messages of the node-to-node link: each is one call or one answer, so that many calls share
 * one connection, pipelined, in any order. On the link's TCP port ({@link LinkServer}) each message
 * is a frame (int length | message), the first one a hello, an empty frame a keep-alive; on the
 * older WebSocket form ({@code GET /peer}) each binary message is one.
 *
 * <pre>
 *   hello:  int magic "RKL1" | short length | cluster token UTF-8 | short length | API token UTF-8
 *   call:   int id | byte kind   | body: JSON (the same body as the kind's HTTP endpoint), or entries
 *   answer: int id | short status | JSON body (the endpoint's answer, or {"detail": ...})
 *   entries: int count | count x (int key length | key UTF-8 | byte 1 = tombstone, else 0
 *            | [int value length | value UTF-8, unless a tombstone] | long timestamp
 *            | short node length | node UTF-8)
 * </pre>
 *
 * Replicas and rebalance pushes travel as {@link Kind#ENTRIES}: no JSON to build or parse per entry
 * (Jackson's tree cost 2.6 us per entry, encode and decode, of a 100-byte value).
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
    FORWARD,
    /** {@code POST /replicate}, its entries in the binary layout above */
    ENTRIES;

    private static final Kind[] ALL = values();

    static Kind of(int code) {
      if (code < 0 || code >= ALL.length) throw new Wire.BadInput("unknown call kind " + code);
      return ALL[code];
    }
  }

  public record Call(int id, Kind kind, ByteString body) {}

  /** What a link's first frame offers: the tokens the HTTP forms of the endpoints take as headers ("" = none). */
  public record Hello(String clusterToken, String apiToken) {}

  private static final int HELLO_MAGIC = 0x524b4c31;   // "RKL1"

  public static ByteString hello(Hello h) {
    byte[] cluster = h.clusterToken().getBytes(StandardCharsets.UTF_8);
    byte[] api = h.apiToken().getBytes(StandardCharsets.UTF_8);
    return new ByteStringBuilder().putInt(HELLO_MAGIC, ORDER)
        .putShort(cluster.length, ORDER).putBytes(cluster)
        .putShort(api.length, ORDER).putBytes(api).result();
  }

  /** Reads a hello; anything else (another protocol, a truncated frame) is a {@link Wire.BadInput}. */
  public static Hello readHello(ByteString msg) {
    ByteBuffer b = ByteBuffer.wrap(msg.toArray()).order(ORDER);
    try {
      if (b.getInt() != HELLO_MAGIC) throw new Wire.BadInput("not a ringkv link: the first frame must be a hello");
      String cluster = utf8(b, b.getShort() & 0xffff);
      String api = utf8(b, b.getShort() & 0xffff);
      if (b.hasRemaining()) throw new Wire.BadInput("hello: " + b.remaining() + " bytes after the tokens");
      return new Hello(cluster, api);
    } catch (BufferUnderflowException e) {
      throw new Wire.BadInput("hello: the frame ends inside it");
    }
  }

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

  /** How long a streamed WebSocket message may take to arrive whole. */
  private static final long STRICT_TIMEOUT_MS = 10_000;

  /** A binary WebSocket message's bytes (one that arrived whole as it is; a streamed one collected). */
  public static CompletionStage<ByteString> bytes(BinaryMessage m, Materializer mat) {
    if (m.isStrict()) return CompletableFuture.completedFuture(m.getStrictData());
    return m.toStrict(STRICT_TIMEOUT_MS, mat).thenApply(s -> s.getStrictData());
  }

  /** Entries in the binary layout (see the class comment). */
  public static byte[] entries(List<Entry> entries) {
    int size = 4;
    List<byte[]> parts = new ArrayList<>(entries.size() * 3);
    for (Entry e : entries) {
      byte[] key = e.key().getBytes(StandardCharsets.UTF_8);
      Versioned v = e.versioned();
      byte[] value = v.isTombstone() ? null : v.value().getBytes(StandardCharsets.UTF_8);
      byte[] node = v.version().node().getBytes(StandardCharsets.UTF_8);
      parts.add(key);
      parts.add(value);
      parts.add(node);
      size += 4 + key.length + 1 + (value == null ? 0 : 4 + value.length) + 8 + 2 + node.length;
    }
    ByteBuffer b = ByteBuffer.allocate(size).order(ORDER);
    b.putInt(entries.size());
    for (int i = 0; i < entries.size(); i++) {
      byte[] key = parts.get(3 * i);
      byte[] value = parts.get(3 * i + 1);
      byte[] node = parts.get(3 * i + 2);
      b.putInt(key.length).put(key);
      b.put((byte) (value == null ? 1 : 0));
      if (value != null) b.putInt(value.length).put(value);
      b.putLong(entries.get(i).versioned().version().timestamp());
      b.putShort((short) node.length).put(node);
    }
    return b.array();
  }

  /** Reads {@link #entries}; anything that does not fit the layout is a {@link Wire.BadInput}. */
  public static List<Entry> readEntries(ByteString body) {
    ByteBuffer b = ByteBuffer.wrap(body.toArray()).order(ORDER);
    try {
      int count = b.getInt();
      // each entry takes at least 15 bytes: a count beyond what the body can hold is a lie
      if (count < 0 || count > b.remaining() / 15) throw new Wire.BadInput("entries: bad count " + count);
      List<Entry> out = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        String key = utf8(b, b.getInt());
        boolean tombstone = switch (b.get()) {
          case 0 -> false;
          case 1 -> true;
          default -> throw new Wire.BadInput("entries: bad tombstone flag");
        };
        String value = tombstone ? null : utf8(b, b.getInt());
        long ts = b.getLong();
        String node = utf8(b, b.getShort() & 0xffff);
        if (node.isEmpty()) throw new Wire.BadInput("entries: empty node id in a version");
        out.add(new Entry(key, new Versioned(value, new Version(ts, node))));
      }
      if (b.hasRemaining()) throw new Wire.BadInput("entries: " + b.remaining() + " bytes after the last entry");
      return out;
    } catch (BufferUnderflowException e) {
      throw new Wire.BadInput("entries: the body ends inside an entry");
    }
  }

  private static String utf8(ByteBuffer b, int length) {
    if (length < 0 || length > b.remaining()) throw new Wire.BadInput("bad length " + length);
    String s = new String(b.array(), b.arrayOffset() + b.position(), length, StandardCharsets.UTF_8);
    b.position(b.position() + length);
    return s;
  }

  public static Answer readAnswer(ByteString msg) {
    if (msg.size() < ANSWER_HEADER) throw new IllegalArgumentException("an answer needs at least " + ANSWER_HEADER + " bytes, got " + msg.size());
    var it = msg.iterator();
    int id = it.getInt(ORDER);
    int status = it.getShort(ORDER) & 0xffff;
    return new Answer(id, status, msg.drop(ANSWER_HEADER));
  }
}
