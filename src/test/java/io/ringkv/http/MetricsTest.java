package io.ringkv.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ringkv.cluster.TestCluster;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** GET /metrics on real nodes: Prometheus text that counts what happened, with labels a client cannot multiply. */
class MetricsTest {
  /** The value of the first sample of {@code name} whose labels include every one of {@code labels}; -1 if none. */
  static double sample(String text, String name, String... labels) {
    for (String line : text.split("\n")) {
      if (!line.startsWith(name + "{")) continue;
      boolean all = true;
      for (String l : labels) all &= line.contains(l);
      if (!all) continue;
      Matcher m = Pattern.compile("} ([-0-9.eE+]+)$").matcher(line);
      if (m.find()) return Double.parseDouble(m.group(1));
    }
    return -1;
  }

  @Test
  void workersAndTheControllerCountWhatTheyServe() {
    try (TestCluster c = TestCluster.start(3)) {
      String run = "metrics-" + UUID.randomUUID().toString().substring(0, 8);
      for (int i = 0; i < 3; i++) assertEquals(200, c.putKv("worker1", run + i, "v").status());
      assertEquals(200, c.getKv("worker1", run + "0").status());
      assertEquals(404, c.getKv("worker1", run + "-missing").status());
      for (int i = 0; i < 20; i++) c.get(c.url("worker1") + "/made-up-" + i + "/path");

      TestCluster.Reply r = c.get(c.url("worker1") + "/metrics");
      assertEquals(200, r.status());
      assertTrue(r.contentType().startsWith("text/plain"), r.contentType());
      String text = r.body();
      assertEquals(3, sample(text, "ringkv_http_requests_seconds_count", "route=\"/kv\"", "method=\"PUT\"", "status=\"200\""));
      assertEquals(3, sample(text, "ringkv_quorum_outcomes_total", "op=\"put\"", "outcome=\"acked\""));
      assertEquals(1, sample(text, "ringkv_quorum_outcomes_total", "op=\"get\"", "outcome=\"found\""));
      assertEquals(1, sample(text, "ringkv_quorum_outcomes_total", "op=\"get\"", "outcome=\"not_found\""));
      // twenty made-up paths are one label value, not twenty series
      assertEquals(20, sample(text, "ringkv_http_requests_seconds_count", "route=\"other\"", "status=\"404\""));
      assertTrue(sample(text, "ringkv_http_requests_seconds_bucket", "route=\"/kv\"", "method=\"PUT\"", "le=\"5.0\"") >= 3);
      assertTrue(sample(text, "ringkv_peer_calls_seconds_count", "kind=\"replicate\"", "result=\"ok\"") >= 1
          || sample(text, "ringkv_peer_calls_seconds_count", "kind=\"forward\"", "result=\"ok\"") >= 1, "node-to-node calls timed");
      // every worker owns every key of a 3-worker cluster
      TestCluster.awaitAssert(Duration.ofSeconds(10), () -> assertTrue(
          sample(c.get(c.url("worker2") + "/metrics").body(), "ringkv_keys") >= 3));
      assertEquals(3, sample(text, "ringkv_up_workers"));
      assertTrue(sample(text, "jvm_memory_used_bytes") > 0, "JVM basics");

      String ctrl = c.get(c.controllerUrl() + "/metrics").body();
      dashboardQueriesOnlyExportedMetrics(text + ctrl);
      assertEquals(3, sample(ctrl, "ringkv_members", "status=\"UP\""));
      assertTrue(sample(ctrl, "ringkv_heartbeat_lag_ms", "worker=\"worker1\"") >= 0);
      assertTrue(sample(ctrl, "ringkv_view_epoch") >= 1);
    }
  }

  @Test
  void metricsOffRecordNothingAndSaySo() {
    try (TestCluster c = TestCluster.start(1, Map.of("ringkv.metrics.enabled", false))) {
      TestCluster.Reply r = c.get(c.url("worker1") + "/metrics");
      assertEquals(404, r.status());
      assertTrue(r.json().path("detail").asText().contains("METRICS=off"), r.toString());
    }
  }

  /** Every metric the Grafana dashboard of the repository queries is one that a worker or the controller exports. */
  private static void dashboardQueriesOnlyExportedMetrics(String exported) {
    String dashboard;
    try {
      dashboard = java.nio.file.Files.readString(java.nio.file.Path.of(System.getProperty("basedir", "."), "k8s", "production",
          "grafana-dashboard.json"));
    } catch (java.io.IOException e) {
      throw new AssertionError("k8s/production/grafana-dashboard.json cannot be read", e);
    }
    Matcher m = Pattern.compile("\\b((?:ringkv|jvm)_[a-z_]+)").matcher(dashboard);
    int names = 0;
    while (m.find()) {
      names++;
      String name = m.group(1);
      assertTrue(exported.contains("\n" + name + "{") || exported.contains("\n" + name + " "),
          "the dashboard queries " + name + ", which no node exports");
    }
    assertTrue(names >= 12, "the dashboard's queries: " + names + " metric names");
  }
}
