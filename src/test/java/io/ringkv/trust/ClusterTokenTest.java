package io.ringkv.trust;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.ringkv.cluster.TestCluster;
import io.ringkv.cluster.TestCluster.Reply;
import io.ringkv.config.NodeSettings;
import io.ringkv.net.Frames;
import io.ringkv.net.Wire;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * With {@code CLUSTER_TOKEN} set, the node-to-node endpoints ({@code /register}, {@code /heartbeat},
 * {@code /leave} on the controller; {@code /replicate} POST and GET, {@code /node_down},
 * and the node-to-node link on a worker: {@code /peer/link} and the hello on its port)
 * answer a call without the token, or with a wrong one, with a JSON 401, and the forged call changes
 * nothing; the workers themselves pass the token, so the cluster forms and serves as usual. Over real
 * HTTP, one cluster of three workers for the class.
 */
class ClusterTokenTest {
  private static final String TOKEN = "s3cret-" + UUID.randomUUID();
  private static final Duration SETTLE = Duration.ofSeconds(5);

  private static LogCapture logs;
  private static TestCluster cluster;

  @BeforeAll
  static void startCluster() {
    logs = LogCapture.start();
    cluster = TestCluster.start(3, Map.of(TestCluster.STEADY_MEMBERSHIP, "10s", "ringkv.cluster-token", TOKEN, "pekko.loglevel", "DEBUG"));
  }

  @AfterAll
  static void stopCluster() {
    try {
      if (cluster != null) cluster.close();
    } finally {
      if (logs != null) logs.close();
    }
  }

  /** Every header set a caller outside the cluster might try: none, wrong tokens, near misses of the right one. */
  private static List<Map<String, String>> forgedHeaders() {
    List<Map<String, String>> out = new ArrayList<>();
    out.add(Map.of());
    for (String wrong : List.of("", "wrong", "s3cret", TOKEN.substring(0, TOKEN.length() - 1), TOKEN + "x",
        TOKEN.toUpperCase(Locale.ROOT), " " + TOKEN + "x", "x".repeat(4096)))
      out.add(Map.of(Wire.TOKEN_HEADER, wrong));
    out.add(Map.of("Authorization", "Bearer " + TOKEN));   // the right secret in the wrong header
    return out;
  }

  private static Map<String, String> withToken() {
    return Map.of(Wire.TOKEN_HEADER, TOKEN);
  }

  /** Sends the call with each forged header set and asserts a JSON 401 every time. */
  private static void assertRefused(String method, String url, String body) {
    List<String> failures = new ArrayList<>();
    for (Map<String, String> headers : forgedHeaders()) {
      Reply r = cluster.send(method, url, body, headers);
      if (r.status() != 401 || !r.isJson() || r.json().path("detail").asText().isBlank())
        failures.add(headers.keySet() + " " + abbreviate(headers.values().toString()) + " -> " + r);
    }
    if (!failures.isEmpty()) fail(method + " " + url + " was not refused with a JSON 401:\n  " + String.join("\n  ", failures));
  }

  private static String abbreviate(String s) {
    return s.length() > 60 ? s.substring(0, 60) + "..." : s;
  }

  private static long controllerEpoch() {
    Reply r = cluster.get(cluster.controllerUrl() + "/nodes");
    assertEquals(200, r.status(), r.toString());
    return r.json().path("epoch").asLong();
  }

  private static String unique(String prefix) {
    return prefix + "-" + UUID.randomUUID();
  }

  // ---- the cluster works with the token

  @Test
  void aClusterWithATokenFormsAndServes() {
    Map<String, JsonNode> nodes = cluster.nodes();
    for (String w : cluster.workers()) assertEquals("UP", nodes.get(w).path("status").asText(), w + ": " + nodes);
    String key = unique("token-demo");
    Reply put = cluster.putKv("worker1", key, "v1");
    assertEquals(200, put.status(), put.toString());
    assertTrue(put.json().path("replicas_acked").asInt() >= 2, put.toString());
    for (String w : cluster.workers()) {
      Reply get = cluster.getKv(w, key);
      assertEquals(200, get.status(), w + ": " + get);
      assertEquals("v1", get.json().path("value").asText());
      cluster.awaitLocal(SETTLE, w, key, "v1");   // replication, worker to worker, carried the token
    }
    // the seed demo's controller reads stay open
    assertEquals(3, cluster.mapping(key).size());
    assertEquals(200, cluster.get(cluster.controllerUrl() + "/ring").status());
  }

