package io.ringkv.net;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.io.IOException;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON shapes of the HTTP endpoints (the seed's {@code /replicate}, views, registrations),
 * shared by the routes and the {@link ControlPlaneClient}. Decoding is
 * strict: anything that is not the expected shape throws {@link BadInput} with a message meant for
 * the caller.
 */
public final class Wire {
  public static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
      .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(64).build())
      .build()).enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);   // `{...} junk` is malformed, not `{...}`
  public static final JsonNodeFactory NODES = JsonNodeFactory.instance;
  /** The most members a view may have (a bound on what a view from the network can make a node hold). */
  public static final int MAX_MEMBERS = 1024;
  /** The header that carries the cluster token on node-to-node HTTP requests. */
  public static final String TOKEN_HEADER = "X-Cluster-Token";

  private Wire() {}

  /** Input that does not have the expected shape or breaks a limit: the caller's fault, never served. */
  public static final class BadInput extends RuntimeException {
    private final boolean tooLarge;

    public BadInput(String message) {
      this(message, false);
    }

    private BadInput(String message, boolean tooLarge) {
      super(message, null, false, false);
      this.tooLarge = tooLarge;
    }

    /** Input over a size limit (a value larger than MAX_VALUE_BYTES). */
    public static BadInput tooLarge(String message) {
      return new BadInput(message, true);
    }

    public boolean tooLarge() {
      return tooLarge;
    }
  }

  public static JsonNode parse(byte[] body) {
    if (body.length == 0) throw new BadInput("request body is empty; expected a JSON object");
    try {
      JsonNode n = JSON.readTree(body);
      if (n == null || n.isMissingNode()) throw new BadInput("request body is empty; expected a JSON object");
      return n;
    } catch (IOException e) {
      throw new BadInput("malformed JSON: " + firstLine(e.getMessage()));
    }
  }

  public static ObjectNode object(JsonNode n) {
    if (!(n instanceof ObjectNode o)) throw new BadInput("expected a JSON object, got " + kind(n));
    return o;
  }

  public static String requiredString(JsonNode obj, String field) {
    JsonNode v = obj.get(field);
    if (v == null || v.isNull()) throw new BadInput("field '" + field + "' is required");
    if (!v.isTextual()) throw new BadInput("field '" + field + "' must be a string, got " + kind(v));
    return v.textValue();
  }

  public static String optionalString(JsonNode obj, String field, String dflt) {
    JsonNode v = obj.get(field);
    if (v == null || v.isNull()) return dflt;
    if (!v.isTextual()) throw new BadInput("field '" + field + "' must be a string, got " + kind(v));
    return v.textValue();
  }

  public static long optionalLong(JsonNode obj, String field, long dflt) {
    JsonNode v = obj.get(field);
    if (v == null || v.isNull()) return dflt;
    if (!v.canConvertToLong() || !v.isIntegralNumber()) throw new BadInput("field '" + field + "' must be an integer");
    return v.longValue();
  }

  public static int requiredPort(JsonNode obj, String field) {
    JsonNode v = obj.get(field);
    if (v == null || v.isNull()) throw new BadInput("field '" + field + "' is required");
    if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < 1 || v.intValue() > 65535)
      throw new BadInput("field '" + field + "' must be a port number (1-65535)");
    return v.intValue();
  }

  static String kind(JsonNode n) {
    if (n == null) return "nothing";
    return switch (n.getNodeType()) {
      case ARRAY -> "an array";
      case OBJECT -> "an object";
      case STRING -> "a string";
      case NUMBER -> "a number";
      case BOOLEAN -> "a boolean";
      case NULL -> "null";
      default -> n.getNodeType().name().toLowerCase();
    };
  }

  private static String firstLine(String s) {
    if (s == null) return "unreadable body";
    int nl = s.indexOf('\n');
    String line = nl < 0 ? s : s.substring(0, nl);
    return line.length() > 200 ? line.substring(0, 200) : line;
  }

  // ---- entries

  public static ObjectNode entry(Entry e) {
    ObjectNode o = NODES.objectNode();
    o.put("key", e.key());
    Versioned v = e.versioned();
    if (v.isTombstone()) {
      o.putNull("value");
      o.put("tombstone", true);
    } else {
      o.put("value", v.value());
    }
    o.put("version", v.version().toString());
    return o;
  }

  public static ObjectNode entries(List<Entry> entries) {
    ObjectNode o = NODES.objectNode();
    ArrayNode arr = o.putArray("entries");
    for (Entry e : entries) arr.add(entry(e));
    return o;
  }

  /**
   * Reads one entry; a missing version is allowed only when {@code stampIfMissing} is given (the
   * seed's unversioned {@code {"key","value"}} replicate).
   */
  public static Entry readEntry(JsonNode n, Version stampIfMissing) {
    ObjectNode o = object(n);
    String key = requiredString(o, "key");
    if (key.isEmpty()) throw new BadInput("field 'key' must not be empty");
    boolean tomb = o.path("tombstone").asBoolean(false);
    String value = tomb ? null : requiredString(o, "value");
    String vs = optionalString(o, "version", null);
    Version version;
    if (vs == null) {
      if (stampIfMissing == null) throw new BadInput("field 'version' is required");
      version = stampIfMissing;
    } else {
      try {
        version = Version.parse(vs);
      } catch (IllegalArgumentException e) {
        throw new BadInput("field 'version' must look like <timestamp>@<node>");
      }
    }
    return new Entry(key, new Versioned(value, version));
  }

  // ---- views

  public static ObjectNode view(ClusterView view) {
    ObjectNode o = NODES.objectNode();
    o.put("epoch", view.epoch());
    ObjectNode nodes = o.putObject("nodes");
    for (Member m : view.members().values()) {
      ObjectNode mn = nodes.putObject(m.id());
      mn.put("host", m.host());
      mn.put("port", m.port());
      mn.put("status", m.status().name());
      if (m.instance() != null) mn.put("instance", m.instance());
    }
    return o;
  }

  public static ClusterView readView(JsonNode n, int vnodes) {
    ObjectNode o = object(n);
    long epoch = optionalLong(o, "epoch", -1);
    if (epoch < 0) throw new BadInput("field 'epoch' is required");
    JsonNode nodes = o.get("nodes");
    if (!(nodes instanceof ObjectNode nodesObj)) throw new BadInput("field 'nodes' must be an object");
    if (nodesObj.size() > MAX_MEMBERS) throw new BadInput("a view has at most " + MAX_MEMBERS + " members, not " + nodesObj.size());
    Map<String, Member> members = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = nodesObj.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      ObjectNode mn = object(e.getValue());
      String status = optionalString(mn, "status", "UP");
      Member.Status st;
      try {
        st = Member.Status.valueOf(status);
      } catch (IllegalArgumentException ex) {
        throw new BadInput("node status must be UP or DOWN");
      }
      members.put(e.getKey(), new Member(e.getKey(), requiredString(mn, "host"), requiredPort(mn, "port"), st,
          optionalString(mn, "instance", null)));
    }
    return new ClusterView(epoch, members, vnodes);
  }

  public static byte[] bytes(JsonNode n) {
    try {
      return JSON.writeValueAsBytes(n);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public static ObjectNode detail(String message) {
    ObjectNode o = NODES.objectNode();
    o.put("detail", message);
    return o;
  }
}
