package io.ringkv.net;

import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.KeyVersion;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.util.ByteStringBuilder;

/**
 * The node-to-node link's wire format, all of it: binary, big-endian, no JSON. A connection carries
 * length-prefixed frames ({@code int length | message}; an empty frame is a keep-alive). The first
 * message is a hello; then calls go one way and answers the other, pipelined, answered in any order
 * and matched by id.
 *
 * <pre>
 * hello   := int magic 0x524b4c32 ("RKL2") | str16 cluster token | str16 API token    ("" = none)
 * call    := int id (never 0) | byte kind | call body
 * answer  := int id | byte result | answer body
 *
 * kind          call body                answer body, when the result is OK
 * 1 REPLICATE   int n | n x entry        int n | n x applied
 * 2 READ        int n | n x str32 key    int n | n x (byte 0: absent | byte 1, versioned)
 * 3 FORWARD     int n | n x forwarded    int n | n x outcome
 * 4 TREE        long epoch | byte level | int n | n x int id      int n | n x long   (anti-entropy: hash tree nodes)
 * 5 KEYS        long epoch | int n | n x int segment              int n | n x keyversion (the entries in those segments)
 *
 * result        0 OK | 1 BAD_INPUT, 2 UNAVAILABLE: the body is a UTF-8 detail
 *               | 3 REFUSED: the hello was refused (id 0, detail as body); the connection closes
 *
 * entry     := str32 key | versioned
 * versioned := byte 0 | str32 value | version      (a value)
 *            | byte 1 | version                    (a tombstone)
 * version   := long hybrid timestamp | str16 node id
 * forwarded := entry | long deadline              (the forwarder's wall-clock millis: not started after it)
 * outcome   := byte 0 ACKED | short n | n x str16 node | version
 *            | byte 1 SUPERSEDED, 2 NOT_REACHED | short n | n x str16 node | str32 detail
 *            | byte 3 NO_VIEW, 4 EXPIRED | short 0 | str32 detail
 * keyversion := str32 key | byte tombstone (0 or 1) | version
 * applied   := byte 0 stored | byte 1 already held | byte 2 superseded | version held | byte 3 too far ahead | byte 4 not stored (disk)
 * str16     := unsigned short length | UTF-8;   str32 := int length | UTF-8
 * </pre>
 *
 * Every reader checks every length and count against what the message holds: input that does not
 * fit the layout is a {@link Wire.BadInput}, never an exception of another kind or an allocation the
 * message could not have filled.
 */
public final class Frames {
  private static final ByteOrder ORDER = ByteOrder.BIG_ENDIAN;
  private static final int HELLO_MAGIC = 0x524b4c32;   // "RKL2"

  private Frames() {}

  /** What a call asks for. */
  public enum Kind {
    REPLICATE(1), READ(2), FORWARD(3), TREE(4), KEYS(5);

    final int code;
    /** The kind as a metric label. */
    final String label;

    Kind(int code) {
      this.code = code;
      this.label = name().toLowerCase(java.util.Locale.ROOT);
    }

    static Kind of(int code) {
      return byCode(values(), k -> k.code, code, "call kind");
    }
  }

  /** How a call went. */
  public enum Result {
    OK(0), BAD_INPUT(1), UNAVAILABLE(2), REFUSED(3);

    final int code;

    Result(int code) {
      this.code = code;
    }

    static Result of(int code) {
      return byCode(values(), r -> r.code, code, "answer result");
    }
  }

  /** What a link's first frame offers: the tokens the HTTP forms of the endpoints take as headers ("" = none). */
  public record Hello(String clusterToken, String apiToken) {}

  public record Call(int id, Kind kind, ByteString body) {}

  public record Answer(int id, Result result, ByteString body) {
    /** A failed answer's detail. */
    public String detail() {
      return body.utf8String();
    }
  }

  // ---- hello, calls, answers

  public static ByteString hello(Hello h) {
    return new Writer().putInt(HELLO_MAGIC).str16(h.clusterToken()).str16(h.apiToken()).result();
  }

  /** Reads a hello; anything else (another protocol, a truncated frame) is a {@link Wire.BadInput}. */
  public static Hello readHello(ByteString msg) {
    return read(msg, "hello", r -> {
      if (r.b.getInt() != HELLO_MAGIC) throw new Wire.BadInput("not a ringkv link: the first frame must be a hello");
      return new Hello(r.str16(), r.str16());
    });
  }

