package io.ringkv.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ringkv.cluster.TestCluster;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The command-line client against real nodes: what it prints and the exit code of each outcome. */
class CliTest {
  private record Run(int code, String out, String err) {}

  private static Run cli(Map<String, String> env, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Cli.run(args, env, new PrintWriter(out), new PrintWriter(err));
    return new Run(code, out.toString(), err.toString());
  }

  private static Map<String, String> env(TestCluster c, String worker) {
    return Map.of("RINGKV_URL", c.url(worker), "RINGKV_CONTROLLER", c.controllerUrl());
  }

  @Test
  void putGetDeleteAndTheClusterTables() {
    try (TestCluster c = TestCluster.start(3)) {
      Map<String, String> env = env(c, "worker1");
      String key = "cli-" + UUID.randomUUID().toString().substring(0, 8);
      Run put = cli(env, "put", key, "hello world");
      assertEquals(0, put.code(), put.err());
      assertTrue(put.out().startsWith("ok " + key + " version "), put.out());
      Run get = cli(Map.of("RINGKV_URL", c.url("worker2")), "get", key);
      assertEquals(new Run(0, "hello world\n", ""), get);

      Run mapping = cli(env, "mapping", key);
      assertEquals(0, mapping.code());
      assertTrue(mapping.out().contains("primary"), mapping.out());
      assertEquals(4, mapping.out().lines().count(), mapping.out());

      Run status = cli(env, "status");
      assertEquals(0, status.code(), status.err());
      for (String w : c.workers()) assertTrue(status.out().lines().anyMatch(l -> l.startsWith(w) && l.contains("UP")), status.out());
      Run ring = cli(env, "ring");
      assertEquals(0, ring.code(), ring.err());
      // 3 workers, 3 copies: each owns all of it, and is primary for about a third
      for (String w : c.workers()) assertTrue(ring.out().lines().anyMatch(l -> l.startsWith(w) && l.endsWith("100.0%")), ring.out());
      Run nodes = cli(env, "nodes");
      assertEquals(0, nodes.code());
      assertEquals(5, nodes.out().lines().count(), nodes.out());

      assertEquals(0, cli(env, "delete", key).code());
      Run gone = cli(env, "get", key);
      assertEquals(1, gone.code());
      assertTrue(gone.err().contains("deleted"), gone.err());
    }
  }

  @Test
  void eachFailureHasItsExitCodeAndSaysWhatToDo() {
    try (TestCluster c = TestCluster.start(1, Map.of("ringkv.api-token", "cli-test-api-token"))) {
      Run noToken = cli(env(c, "worker1"), "put", "k", "v");
      assertEquals(5, noToken.code(), noToken.err());
      assertTrue(noToken.err().contains("API_TOKEN"), noToken.err());
      // one worker of 3 copies cannot reach the write quorum of 2
      Run unavailable = cli(Map.of("RINGKV_URL", c.url("worker1"), "API_TOKEN", "cli-test-api-token"), "put", "k", "v");
      assertEquals(4, unavailable.code(), unavailable.err());
      assertTrue(unavailable.err().contains("503"), unavailable.err());
    }
    Run down = cli(Map.of("RINGKV_URL", "http://127.0.0.1:" + TestCluster.freePort()), "get", "k");
    assertEquals(3, down.code());
    assertTrue(down.err().contains("is the cluster running?"), down.err());
    assertEquals(2, cli(Map.of(), "frobnicate").code());
  }
}
