package io.ringkv.net;

import com.fasterxml.jackson.databind.JsonNode;
import io.ringkv.config.NodeSettings;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Picks the id a starting worker registers under: {@code NODE_ID}, unless another live process already
 * holds it at another address and a {@code NODE_ID_FALLBACK} is configured (a Kubernetes Deployment
 * scaled to 2 replicas: the second pod joins as a new node named after itself). A holder that does
 * not answer heartbeats (a crashed predecessor) turns DOWN within the heartbeat timeout, so the check
 * is repeated once after that before the fallback is taken. Runs once, before the node starts.
 */
public final class NodeIdProbe {
  private static final Logger log = LoggerFactory.getLogger(NodeIdProbe.class);

  private NodeIdProbe() {}

  public static NodeSettings resolve(NodeSettings s, String fallback) {
    if (fallback == null || fallback.isBlank() || fallback.equals(s.nodeId())) return s;
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    for (int attempt = 0; attempt < 2; attempt++) {
      JsonNode nodes = fetchNodes(client, s);
      if (nodes == null || !takenElsewhere(nodes, s.nodeId(), s.advertiseHost(), s.advertisePort())) return s;
      if (attempt == 0 && !pause(s.heartbeatTimeout().plusMillis(500))) return s;
    }
    log.info("node id {} is UP at another address: joining as {}", s.nodeId(), fallback);
    return s.withNodeId(fallback);
  }

  private static boolean pause(Duration d) {
    try {
      Thread.sleep(d.toMillis());
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Whether {@code /nodes} shows {@code id} UP at an address other than {@code host:port}. */
  static boolean takenElsewhere(JsonNode nodesReply, String id, String host, int port) {
    JsonNode n = nodesReply.path("nodes").path(id);
    if (n.isMissingNode() || !"UP".equals(n.path("status").asText())) return false;
    return !(host.equals(n.path("host").asText()) && port == n.path("port").asInt());
  }

  private static JsonNode fetchNodes(HttpClient client, NodeSettings s) {
    try {
      HttpRequest req = HttpRequest.newBuilder(URI.create(s.controllerAddr() + "/nodes")).timeout(Duration.ofSeconds(2)).build();
      HttpResponse<byte[]> resp = client.send(req, HttpResponse.BodyHandlers.ofByteArray());
      return resp.statusCode() == 200 ? Wire.JSON.readTree(resp.body()) : null;
    } catch (Exception e) {
      return null;   // no controller yet: nothing to clash with that it knows of
    } 
  }
}