  public static ByteString call(int id, Kind kind, ByteString body) {
    return new Writer().putInt(id).putByte(kind.code).result().concat(body);
  }

  /** Reads a call's header; a message too short to be one, or of an unknown kind, is a {@link Wire.BadInput}. */
  public static Call readCall(ByteString msg) {
    if (msg.size() < 5) throw new Wire.BadInput("a call needs at least 5 bytes, got " + msg.size());
    var it = msg.iterator();
    int id = it.getInt(ORDER);
    return new Call(id, Kind.of(it.getByte() & 0xff), msg.drop(5));
  }

  public static ByteString answer(int id, Result result, ByteString body) {
    return new Writer().putInt(id).putByte(result.code).result().concat(body);
  }

  public static ByteString failure(int id, Result result, String detail) {
    return answer(id, result, ByteString.fromString(detail));
  }

  public static Answer readAnswer(ByteString msg) {
    if (msg.size() < 5) throw new Wire.BadInput("an answer needs at least 5 bytes, got " + msg.size());
    var it = msg.iterator();
    int id = it.getInt(ORDER);
    return new Answer(id, Result.of(it.getByte() & 0xff), msg.drop(5));
  }

  // ---- REPLICATE

  public static ByteString entries(List<Entry> entries) {
    Writer w = new Writer().putInt(entries.size());
    for (Entry e : entries) w.str32(e.key()).versioned(e.versioned());
    return w.result();
  }

  public static List<Entry> readEntries(ByteString body) {
    return read(body, "entries", r -> r.list(15, () -> new Entry(r.str32(), r.versioned())));
  }

  public static ByteString applied(List<Applied> applied) {
    Writer w = new Writer().putInt(applied.size());
    for (Applied a : applied) {
      w.putByte(switch (a.outcome()) {
        case STORED -> 0;
        case ALREADY_HELD -> 1;
        case SUPERSEDED -> 2;
        case TOO_FAR_AHEAD -> 3;
        case NOT_STORED -> 4;
      });
      if (a.held() != null) w.version(a.held());
    }
    return w.result();
  }

  public static List<Applied> readApplied(ByteString body) {
    return read(body, "applied", r -> r.list(1, () -> switch (r.b.get()) {
      case 0 -> Applied.STORED;
      case 1 -> Applied.ALREADY_HELD;
      case 2 -> Applied.superseded(r.version());
      case 3 -> Applied.TOO_FAR_AHEAD;
      case 4 -> Applied.NOT_STORED;
      default -> throw new Wire.BadInput("applied: unknown code");
    }));
  }

  // ---- READ

  public static ByteString keys(List<String> keys) {
    Writer w = new Writer().putInt(keys.size());
    for (String k : keys) w.str32(k);
    return w.result();
  }

  public static List<String> readKeys(ByteString body) {
    return read(body, "keys", r -> r.list(4, r::str32));
  }

  public static ByteString copies(List<Optional<Versioned>> copies) {
    Writer w = new Writer().putInt(copies.size());
    for (Optional<Versioned> c : copies) {
      if (c.isEmpty()) w.putByte(0);
      else w.putByte(1).versioned(c.get());
    }
    return w.result();
  }

  public static List<Optional<Versioned>> readCopies(ByteString body) {
    return read(body, "copies", r -> r.list(1, () -> switch (r.b.get()) {
      case 0 -> Optional.<Versioned>empty();
      case 1 -> Optional.of(r.versioned());
      default -> throw new Wire.BadInput("copies: unknown presence flag");
    }));
  }

  // ---- FORWARD

  public static ByteString forwards(List<Forwarded> writes) {
    Writer w = new Writer().putInt(writes.size());
    for (Forwarded f : writes) w.str32(f.entry().key()).versioned(f.entry().versioned()).putLong(f.deadlineMillis());
    return w.result();
  }

  public static List<Forwarded> readForwards(ByteString body) {
    return read(body, "forwarded writes", r -> r.list(23, () -> new Forwarded(new Entry(r.str32(), r.versioned()), r.b.getLong())));
  }

