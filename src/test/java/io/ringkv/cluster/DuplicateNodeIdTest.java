package io.ringkv.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigValueFactory;
import io.ringkv.Main;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Two processes must never share a node id silently: the second one is refused and says so. */
class DuplicateNodeIdTest {
  private static final Duration HEARTBEAT_TIMEOUT =
      com.typesafe.config.ConfigFactory.load().getDuration("ringkv.membership.heartbeat-timeout");

  private TestCluster cluster;
  private ActorSystem<Void> stray;

  @BeforeEach
  void startCluster() {
    cluster = TestCluster.start(3);
  }

  @AfterEach
  void stopCluster() throws Exception {
    if (stray != null) {
      stray.terminate();
      stray.getWhenTerminated().toCompletableFuture().get(15, java.util.concurrent.TimeUnit.SECONDS);
    }
    if (cluster != null) cluster.close();
  }

  @Test
  void aSecondProcessWithAnIdAlreadyUpIsRefusedAndTheOriginalKeepsServing() {
    String id = "worker1";
    int originalPort = cluster.port(id);
    int strayPort = TestCluster.freePort();
    String strayUrl = "http://127.0.0.1:" + strayPort;
    stray = cluster.startStrayWorker(id, strayPort);

    // the stray serves HTTP and reports that it was refused; meanwhile /nodes never shows its port
    TestCluster.awaitAssert(Duration.ofSeconds(10), () -> {
      assertOriginalOwnsTheId(id, originalPort);
      TestCluster.Reply s = cluster.get(strayUrl + "/status");
      assertEquals(200, s.status(), s.toString());
      String membership = s.json().path("membership").asText();
      assertTrue(membership.startsWith("refused"), "stray membership: " + membership);
      assertTrue(membership.contains(String.valueOf(originalPort)), "the refusal names the owner's address: " + membership);
    });

    // while it keeps retrying for longer than a heartbeat timeout, the original stays UP at its port
    TestCluster.assertDuring(HEARTBEAT_TIMEOUT.plusMillis(300), () -> {
      assertOriginalOwnsTheId(id, originalPort);
      TestCluster.Reply s = cluster.get(strayUrl + "/status");
      assertTrue(s.json().path("membership").asText().startsWith("refused"), s.toString());
      assertEquals(0, s.json().path("epoch").asLong(), "the refused stray must not adopt a view: " + s);
    });

    // the original keeps serving reads and writes, coordinated and as a replica
    String key = "dup-" + UUID.randomUUID();
    TestCluster.Reply put = cluster.putKv(id, key, "v1");
    assertEquals(200, put.status(), put.toString());
    for (String w : cluster.workers()) {
      TestCluster.Reply r = cluster.getKv(w, key);
      assertEquals(200, r.status(), r.toString());
      assertEquals("v1", r.json().path("value").asText());
    }
    cluster.awaitLocal(Duration.ofSeconds(5), id, key, "v1");
    assertEquals(200, cluster.get(cluster.url(id) + "/health").status());
    // the stray was never given data or traffic
    assertEquals(0, cluster.get(strayUrl + "/status").json().path("keys").asInt());
  }

  @Test
  void theRefusedProcessIsAcceptedOnceTheOriginalIsDown() {
    String id = "worker2";
    int strayPort = TestCluster.freePort();
    String strayUrl = "http://127.0.0.1:" + strayPort;
    stray = cluster.startStrayWorker(id, strayPort);
    TestCluster.await(Duration.ofSeconds(10), "stray refused",
        () -> cluster.get(strayUrl + "/status").json().path("membership").asText().startsWith("refused"));

    cluster.stop(id);
    // DOWN after the heartbeat timeout, then the stray's next registration (back-off at most 2 s) wins
    TestCluster.awaitAssert(Duration.ofSeconds(8), () -> {
      JsonNode n = cluster.nodes().get(id);
      assertEquals("UP", n.path("status").asText(), String.valueOf(n));
      assertEquals(strayPort, n.path("port").asInt(), String.valueOf(n));
      TestCluster.Reply s = cluster.get(strayUrl + "/status");
      assertEquals("registered", s.json().path("membership").asText(), s.toString());
    });
    String key = "dup2-" + UUID.randomUUID();
    assertEquals(200, cluster.put(strayUrl + "/kv", TestCluster.kvBody(key, "v")).status());
    for (String w : List.of("worker1", "worker3")) assertEquals(200, cluster.getKv(w, key).status());
  }

  private void assertOriginalOwnsTheId(String id, int originalPort) {
    Map<String, JsonNode> nodes = cluster.nodes();
    JsonNode n = nodes.get(id);
    assertEquals("UP", n.path("status").asText(), "original " + id + ": " + n);
    assertEquals(originalPort, n.path("port").asInt(), "/nodes shows " + id + " at another port: " + n);
  }

  /** A Deployment scaled to 2 replicas: the second pod has the same NODE_ID and a NODE_ID_FALLBACK (its pod name). */
  @Test
  void aSecondReplicaWithAFallbackIdJoinsAsANewNode() {
    int port = TestCluster.freePort();
    String fallback = "worker2-5d9c7b8f4-x2x7q";
    stray = Main.startWorker(cluster.config("worker2", port)
        .withValue("ringkv.node-id-fallback", ConfigValueFactory.fromAnyRef(fallback)), true);
    TestCluster.awaitAssert(Duration.ofSeconds(15), () -> {
      JsonNode n = cluster.nodes().get(fallback);
      assertEquals("UP", n == null ? null : n.path("status").asText(), "the second replica joins as " + fallback);
      assertEquals(port, n.path("port").asInt());
    });
    // the original worker2 is untouched, and the new node takes writes and owns a share of the ring
    JsonNode original = cluster.nodes().get("worker2");
    assertEquals("UP", original.path("status").asText());
    assertEquals(cluster.port("worker2"), original.path("port").asInt());
    String key = "scaled-" + UUID.randomUUID();
    assertEquals(200, cluster.put("http://127.0.0.1:" + port + "/kv", TestCluster.kvBody(key, "v")).status());
    assertEquals(cluster.workers().size() + 1, cluster.nodes().values().stream().filter(n -> "UP".equals(n.path("status").asText())).count());
  }
}
