package io.ringkv.net;

import com.fasterxml.jackson.databind.JsonNode;
import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** The controller's reads of its UP workers' {@code GET /status}, for the ring page: all at once, each bounded by a timeout. */
public final class NodeStatuses {
  private final JsonHttpClient http;

  public NodeStatuses(String clusterToken, String apiToken) {
    this.http = new JsonHttpClient(clusterToken, apiToken);
  }

  /** Each UP member's status (null for one that did not answer in time). */
  public CompletionStage<Map<String, JsonNode>> fetch(ClusterView view, Duration timeout) {
    Map<String, CompletableFuture<JsonNode>> asks = new LinkedHashMap<>();
    for (Member m : view.members().values()) {
      if (!m.isUp()) continue;
      asks.put(m.id(), http.get(m.url() + "/status", timeout).handle((a, err) -> err == null && a.status() == 200 ? a.body() : null));
    }
    return CompletableFuture.allOf(asks.values().toArray(new CompletableFuture[0])).thenApply(v -> {
      Map<String, JsonNode> out = new LinkedHashMap<>();
      asks.forEach((id, f) -> out.put(id, f.join()));
      return out;
    });
  }
}
