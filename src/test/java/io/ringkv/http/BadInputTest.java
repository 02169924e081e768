package io.ringkv.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.ringkv.cluster.TestCluster;
import io.ringkv.cluster.TestCluster.Reply;
import io.ringkv.net.Frames;
import io.ringkv.net.LinkSocket;
import io.ringkv.net.Forwarded;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Bad input against every endpoint of both roles, over real HTTP: each gets a 4xx with a JSON
 * {@code {"detail": "..."}}; none gets a 500, none crashes a node, none changes stored data or the
 * membership.
 */
class BadInputTest {
  private static final int MAX_KEY = 1024;
  private static final int MAX_VALUE = 1024 * 1024;
  private static final Duration SETTLE = Duration.ofSeconds(5);

  /** A case whose body is a raw request head, sent over a plain socket. */
  private static final String RAW = "RAW";

  private static TestCluster cluster;

  @BeforeAll
  static void startCluster() {
    cluster = TestCluster.start(3, Map.of(TestCluster.STEADY_MEMBERSHIP, "10s"));
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) cluster.close();
  }

  /** One request and the 4xx it must get ({@code 0}: any 4xx). */
  private record Case(String method, String path, String body, int expected, boolean controller, Map<String, String> headers) {
    Case(String method, String path, String body, int expected, boolean controller) {
      this(method, path, body, expected, controller, Map.of());
    }

    String describe() {
      String b = body == null ? "" : " body=" + (body.length() > 60 ? body.substring(0, 60) + "...(" + body.length() + " chars)" : body);
      return (controller ? "controller " : "worker ") + method + " " + abbreviatePath() + b;
    }

    private String abbreviatePath() {
      return path.length() > 80 ? path.substring(0, 80) + "...(" + path.length() + " chars)" : path;
    }
  }

  @Test
  void everyBadRequestGetsAJson4xxAndChangesNothing() {
    // known data before the barrage, on every worker (N = 3 = all workers)
    String run = UUID.randomUUID().toString().substring(0, 8);
    Map<String, String> known = new LinkedHashMap<>();
    List<String> workers = cluster.workers();
    for (int i = 0; i < 20; i++) {
      String key = "known-" + run + "-" + i;
      String value = "value-" + i + "-" + run;
      known.put(key, value);
      Reply r = cluster.putKv(workers.get(i % workers.size()), key, value);
      assertEquals(200, r.status(), "PUT " + key + ": " + r);
    }
    for (String w : workers) known.forEach((k, v) -> cluster.awaitLocal(SETTLE, w, k, v));
    Map<String, Integer> keysBefore = settledKeyCounts();
    long epochBefore = controllerEpoch();

    List<Case> cases = cases();
    List<String> failures = new ArrayList<>();
    for (int i = 0; i < cases.size(); i++) {
      Case c = cases.get(i);
      String base = c.controller() ? cluster.controllerUrl() : cluster.url(workers.get(i % workers.size()));
      Reply r = c.method().equals(RAW)
          ? cluster.sendRaw(base, c.body())
          : cluster.send(c.method(), base + c.path(), c.body(), c.headers());
      String problem = problem(c, r);
      if (problem != null) failures.add(c.describe() + " -> " + r + ": " + problem);
    }
    if (!failures.isEmpty())
      fail(failures.size() + " of " + cases.size() + " bad requests were not answered with a JSON 4xx:\n  "
          + String.join("\n  ", failures));

    // nothing crashed, nothing moved, nothing was stored
    assertEquals(200, cluster.get(cluster.controllerUrl() + "/health").status());
    for (String w : workers) assertEquals(200, cluster.get(cluster.url(w) + "/health").status(), w + " /health");
    Map<String, JsonNode> nodes = cluster.nodes();
    for (String w : workers) assertEquals("UP", nodes.get(w).path("status").asText(), w + ": " + nodes);
    assertEquals(workers.size(), nodes.size(), "no node was registered by the barrage: " + nodes.keySet());
    assertEquals(epochBefore, controllerEpoch(), "the membership epoch changed");
    for (String w : workers) {
      assertEquals(epochBefore, cluster.status(w).path("epoch").asLong(), w + " adopted another view");
      for (Map.Entry<String, String> e : known.entrySet()) {
        assertEquals(e.getValue(), cluster.localValue(w, e.getKey()), w + " local " + e.getKey());
        Reply r = cluster.getKv(w, e.getKey());
        assertEquals(200, r.status(), r.toString());
        assertEquals(e.getValue(), r.json().path("value").asText(), w + " GET " + e.getKey());
      }
    }
    assertEquals(keysBefore, keyCounts(), "keys counts per worker changed");
  }

  @Test
  void aValueOfExactlyTheLimitIsAccepted() {
    String key = "max-value-" + UUID.randomUUID();
    String value = "a".repeat(MAX_VALUE);
    Reply put = cluster.putKv("worker1", key, value);
    assertEquals(200, put.status(), put.toString());
    Reply get = cluster.getKv("worker2", key);
    assertEquals(200, get.status(), get.toString());
    assertEquals(MAX_VALUE, get.json().path("value").asText().length());
    for (String w : cluster.workers()) cluster.awaitLocal(SETTLE, w, key, value);

    // multi-byte: 349,525 x 3 bytes + 1 = 1,048,576 bytes is still fine
    String key2 = "max-value-utf8-" + UUID.randomUUID();
    String value2 = "\u20ac".repeat(349_525) + "a";
    Reply put2 = cluster.putKv("worker3", key2, value2);
    assertEquals(200, put2.status(), put2.toString());
    for (String w : cluster.workers()) cluster.awaitLocal(SETTLE, w, key2, value2);
  }

  @Test
  void aKeyOfExactlyTheLimitIsAccepted() {
    String ascii = UUID.randomUUID() + "k".repeat(MAX_KEY - 36);
    String utf8 = "\u20ac".repeat(340) + "ab" + UUID.randomUUID().toString().substring(0, 2);   // 1020 + 4 bytes
    for (String key : List.of(ascii, utf8)) {
      assertEquals(200, cluster.putKv("worker2", key, "v").status(), "PUT key of " + key.length() + " chars");
      Reply r = cluster.getKv("worker1", key);
      assertEquals(200, r.status(), r.toString());
      assertEquals(key, r.json().path("key").asText());
      assertEquals(200, cluster.get(cluster.controllerUrl() + "/mapping?key=" + TestCluster.enc(key)).status());
      for (String w : cluster.workers()) cluster.awaitLocal(SETTLE, w, key, "v");
    }
  }

  @Test
  void theValueLimitIsConfigurable() {
    try (TestCluster small = TestCluster.start(1, Map.of(
        "ringkv.limits.max-value-bytes", 100,
        "ringkv.replication.factor", 1,
        "ringkv.replication.write-quorum", 1,
        "ringkv.replication.read-quorum", 1))) {
      String key = "small-" + UUID.randomUUID();
      Reply ok = small.putKv("worker1", key, "b".repeat(100));
      assertEquals(200, ok.status(), ok.toString());
      Reply tooBig = small.putKv("worker1", key, "c".repeat(101));
      assertDetail(tooBig, 413);
      assertEquals("b".repeat(100), small.getKv("worker1", key).json().path("value").asText(), "the rejected write changed the value");
    }
  }

  // ---- the barrage

  private static List<Case> cases() {
    List<Case> cases = new ArrayList<>();
    String longKey = "k".repeat(MAX_KEY + 1);
    String longKeyUtf8 = "\u20ac".repeat(342);   // 1,026 bytes in 342 chars
    String bigValue = "a".repeat(MAX_VALUE + 1);
    String bigValueUtf8 = "\u20ac".repeat(349_526);   // 1,048,578 bytes in fewer chars than the limit
    String deep = "[".repeat(100) + "]".repeat(100);
    String unused = "never-" + UUID.randomUUID();   // a key no case may store

    // every endpoint with a body, on both roles: broken JSON, no JSON, JSON that is not an object
    List<String[]> bodyEndpoints = List.of(
        new String[] {"PUT", "/kv", "w"}, new String[] {"POST", "/kv", "w"}, new String[] {"POST", "/replicate", "w"},
        new String[] {"POST", "/node_down", "w"}, new String[] {"POST", "/register", "c"},
        new String[] {"POST", "/heartbeat", "c"});
    List<String> notAnObject = List.of("", "   ", "{\"key\": \"a\", \"value\": ", "not json", "{\"key\":\"a\",}",
        "{'key':'a','value':'b'}", "[1,2]", "[]", "\"text\"", "42", "true", "null", deep,
        "{\"key\":\"" + unused + "\",\"key\":\"" + unused + "\",\"value\":\"v\"}", "{\"key\":\"" + unused + "\",\"value\":\"v\"} trailing");
    for (String[] e : bodyEndpoints)
      for (String body : notAnObject) cases.add(new Case(e[0], e[1], body, 400, e[2].equals("c")));
    for (String[] e : bodyEndpoints) cases.add(new Case(e[0], e[1], null, 400, e[2].equals("c")));

    // PUT/POST /kv: missing, empty, non-string, oversized fields
    for (String m : List.of("PUT", "POST")) {
      for (String body : List.of("{}", "{\"value\":\"v\"}", "{\"key\":\"" + unused + "\"}", "{\"key\":\"\",\"value\":\"v\"}",
          "{\"key\":5,\"value\":\"v\"}", "{\"key\":{},\"value\":\"v\"}", "{\"key\":null,\"value\":\"v\"}",
          "{\"key\":[\"a\"],\"value\":\"v\"}", "{\"key\":true,\"value\":\"v\"}",
          "{\"key\":\"" + unused + "\",\"value\":5}", "{\"key\":\"" + unused + "\",\"value\":{}}",
          "{\"key\":\"" + unused + "\",\"value\":null}", "{\"key\":\"" + unused + "\",\"value\":[]}",
          "{\"key\":\"" + unused + "\",\"value\":1.5}", "{\"key\":\"" + unused + "\",\"value\":\"\"}",
          "{\"key\":\"" + longKey + "\",\"value\":\"v\"}", "{\"key\":\"" + longKeyUtf8 + "\",\"value\":\"v\"}"))
        cases.add(new Case(m, "/kv", body, 400, false));
      cases.add(new Case(m, "/kv", TestCluster.kvBody(unused, bigValue), 413, false));
      cases.add(new Case(m, "/kv", TestCluster.kvBody(unused, bigValueUtf8), 413, false));
    }

    // the key parameter: missing, empty, oversized
    for (String[] e : List.of(new String[] {"GET", "/kv", "w"}, new String[] {"DELETE", "/kv", "w"},
        new String[] {"GET", "/replicate", "w"}, new String[] {"GET", "/mapping", "c"})) {
      boolean ctl = e[2].equals("c");
      cases.add(new Case(e[0], e[1], null, 400, ctl));
      cases.add(new Case(e[0], e[1] + "?other=1", null, 400, ctl));
      cases.add(new Case(e[0], e[1] + "?key=", null, 400, ctl));
      cases.add(new Case(e[0], e[1] + "?key=" + longKey, null, 400, ctl));
      cases.add(new Case(e[0], e[1] + "?key=" + TestCluster.enc(longKeyUtf8), null, 400, ctl));
    }
    cases.add(new Case("GET", "/kv?local=true", null, 400, false));
    cases.add(new Case("GET", "/kv?key=&local=true", null, 400, false));
    cases.add(new Case("GET", "/kv?key=" + longKey + "&local=true", null, 400, false));

    // POST /replicate: missing fields, bad versions, bad entries (and a batch is all or nothing)
    String v = "\"version\":\"1@w\"";
    for (String body : List.of("{}", "{\"value\":\"v\"}", "{\"key\":\"" + unused + "\"}", "{\"key\":\"\",\"value\":\"v\"}",
        "{\"key\":5,\"value\":\"v\"}", "{\"key\":\"" + unused + "\",\"value\":5}",
        "{\"key\":\"" + unused + "\",\"value\":\"v\",\"version\":\"garbage\"}",
        "{\"key\":\"" + unused + "\",\"value\":\"v\",\"version\":\"123\"}",
        "{\"key\":\"" + unused + "\",\"value\":\"v\",\"version\":\"abc@w\"}",
        "{\"key\":\"" + unused + "\",\"value\":\"v\",\"version\":\"12@\"}",
        "{\"key\":\"" + unused + "\",\"value\":\"v\",\"version\":\"@w\"}",
        "{\"key\":\"" + unused + "\",\"value\":\"v\",\"version\":7}",
        "{\"key\":\"" + longKey + "\",\"value\":\"v\"," + v + "}",
        "{\"entries\":\"x\"}", "{\"entries\":{}}", "{\"entries\":[1]}", "{\"entries\":[null]}",
        "{\"entries\":[{\"key\":\"" + unused + "\",\"value\":\"v\"}]}",
        "{\"entries\":[{\"key\":\"" + unused + "\",\"value\":\"v\"," + v + "},{\"key\":\"x\",\"value\":\"v\",\"version\":\"bad\"}]}",
        "{\"entries\":[{\"key\":\"" + unused + "\",\"value\":\"v\"," + v + "},{\"value\":\"v\"," + v + "}]}"))
      cases.add(new Case("POST", "/replicate", body, 400, false));
    cases.add(new Case("POST", "/replicate", "{\"key\":\"" + unused + "\",\"value\":\"" + bigValue + "\"," + v + "}", 413, false));

    // the retired HTTP forms of the link's calls, and its WebSocket form: gone
    cases.add(new Case("POST", "/forward", "{\"writes\":[{\"key\":\"" + unused + "\",\"value\":\"v\"}]}", 404, false));
    cases.add(new Case("POST", "/replicate/read", "{\"keys\":[\"" + unused + "\"]}", 404, false));
    cases.add(new Case("GET", "/peer", null, 404, false));

    // POST /node_down: views that are not views
    for (String body : List.of("{}", "{\"node_id\":5}", "{\"node_id\":null}", "{\"nodes\":{}}", "{\"epoch\":\"x\",\"nodes\":{}}", "{\"epoch\":-5,\"nodes\":{}}",
        "{\"epoch\":1.5,\"nodes\":{}}", "{\"epoch\":99,\"nodes\":[]}", "{\"epoch\":99,\"nodes\":{\"w\":5}}",
        "{\"epoch\":99,\"nodes\":{\"w\":{\"host\":\"h\",\"port\":0}}}",
        "{\"epoch\":99,\"nodes\":{\"w\":{\"host\":\"h\",\"port\":70000}}}",
        "{\"epoch\":99,\"nodes\":{\"w\":{\"port\":1}}}",
        "{\"epoch\":99,\"nodes\":{\"w\":{\"host\":\"h\",\"port\":1,\"status\":\"MAYBE\"}}}"))
      cases.add(new Case("POST", "/node_down", body, 400, false));
    StringBuilder huge = new StringBuilder("{\"epoch\":99,\"nodes\":{");
    for (int i = 0; i <= 1024; i++) huge.append(i == 0 ? "" : ",").append("\"w").append(i).append("\":{\"host\":\"h\",\"port\":1}");
    cases.add(new Case("POST", "/node_down", huge.append("}}").toString(), 400, false));   // over the members a view may hold

    // POST /register: missing, empty, non-string fields, ports out of range
    for (String body : List.of("{}", "{\"host\":\"h\",\"port\":1}", "{\"node_id\":\"ghost\",\"port\":1}",
        "{\"node_id\":\"ghost\",\"host\":\"h\"}", "{\"node_id\":\"\",\"host\":\"h\",\"port\":1}",
        "{\"node_id\":\"  \",\"host\":\"h\",\"port\":1}", "{\"node_id\":\"ghost\",\"host\":\"\",\"port\":1}",
        "{\"node_id\":5,\"host\":\"h\",\"port\":1}", "{\"node_id\":\"ghost\",\"host\":{},\"port\":1}",
        "{\"node_id\":null,\"host\":\"h\",\"port\":1}", "{\"node_id\":\"ghost\",\"host\":\"h\",\"port\":0}",
        "{\"node_id\":\"ghost\",\"host\":\"h\",\"port\":-1}", "{\"node_id\":\"ghost\",\"host\":\"h\",\"port\":65536}",
        "{\"node_id\":\"ghost\",\"host\":\"h\",\"port\":99999999999}", "{\"node_id\":\"ghost\",\"host\":\"h\",\"port\":\"8000\"}",
        "{\"node_id\":\"ghost\",\"host\":\"h\",\"port\":1.5}", "{\"node_id\":\"ghost\",\"host\":\"h\",\"port\":1,\"instance\":5}",
        "{\"node_id\":\"ghost\",\"host\":\"h\",\"port\":1,\"view\":5}"))
      cases.add(new Case("POST", "/register", body, 400, true));

    // POST /heartbeat: missing or bad fields, unknown node
    for (String body : List.of("{}", "{\"node_id\":5}", "{\"node_id\":null}", "{\"node_id\":\"worker1\",\"epoch\":\"x\"}",
        "{\"node_id\":\"worker1\",\"instance\":5}"))
      cases.add(new Case("POST", "/heartbeat", body, 400, true));
    cases.add(new Case("POST", "/heartbeat", "{\"node_id\":\"ghost\"}", 404, true));

    // unknown paths and wrong methods, both roles
    for (String p : List.of("/nope", "/", "/kv/extra", "/register", "/mapping?key=a", "/admin", "/admin/nope"))
      cases.add(new Case("GET", p, null, 404, false));
    for (String p : List.of("/nope", "/kv?key=a", "/status", "/replicate?key=a", "/nodes/extra"))
      cases.add(new Case("GET", p, null, 404, true));
    cases.add(new Case("POST", "/nope", "{}", 404, false));
    cases.add(new Case("POST", "/nope", "{}", 404, true));
    for (String[] mp : List.of(new String[] {"PATCH", "/kv?key=a"}, new String[] {"PATCH", "/kv"}, new String[] {"PUT", "/replicate"},
        new String[] {"DELETE", "/replicate?key=a"}, new String[] {"GET", "/node_down"}, new String[] {"DELETE", "/status"},
        new String[] {"POST", "/health"}, new String[] {"GET", "/admin/stop"}, new String[] {"OPTIONS", "/kv"}))
      cases.add(new Case(mp[0], mp[1], null, 405, false));
    for (String[] mp : List.of(new String[] {"DELETE", "/nodes"}, new String[] {"GET", "/register"}, new String[] {"GET", "/heartbeat"},
        new String[] {"POST", "/mapping?key=a"}, new String[] {"PUT", "/ring"}, new String[] {"PATCH", "/nodes"},
        new String[] {"DELETE", "/health"}))
      cases.add(new Case(mp[0], mp[1], null, 405, true));

    // requests the HTTP parser refuses before any route runs: still JSON, still 4xx
    for (boolean ctl : List.of(false, true)) {
      cases.add(new Case("GET", (ctl ? "/mapping" : "/kv") + "?key=" + "u".repeat(20_000), null, 414, ctl));
      cases.add(new Case(RAW, "", "GET " + (ctl ? "/mapping" : "/kv") + "?key=%zz HTTP/1.1", 400, ctl));
      cases.add(new Case(RAW, "", "GET /kv?key=a b HTTP/1.1", 400, ctl));
      cases.add(new Case(RAW, "", "FOO /health HTTP/1.1", 405, ctl));
      cases.add(new Case(RAW, "", "GET /health HTTP/1.1\r\nX-Big: " + "h".repeat(20_000), 0, ctl));
      cases.add(new Case(RAW, "", "PUT /kv HTTP/1.1\r\nContent-Length: abc", 400, ctl));
      cases.add(new Case(RAW, "", "garbage", 0, ctl));
    }
    // a body over every limit
    cases.add(new Case("PUT", "/kv", TestCluster.kvBody(unused, "z".repeat(15 * 1024 * 1024)), 413, false));
    cases.add(new Case("POST", "/register", "{\"node_id\":\"" + "z".repeat(5 * 1024 * 1024) + "\"}", 413, true));
    return cases;
  }

  /**
   * The same limits on the node-to-node link, which reaches the same checks: forwarded writes with
   * an empty or oversized key or an empty or oversized value, replicas over the limits and reads of
   * oversized keys each get BAD_INPUT, store nothing, and leave the link serving.
   */
  @Test
  void badCallsOnTheLinkAreRefusedAndStoreNothing() throws Exception {
    String unused = "link-unused-" + UUID.randomUUID();
    String longKey = "k".repeat(MAX_KEY + 1);
    String bigValue = "z".repeat(MAX_VALUE + 1);
    Reply where = cluster.get(cluster.url("worker1") + "/peer/link");
    assertEquals(200, where.status(), where.toString());
    Version v = new Version(1, "worker9");
    try (LinkSocket link = new LinkSocket(where.json().path("port").asInt(), "", "")) {
      List<Frames.Answer> bad = new ArrayList<>();
      long deadline = System.currentTimeMillis() + 60_000;
      for (Entry e : List.of(new Entry("", new Versioned("v", v)), new Entry(longKey, new Versioned("v", v)),
          new Entry(unused, new Versioned("", v)), new Entry(unused, new Versioned(bigValue, v))))
        bad.add(link.call(Frames.Kind.FORWARD, Frames.forwards(List.of(new Forwarded(e, deadline)))));
      bad.add(link.call(Frames.Kind.FORWARD, Frames.forwards(List.of(new Forwarded(new Entry(unused, new Versioned("v", v)), deadline),
          new Forwarded(new Entry(longKey, Versioned.tombstone(v)), deadline)))));
      for (Entry e : List.of(new Entry("", new Versioned("v", v)), new Entry(longKey, new Versioned("v", v)),
          new Entry(unused, new Versioned(bigValue, v))))
        bad.add(link.call(Frames.Kind.REPLICATE, Frames.entries(List.of(new Entry(unused, new Versioned("v", v)), e))));
      bad.add(link.call(Frames.Kind.READ, Frames.keys(List.of(unused, longKey))));
      for (Frames.Answer a : bad) assertEquals(Frames.Result.BAD_INPUT, a.result(), a.detail());
      Frames.Answer read = link.call(Frames.Kind.READ, Frames.keys(List.of(unused)));
      assertEquals(Frames.Result.OK, read.result(), "the link stopped serving: " + read.detail());
      assertEquals(List.of(Optional.empty()), Frames.readCopies(read.body()), "a refused call stored " + unused);
    }
    for (String w : cluster.workers()) assertEquals(404, cluster.getKv(w, unused).status(), w + " serves " + unused);
  }

  /** Why the reply is not the JSON 4xx the case expects, or null when it is. */
  private static String problem(Case c, Reply r) {
    if (r.status() < 400 || r.status() > 499) return "status is not 4xx";
    if (c.expected() != 0 && r.status() != c.expected()) return "expected " + c.expected();
    if (r.contentType() == null || !r.contentType().startsWith("application/json")) return "Content-Type is not application/json";
    if (r.json() == null || !r.json().path("detail").isTextual() || r.json().path("detail").asText().isBlank())
      return "no string \"detail\"";
    return null;
  }

  private static void assertDetail(Reply r, int status) {
    String problem = problem(new Case("?", "?", null, status, false), r);
    if (problem != null) fail(r + ": " + problem);
  }

  // ---- observations

  private static long controllerEpoch() {
    Reply r = cluster.get(cluster.controllerUrl() + "/nodes");
    assertEquals(200, r.status(), r.toString());
    return r.json().path("epoch").asLong();
  }

  private static Map<String, Integer> keyCounts() {
    Map<String, Integer> counts = new LinkedHashMap<>();
    for (String w : cluster.workers()) counts.put(w, cluster.status(w).path("keys").asInt());
    return counts;
  }

  /** Key counts once replication has settled: every worker (all are replicas of every key) agrees. */
  private static Map<String, Integer> settledKeyCounts() {
    AtomicReference<Map<String, Integer>> last = new AtomicReference<>();
    TestCluster.awaitAssert(SETTLE, () -> {
      last.set(keyCounts());
      assertEquals(1, last.get().values().stream().distinct().count(), "workers disagree on the key count: " + last.get());
      assertTrue(cluster.workers().stream().noneMatch(w -> cluster.status(w).path("rebalancing").asBoolean()), "a rebalance is running");
    });
    return last.get();
  }
}