  public static ByteString outcomes(List<WriteOutcome> outcomes) {
    Writer w = new Writer().putInt(outcomes.size());
    for (WriteOutcome o : outcomes) {
      // Java 17 has no pattern switch: one test per outcome, each writing its code, nodes and tail
      if (o instanceof WriteOutcome.Acked a) nodes(w.putByte(0), o).version(a.version());
      else if (o instanceof WriteOutcome.Superseded s) nodes(w.putByte(1), o).str32(s.detail());
      else if (o instanceof WriteOutcome.NotReached n) nodes(w.putByte(2), o).str32(n.detail());
      else if (o instanceof WriteOutcome.NoView n) nodes(w.putByte(3), o).str32(n.detail());
      else if (o instanceof WriteOutcome.Expired x) nodes(w.putByte(4), o).str32(x.detail());
    }
    return w.result();
  }

  private static Writer nodes(Writer w, WriteOutcome o) {
    w.putShort(o.ackedBy().size());
    for (String node : o.ackedBy()) w.str16(node);
    return w;
  }

  public static List<WriteOutcome> readOutcomes(ByteString body) {
    return read(body, "outcomes", r -> r.list(3, () -> {
      int code = r.b.get();
      int n = r.b.getShort() & 0xffff;
      List<String> acked = new ArrayList<>(Math.min(n, 16));
      for (int i = 0; i < n; i++) acked.add(r.str16());
      return switch (code) {
        case 0 -> new WriteOutcome.Acked(acked, r.version());
        case 1 -> new WriteOutcome.Superseded(acked, r.str32());
        case 2 -> new WriteOutcome.NotReached(acked, r.str32());
        case 3 -> new WriteOutcome.NoView(r.str32());
        case 4 -> new WriteOutcome.Expired(r.str32());
        default -> throw new Wire.BadInput("outcomes: unknown code " + code);
      };
    }));
  }

  // ---- TREE and KEYS (anti-entropy)

  /** Most tree values one TREE call may ask for (ids times the level's width): 512 KiB of answer. */
  public static final int MAX_TREE_VALUES = 65_536;
  /** Most segments one KEYS call may ask for. */
  public static final int MAX_SEGMENTS = 4096;

  /** A TREE call: the nodes at {@code level} of the trees at view {@code epoch}, for {@code ids} (see RangeTrees). */
  public record TreeQuery(long epoch, int level, int[] ids) {}

  /** A KEYS call: the keys and versions in {@code segments} of the trees at view {@code epoch}. */
  public record SegmentQuery(long epoch, int[] segments) {}

  public static ByteString treeQuery(TreeQuery q) {
    Writer w = new Writer().putLong(q.epoch()).putByte(q.level()).putInt(q.ids().length);
    for (int id : q.ids()) w.putInt(id);
    return w.result();
  }

  public static TreeQuery readTreeQuery(ByteString body) {
    return read(body, "tree query", r -> {
      long epoch = r.b.getLong();
      int level = r.b.get();
      int[] ids = r.ints(MAX_TREE_VALUES);
      return new TreeQuery(epoch, level, ids);
    });
  }

  public static ByteString longs(long[] values) {
    Writer w = new Writer().putInt(values.length);
    for (long v : values) w.putLong(v);
    return w.result();
  }

  public static long[] readLongs(ByteString body) {
    return read(body, "tree values", r -> {
      int n = r.b.getInt();
      if (n < 0 || n > r.b.remaining() / 8) throw new Wire.BadInput("bad count " + n);
      long[] out = new long[n];
      for (int i = 0; i < n; i++) out[i] = r.b.getLong();
      return out;
    });
  }

  public static ByteString segmentQuery(SegmentQuery q) {
    Writer w = new Writer().putLong(q.epoch()).putInt(q.segments().length);
    for (int s : q.segments()) w.putInt(s);
    return w.result();
  }

  public static SegmentQuery readSegmentQuery(ByteString body) {
    return read(body, "segment query", r -> new SegmentQuery(r.b.getLong(), r.ints(MAX_SEGMENTS)));
  }

  public static ByteString keyVersions(List<KeyVersion> kvs) {
    Writer w = new Writer().putInt(kvs.size());
    for (KeyVersion kv : kvs) w.str32(kv.key()).putByte(kv.tombstone() ? 1 : 0).version(kv.version());
    return w.result();
  }