  // ---- each node-to-node endpoint refuses a forged call, and the call changes nothing

  @Test
  void aForgedRegisterIsRefusedAndNoNodeAppears() {
    long epoch = controllerEpoch();
    String id = unique("forged");
    String body = "{\"node_id\":\"" + id + "\",\"host\":\"127.0.0.1\",\"port\":" + TestCluster.freePort() + "}";
    assertRefused("POST", cluster.controllerUrl() + "/register", body);
    assertFalse(cluster.nodes().containsKey(id), "a forged /register added a node: " + cluster.nodes().keySet());
    assertEquals(epoch, controllerEpoch(), "a forged /register moved the epoch");
  }

  @Test
  void aForgedHeartbeatIsRefusedAndTheEpochStays() {
    long epoch = controllerEpoch();
    // a real heartbeat reporting a newer epoch makes the controller jump past it: this one must not
    assertRefused("POST", cluster.controllerUrl() + "/heartbeat", "{\"node_id\":\"worker1\",\"epoch\":" + (epoch + 1000) + "}");
    assertEquals(epoch, controllerEpoch(), "a forged /heartbeat moved the epoch");
  }

  @Test
  void aForgedLeaveIsRefusedAndTheNodeStaysUp() {
    long epoch = controllerEpoch();
    assertRefused("POST", cluster.controllerUrl() + "/leave", "{\"node_id\":\"worker2\"}");
    TestCluster.assertDuring(Duration.ofMillis(300), () -> assertEquals("UP", cluster.statusOf("worker2"), "a forged /leave took worker2 DOWN"));
    assertEquals(epoch, controllerEpoch(), "a forged /leave moved the epoch");
  }

  @Test
  void aForgedReplicateIsRefusedAndStoresNothing() {
    String fresh = unique("forged-new");
    String existing = unique("forged-existing");
    assertEquals(200, cluster.putKv("worker1", existing, "genuine").status());
    for (String w : cluster.workers()) cluster.awaitLocal(SETTLE, w, existing, "genuine");
    String huge = "9223372036854775000@evil";   // would win over every real version
    for (String w : cluster.workers()) {
      assertRefused("POST", cluster.url(w) + "/replicate", "{\"key\":\"" + fresh + "\",\"value\":\"forged\",\"version\":\"" + huge + "\"}");
      assertRefused("POST", cluster.url(w) + "/replicate", "{\"key\":\"" + fresh + "\",\"value\":\"forged\"}");   // the seed's form
      assertRefused("POST", cluster.url(w) + "/replicate",
          "{\"entries\":[{\"key\":\"" + existing + "\",\"value\":\"forged\",\"version\":\"" + huge + "\"},"
              + "{\"key\":\"" + existing + "\",\"tombstone\":true,\"version\":\"" + huge + "\"}]}");
      assertRefused("GET", cluster.url(w) + "/replicate?key=" + TestCluster.enc(existing), null);   // raw copies are not for clients
      assertRefused("GET", cluster.url(w) + "/peer/link", null);   // where the node-to-node link listens
    }
    for (String w : cluster.workers()) {
      Reply raw = cluster.send("GET", cluster.url(w) + "/replicate?key=" + TestCluster.enc(fresh), null, withToken());
      assertEquals(200, raw.status(), raw.toString());
      assertFalse(raw.json().has("version"), w + " stored the forged replica: " + raw);
      assertEquals(404, cluster.getKv(w, fresh).status(), w + " serves the forged key");
      assertEquals("genuine", cluster.localValue(w, existing), w + " took the forged overwrite");
      Reply read = cluster.getKv(w, existing);
      assertEquals(200, read.status(), read.toString());
      assertEquals("genuine", read.json().path("value").asText());
    }
    // the same endpoint with the token works: the refusals above are the token's doing
    String allowed = unique("replicated-with-token");
    Reply ok = cluster.send("POST", cluster.url("worker3") + "/replicate",
        "{\"key\":\"" + allowed + "\",\"value\":\"v\",\"version\":\"1@worker1\"}", withToken());
    assertEquals(200, ok.status(), ok.toString());
    assertEquals(1, ok.json().path("applied").asInt(), ok.toString());
    Reply raw = cluster.send("GET", cluster.url("worker3") + "/replicate?key=" + TestCluster.enc(allowed), null, withToken());
    assertEquals("1@worker1", raw.json().path("version").asText(), raw.toString());
  }

