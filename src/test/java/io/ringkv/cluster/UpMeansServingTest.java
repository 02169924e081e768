package io.ringkv.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * UP means serving: a worker registers only once its HTTP server and its node-to-node link listen.
 * Before, a worker registered first and bound after: at the moment {@code /nodes} first showed it UP,
 * most workers still refused connections, and clients that followed {@code /mapping} got "connection
 * refused"; a worker that could not bind at all showed UP until its heartbeats stopped.
 */
class UpMeansServingTest {
  private static final Duration DEADLINE = Duration.ofSeconds(20);
  private static TestCluster cluster;

  @BeforeAll
  static void start() {
    cluster = TestCluster.start(0);
  }

  @AfterAll
  static void stop() {
    if (cluster != null) cluster.close();
  }

  @Test
  void theFirstMomentAWorkerShowsUpItAnswersHttp() throws Exception {
    for (int i = 1; i <= 3; i++) {
      String id = "serving" + i;
      int port = TestCluster.freePort();
      ActorSystem<Void> worker = cluster.startStrayWorker(id, port);
      try {
        long end = System.nanoTime() + DEADLINE.toNanos();
        JsonNode seen = null;
        while (seen == null && System.nanoTime() < end) {   // poll as fast as the controller answers
          JsonNode n = cluster.nodes().get(id);
          if (n != null && "UP".equals(n.path("status").asText())) seen = n;
        }
        assertEquals(port, seen == null ? -1 : seen.path("port").asInt(), id + " never showed UP at its port");
        TestCluster.Reply health = cluster.get("http://127.0.0.1:" + port + "/health");
        assertEquals(200, health.status(), id + " was UP in /nodes but did not answer: " + health);
      } finally {
        worker.terminate();
        worker.getWhenTerminated().toCompletableFuture().get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void aWorkerThatCannotBindItsPortNeverRegisters() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      ActorSystem<Void> worker = cluster.startStrayWorker("unbound", taken.getLocalPort());
      // it stops itself when the bind fails
      worker.getWhenTerminated().toCompletableFuture().get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
    }
    assertFalse(cluster.nodes().containsKey("unbound"), "a worker that never served registered: " + cluster.nodes());
  }
}