  public static List<KeyVersion> readKeyVersions(ByteString body) {
    return read(body, "key versions", r -> r.list(15, () -> {
      String key = r.str32();
      boolean tombstone = switch (r.b.get()) {
        case 0 -> false;
        case 1 -> true;
        default -> throw new Wire.BadInput("key versions: bad tombstone flag");
      };
      return new KeyVersion(key, r.version(), tombstone);
    }));
  }

  // ---- plumbing

  private static <E> E byCode(E[] values, java.util.function.ToIntFunction<E> codeOf, int code, String what) {
    for (E e : values) if (codeOf.applyAsInt(e) == code) return e;
    throw new Wire.BadInput("unknown " + what + " " + code);
  }

  /** Reads a whole message with {@code reader}; bytes left over, or too few, are a {@link Wire.BadInput}. */
  private static <T> T read(ByteString msg, String what, Function<Reader, T> reader) {
    Reader r = new Reader(ByteBuffer.wrap(msg.toArray()).order(ORDER));
    try {
      T out = reader.apply(r);
      if (r.b.hasRemaining()) throw new Wire.BadInput(what + ": " + r.b.remaining() + " bytes after the end");
      return out;
    } catch (BufferUnderflowException e) {
      throw new Wire.BadInput(what + ": the message ends inside it");
    }
  }

  private static final class Writer {
    private final ByteStringBuilder b = new ByteStringBuilder();

    Writer putInt(int i) {
      b.putInt(i, ORDER);
      return this;
    }

    Writer putShort(int s) {
      b.putShort(s, ORDER);
      return this;
    }

    Writer putLong(long l) {
      b.putLong(l, ORDER);
      return this;
    }

    Writer putByte(int x) {
      b.putByte((byte) x);
      return this;
    }

    Writer str16(String s) {
      byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
      if (bytes.length > 0xffff) throw new IllegalArgumentException("a short string is at most 65535 bytes");
      b.putShort(bytes.length, ORDER).putBytes(bytes);
      return this;
    }

    Writer str32(String s) {
      byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
      b.putInt(bytes.length, ORDER).putBytes(bytes);
      return this;
    }

    Writer version(Version v) {
      b.putLong(v.timestamp(), ORDER);
      return str16(v.node());
    }

    Writer versioned(Versioned v) {
      if (v.isTombstone()) putByte(1);
      else putByte(0).str32(v.value());
      return version(v.version());
    }

    ByteString result() {
      return b.result();
    }
  }

  private static final class Reader {
    final ByteBuffer b;

    Reader(ByteBuffer b) {
      this.b = b;
    }

    /** A count, then that many items of at least {@code minBytes} each: a count the message cannot hold is a lie. */
    <T> List<T> list(int minBytes, java.util.function.Supplier<T> item) {
      int count = b.getInt();
      if (count < 0 || count > b.remaining() / minBytes) throw new Wire.BadInput("bad count " + count);
      List<T> out = new ArrayList<>(count);
      for (int i = 0; i < count; i++) out.add(item.get());
      return out;
    }

    /** A count, at most {@code max}, then that many ints. */
    int[] ints(int max) {
      int n = b.getInt();
      if (n < 0 || n > max || n > b.remaining() / 4) throw new Wire.BadInput("bad count " + n + " (at most " + max + ")");
      int[] out = new int[n];
      for (int i = 0; i < n; i++) out[i] = b.getInt();
      return out;
    }

    String str16() {
      return utf8(b.getShort() & 0xffff);
    }

    String str32() {
      return utf8(b.getInt());
    }

    Version version() {
      long ts = b.getLong();
      String node = str16();
      if (node.isEmpty()) throw new Wire.BadInput("empty node id in a version");
      return new Version(ts, node);
    }

    Versioned versioned() {
      return switch (b.get()) {
        case 0 -> {
          String value = str32();
          yield new Versioned(value, version());
        }
        case 1 -> Versioned.tombstone(version());
        default -> throw new Wire.BadInput("bad tombstone flag");
      };
    }

    private String utf8(int length) {
      if (length < 0 || length > b.remaining()) throw new Wire.BadInput("bad length " + length);
      String s = new String(b.array(), b.arrayOffset() + b.position(), length, StandardCharsets.UTF_8);
      b.position(b.position() + length);
      return s;
    }
  }
}