  /** One node-to-node transport: the WebSocket link and the HTTP forms of the link's calls are gone, token or not. */
  @Test
  void theRetiredTransportsAreGone() {
    for (Map<String, String> headers : List.of(Map.<String, String>of(), withToken())) {
      for (String[] call : List.of(new String[] {"GET", "/peer"}, new String[] {"POST", "/forward"},
          new String[] {"POST", "/replicate/read"})) {
        Reply r = cluster.send(call[0], cluster.url("worker1") + call[1], call[0].equals("GET") ? null : "{}", headers);
        assertEquals(404, r.status(), call[0] + " " + call[1] + ": " + r);
      }
    }
  }

  /**
   * The node-to-node link on its TCP port: a hello with a wrong token is answered REFUSED and the
   * connection closed, before any call is served; something that is not the link (an HTTP request)
   * is closed; with the token, calls are served and bad ones answered BAD_INPUT, the link staying up.
   */
  @Test
  void theTcpLinkNeedsTheTokenAndServesCallsWithIt() throws Exception {
    String key = unique("over-the-tcp-link");
    assertEquals(200, cluster.putKv("worker1", key, "v1").status());
    for (String w : cluster.workers()) cluster.awaitLocal(SETTLE, w, key, "v1");
    Reply where = cluster.send("GET", cluster.url("worker2") + "/peer/link", null, withToken());
    assertEquals(200, where.status(), where.toString());
    int port = where.json().path("port").asInt();
    ByteString read = Frames.keys(List.of(key));
    List<String> wrong = new ArrayList<>();
    for (Map<String, String> headers : forgedHeaders()) wrong.add(headers.getOrDefault(Wire.TOKEN_HEADER, ""));
    for (String token : wrong) {
      try (Socket s = linkSocket(port)) {
        // the hello and a call in one write: the server may close as soon as it has read the hello
        var both = new java.io.ByteArrayOutputStream();
        var out = new DataOutputStream(both);
        frame(out, Frames.hello(new Frames.Hello(token, token)));
        frame(out, Frames.call(41, Frames.Kind.READ, read));
        s.getOutputStream().write(both.toByteArray());
        var in = new DataInputStream(s.getInputStream());
        try {
          Frames.Answer a = Frames.readAnswer(readFrame(in));
          assertEquals(0, a.id(), "answered a call on a link opened with " + abbreviate(token));
          assertEquals(Frames.Result.REFUSED, a.result());
          assertClosed(s);
        } catch (java.net.SocketException reset) {
          // closed with the call unread: a reset may come before the refusal is read; either way no answer
          assertTrue(String.valueOf(reset.getMessage()).contains("reset"), reset.toString());
        }
      }
    }
    try (Socket s = linkSocket(port)) {   // a first frame announced at 64 MiB: closed before anything is buffered
      new DataOutputStream(s.getOutputStream()).writeInt(64 * 1024 * 1024);
      assertClosed(s);
    }
    try (Socket s = linkSocket(port)) {   // not the link at all: its first 4 bytes read as a length far over the limit
      s.getOutputStream().write("GET /peer HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      assertClosed(s);
    }
    try (Socket s = linkSocket(port)) {
      var out = new DataOutputStream(s.getOutputStream());
      var in = new DataInputStream(s.getInputStream());
      frame(out, Frames.hello(new Frames.Hello(TOKEN, "")));
      frame(out, Frames.call(42, Frames.Kind.READ, read));
      Frames.Answer a = Frames.readAnswer(readFrame(in));
      assertEquals(42, a.id());
      assertEquals(Frames.Result.OK, a.result(), a.detail());
      assertEquals("v1", Frames.readCopies(a.body()).get(0).orElseThrow().value());
      frame(out, ByteString.emptyByteString());   // a keep-alive: no answer
      frame(out, Frames.call(43, Frames.Kind.REPLICATE, ByteString.fromArray(new byte[] {0, 0, 0, 9})));   // a count the body cannot hold
      Frames.Answer bad = Frames.readAnswer(readFrame(in));
      assertEquals(43, bad.id());
      assertEquals(Frames.Result.BAD_INPUT, bad.result(), bad.detail());
      frame(out, Frames.call(44, Frames.Kind.READ, read));
      assertEquals(Frames.Result.OK, Frames.readAnswer(readFrame(in)).result());
    }
  }

  private static Socket linkSocket(int port) throws Exception {
    Socket s = new Socket("127.0.0.1", port);
    s.setSoTimeout(10_000);   // a read that waits longer fails the test
    return s;
  }

  /** The server closed the connection (an orderly close, or a reset after a failed stream); nothing more came. */
  private static void assertClosed(Socket s) throws Exception {
    try {
      assertEquals(-1, s.getInputStream().read(), "the connection is still open and sent more");
    } catch (java.net.SocketException reset) {
      assertTrue(String.valueOf(reset.getMessage()).contains("reset"), reset.toString());
    }
  }

  private static void frame(DataOutputStream out, ByteString msg) throws Exception {
    out.writeInt(msg.size());
    out.write(msg.toArray());
    out.flush();
  }

  private static ByteString readFrame(DataInputStream in) throws Exception {
    byte[] b = new byte[in.readInt()];
    in.readFully(b);
    return ByteString.fromArray(b);
  }

  @Test
  void aForgedNodeDownIsRefusedAndNoViewChanges() {
    // a settled baseline: every worker has caught up with the controller's epoch
    TestCluster.awaitAssert(Duration.ofSeconds(10), () -> {
      for (String w : cluster.workers()) assertEquals(controllerEpoch(), cluster.status(w).path("epoch").asLong(), w);
    });
    long epoch = controllerEpoch();
    Map<String, Long> workerEpochs = new LinkedHashMap<>();
    for (String w : cluster.workers()) workerEpochs.put(w, cluster.status(w).path("epoch").asLong());
    // a view far ahead that keeps worker1 only: adopted, it would move every key
    String view = "{\"epoch\":" + (epoch + 100) + ",\"nodes\":{\"worker1\":{\"host\":\"127.0.0.1\",\"port\":"
        + cluster.port("worker1") + ",\"status\":\"UP\"}}}";
    for (String w : cluster.workers()) {
      assertRefused("POST", cluster.url(w) + "/node_down", view);
      assertRefused("POST", cluster.url(w) + "/node_down", "{\"node_id\":\"worker2\"}");   // the seed's notice
    }
    for (String w : cluster.workers()) {
      JsonNode s = cluster.status(w);
      assertEquals(workerEpochs.get(w), s.path("epoch").asLong(), w + " adopted the forged view: " + s);
      assertEquals(3, s.path("up_nodes").size(), w + ": " + s);
    }
    assertEquals(epoch, controllerEpoch());
  }

  /**
   * Even with the token, a {@code /node_down} body is only a hint: the worker fetches the view from its
   * controller. A forged view that names a stranger was adopted before, and the worker pushed its
   * keys to the stranger and dropped them.
   */
  @Test
  void aNodeDownIsOnlyAHintEvenWithTheToken() throws Exception {
    String key = unique("hinted");
    assertEquals(200, cluster.putKv("worker1", key, "v").status());
    for (String w : cluster.workers()) cluster.awaitLocal(SETTLE, w, key, "v");
    long epoch = controllerEpoch();
    try (java.net.ServerSocket stranger = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      stranger.setSoTimeout(1);
      String view = "{\"epoch\":" + (epoch + 5000) + ",\"nodes\":{\"evil\":{\"host\":\"127.0.0.1\",\"port\":"
          + stranger.getLocalPort() + ",\"status\":\"UP\"}}}";
      for (String w : cluster.workers()) {
        Reply r = cluster.send("POST", cluster.url(w) + "/node_down", view, withToken());
        assertEquals(200, r.status(), r.toString());
      }
      TestCluster.assertDuring(Duration.ofSeconds(1), () -> {
        for (String w : cluster.workers()) {
          JsonNode s = cluster.status(w);
          assertEquals(epoch, s.path("epoch").asLong(), w + " adopted the body's view: " + s);
          assertEquals("v", cluster.localValue(w, key), w + " dropped its copy");
        }
        try {
          stranger.accept().close();
          throw new AssertionError("a worker called the address the body named");
        } catch (java.net.SocketTimeoutException none) {
          // nobody called
        } catch (java.io.IOException e) {
          throw new AssertionError(e);
        }
      });
    }
    assertEquals(epoch, controllerEpoch());
  }

  /**
   * A replica far in the future (with the token, so as a confused or compromised peer would send it)
   * is refused, and a later client write is the one every read returns. Before, the forged version
   * won: the PUT was acknowledged and never read back.
   */
  @Test
  void aFarFutureVersionIsRefusedAndTheNextWriteIsRead() {
    String key = unique("future");
    Reply forged = cluster.send("POST", cluster.url("worker2") + "/replicate",
        "{\"key\":\"" + key + "\",\"value\":\"from-the-future\",\"version\":\"9223372036854000000@evil\"}", withToken());
    assertEquals(200, forged.status(), forged.toString());
    assertEquals(0, forged.json().path("applied").asInt(), forged.toString());
    assertTrue(cluster.status("worker2").path("clock").path("refused_ahead").asLong() >= 1, "the refusal is not in /status");
    Reply put = cluster.putKv("worker1", key, "real");
    assertEquals(200, put.status(), put.toString());
    for (String w : cluster.workers()) {
      Reply read = cluster.getKv(w, key);
      assertEquals("real", read.json().path("value").asText(), w + ": " + read);
    }
  }

  @Test
  void noHeaderChangesWhereAWriteIsCoordinated() {
    String key = unique("forwarded");
    List<String> owners = cluster.mapping(key);
    String primary = owners.get(0);
    String other = owners.get(1);
    String body = TestCluster.kvBody(key, "v");
    // writes reach their primary over the link only: the old forwarded header means nothing, with or
    // without the cluster token; the version is stamped where the write entered, the primary's copy
    // carries it
    for (Map<String, String> headers : List.of(Map.<String, String>of(), Map.of("X-Ringkv-Forwarded", "evil"),
        Map.of("X-Ringkv-Forwarded", primary, Wire.TOKEN_HEADER, TOKEN))) {
      Reply r = cluster.send("PUT", cluster.url(other) + "/kv", body, headers);
      assertEquals(200, r.status(), r.toString());
      String version = r.json().path("version").asText();
      assertTrue(version.endsWith("@" + other), "not stamped where it entered: " + r);
      TestCluster.awaitAssert(SETTLE, () -> {
        Reply raw = cluster.send("GET", cluster.url(primary) + "/replicate?key=" + TestCluster.enc(key), null, withToken());
        assertEquals(version, raw.json().path("version").asText(), "the primary holds another version: " + raw);
      });
    }
  }

  // ---- no secret in logs

  @Test
  void noLogLineCarriesTheToken() {
    // traffic that could leak it: refused calls offering near misses, a write (replication and
    // forwarding carry the token), and the heartbeats every 100 ms since the cluster started
    assertRefused("POST", cluster.controllerUrl() + "/heartbeat", "{\"node_id\":\"worker1\"}");
    String key = unique("logs");
    String nonPrimary = cluster.mapping(key).get(1);
    assertEquals(200, cluster.putKv(nonPrimary, key, "v").status());
    for (String w : cluster.workers()) cluster.awaitLocal(SETTLE, w, key, "v");
    String marker = unique("capture-works");
    LoggerFactory.getLogger(ClusterTokenTest.class).debug("log capture check {}", marker);
    TestCluster.await(SETTLE, "the capture records DEBUG lines", () -> !logs.containing(marker).isEmpty());
    assertFalse(logs.containing("registered with the controller").isEmpty(), "the capture missed the workers' INFO lines");
    List<String> leaks = logs.containing(TOKEN.substring("s3cret-".length()));
    assertTrue(leaks.isEmpty(), leaks.size() + " of " + logs.size() + " log lines carry the cluster token:\n  "
        + String.join("\n  ", leaks.subList(0, Math.min(10, leaks.size()))));

    NodeSettings settings = NodeSettings.from(cluster.config("worker1", 1));
    assertEquals(TOKEN, settings.clusterToken());
    String printed = settings.toString();
    assertFalse(printed.contains(TOKEN), printed);
    assertTrue(printed.contains("clusterToken=***") && printed.contains("nodeId=worker1"), printed);
    assertNotNull(settings.apiToken());
  }
}
