package io.ringkv.cluster;

import org.junit.jupiter.api.Test;

class TmpDebugTest {
  @Test
  void dbg() throws Exception {
    int port = TestCluster.freePort();
    var c = com.typesafe.config.ConfigFactory.parseMap(java.util.Map.of("ringkv.node-id", "controller", "ringkv.http.host", "127.0.0.1", "ringkv.http.port", port, "ringkv.advertise-host", "127.0.0.1")).withFallback(com.typesafe.config.ConfigFactory.load());
    var s = io.ringkv.Main.startController(c);
    var client = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build();
    for (int i = 0; i < 20; i++) {
      try {
        var r = client.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/health")).timeout(java.time.Duration.ofSeconds(3)).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
        System.out.println("DBG " + r.statusCode() + " " + r.body());
      } catch (Exception e) { System.out.println("DBG " + e); }
      System.out.println("DBG terminated=" + s.whenTerminated().isCompleted());
      Thread.sleep(300);
    }
    s.terminate();
  }
}
