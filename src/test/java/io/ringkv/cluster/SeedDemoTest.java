package io.ringkv.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The seed's DEMO.md end to end over real sockets: a controller and four workers in this JVM, the
 * key's mapping, a write to the primary and its copies, the primary stopped, DOWN within the
 * heartbeat timeout, the new mapping without it, and the key on every node of the new mapping.
 */
class SeedDemoTest {
  private static final Duration HEARTBEAT_TIMEOUT =
      com.typesafe.config.ConfigFactory.load().getDuration("ringkv.membership.heartbeat-timeout");
  private static final Duration DOWN_DEADLINE = HEARTBEAT_TIMEOUT.plusMillis(1500);
  private static final Duration COPY_DEADLINE = Duration.ofSeconds(5);

  private TestCluster cluster;

  @BeforeEach
  void startCluster() {
    cluster = TestCluster.start(4);
  }

  @AfterEach
  void stopCluster() {
    if (cluster != null) cluster.close();
  }

  @Test
  void demoFlowSurvivesThePrimaryStopping() {
    List<String> workers = cluster.workers();
    assertEquals(4, workers.size());
    for (String w : workers) assertEquals("UP", cluster.statusOf(w));

    // mapping: three distinct workers, primary first
    String key = "user123";
    String value = "demo-" + UUID.randomUUID();
    List<String> mapping = cluster.mapping(key);
    assertEquals(3, mapping.size(), "mapping " + mapping);
    assertEquals(3, new HashSet<>(mapping).size(), "mapping has duplicates: " + mapping);
    String primary = mapping.get(0);
    String unmapped = workers.stream().filter(w -> !mapping.contains(w)).findFirst().orElseThrow();

    // PUT to the primary
    TestCluster.Reply put = cluster.putKv(primary, key, value);
    assertEquals(200, put.status(), put.toString());
    assertEquals("ok", put.json().path("status").asText(), put.toString());
    assertTrue(put.json().path("replicas_acked").asInt() >= 2, put.toString());
    for (JsonNode by : put.json().path("acked_by")) assertTrue(mapping.contains(by.asText()), "acked by " + by + ", not in " + mapping);

    // copies on every mapped worker, none on the unmapped one
    for (String w : mapping) cluster.awaitLocal(COPY_DEADLINE, w, key, value);
    assertNull(cluster.localValue(unmapped, key), unmapped + " is not in the mapping but holds the key");
    TestCluster.Reply localMiss = cluster.getLocal(unmapped, key);
    assertEquals(404, localMiss.status(), localMiss.toString());
    assertFalse(localMiss.json().path("found").asBoolean(true), localMiss.toString());

    // a quorum read from every worker, the unmapped one included
    for (String w : workers) assertValue(cluster.getKv(w, key), value, "GET from " + w);

    // crash the primary (no leave, as kill -9 or a lost pod): DOWN within the heartbeat timeout (+ margin)
    long stopAt = System.nanoTime();
    cluster.crash(primary);
    TestCluster.await(DOWN_DEADLINE, primary + " DOWN in /nodes", () -> "DOWN".equals(cluster.statusOf(primary)));
    long downMillis = Duration.ofNanos(System.nanoTime() - stopAt).toMillis();
    System.out.println("[SeedDemoTest] " + primary + " stopped -> DOWN in /nodes after " + downMillis
        + " ms (heartbeat-timeout " + HEARTBEAT_TIMEOUT.toMillis() + " ms)");
    assertTrue(downMillis <= DOWN_DEADLINE.toMillis(), "DOWN after " + downMillis + " ms");

    // the new mapping leaves it out; every node of it gets the key
    List<String> after = cluster.mapping(key);
    assertEquals(3, after.size(), "mapping " + after);
    assertFalse(after.contains(primary), "stopped primary still mapped: " + after);
    assertTrue(after.contains(unmapped), "the spare worker should take over: " + after);
    for (String w : after) cluster.awaitLocal(COPY_DEADLINE, w, key, value);
    for (String w : after) assertValue(cluster.getKv(w, key), value, "GET from " + w + " after failover");

    // a new value through a non-primary worker, read back from every UP worker
    String newPrimary = after.get(0);
    String viaOther = after.get(1);
    assertNotEquals(newPrimary, viaOther);
    String value2 = "demo2-" + UUID.randomUUID();
    TestCluster.Reply put2 = cluster.putKv(viaOther, key, value2);
    assertEquals(200, put2.status(), put2.toString());
    assertTrue(put2.json().path("replicas_acked").asInt() >= 2, put2.toString());
    for (String w : after) assertValue(cluster.getKv(w, key), value2, "GET from " + w + " after the second PUT");

    // the stopped node comes back under the same id and port, turns UP and gets the key back
    cluster.restart(primary);
    cluster.awaitUp(Duration.ofSeconds(5), List.of(primary));
    TestCluster.await(Duration.ofSeconds(5), primary + " mapped again", () -> cluster.mapping(key).contains(primary));
    cluster.awaitLocal(COPY_DEADLINE, primary, key, value2);
    assertValue(cluster.getKv(primary, key), value2, "GET from restarted " + primary);
    // the spare hands the key back once the mapping no longer names it
    List<String> restored = cluster.mapping(key);
    if (!restored.contains(unmapped))
      TestCluster.await(COPY_DEADLINE, unmapped + " hands the key off", () -> cluster.localValue(unmapped, key) == null);
  }

  @Test
  void writesThroughAnyWorkerAreReadFromEveryWorker() {
    List<String> workers = cluster.workers();
    String run = UUID.randomUUID().toString().substring(0, 8);
    List<String> keys = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      String key = "any-" + run + "-" + i;
      keys.add(key);
      List<String> mapping = cluster.mapping(key);
      // write through a worker that is not the key's primary (round robin over the others)
      List<String> nonPrimaries = workers.stream().filter(w -> !w.equals(mapping.get(0))).toList();
      String via = nonPrimaries.get(i % nonPrimaries.size());
      TestCluster.Reply r = cluster.putKv(via, key, "v-" + i);
      assertEquals(200, r.status(), "PUT " + key + " via " + via + ": " + r);
      assertTrue(r.json().path("replicas_acked").asInt() >= 2, r.toString());
      for (JsonNode by : r.json().path("acked_by"))
        assertTrue(mapping.contains(by.asText()), key + " acked by " + by + ", not in its mapping " + mapping);
    }
    for (int i = 0; i < keys.size(); i++)
      for (String w : workers) assertValue(cluster.getKv(w, keys.get(i)), "v-" + i, "GET " + keys.get(i) + " from " + w);

    // an overwrite through one worker is what every other worker reads next
    String key = keys.get(0);
    for (String w : workers) {
      String v = "over-" + w;
      assertEquals(200, cluster.putKv(w, key, v).status());
      for (String reader : workers) assertValue(cluster.getKv(reader, key), v, "GET from " + reader + " after PUT via " + w);
    }
  }

  private static void assertValue(TestCluster.Reply r, String expected, String what) {
    assertEquals(200, r.status(), what + ": " + r);
    assertTrue(r.json().path("found").asBoolean(), what + ": " + r);
    assertEquals(expected, r.json().path("value").asText(), what + ": " + r);
  }
}
