package io.ringkv.net;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The control plane's HTTP client (a worker's calls to the controller: register, heartbeat, view,
 * leave): the JDK's client on a thread of its own, apart from the actor system's dispatcher and
 * Pekko HTTP's pools that carry the data. A worker whose dispatcher is saturated (a rebalance of a
 * million keys, a burst of client load on a small machine) still gets its heartbeats out on time;
 * when they shared that dispatcher, such a worker was called DOWN, which started another rebalance,
 * which starved it again.
 */
final class ControlClient {
  private final HttpClient http;
  private final String token;

  ControlClient(String clusterToken) {
    ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "ringkv-control-plane");
      t.setDaemon(true);
      return t;
    });
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(executor)
        .connectTimeout(Duration.ofSeconds(2)).build();
    this.token = clusterToken;
  }

  CompletableFuture<JsonNode> get(String url, Duration timeout) {
    return send(HttpRequest.newBuilder(URI.create(url)).GET(), timeout);
  }

  CompletableFuture<JsonNode> post(String url, JsonNode body, Duration timeout) {
    return send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(Wire.bytes(body))), timeout);
  }

  /** Expects a 2xx; any other status fails the stage with a {@link PeerException}. */
  private CompletableFuture<JsonNode> send(HttpRequest.Builder req, Duration timeout) {
    req.timeout(timeout);
    if (!token.isEmpty()) req.header(HttpPeers.TOKEN_HEADER, token);
    return http.sendAsync(req.build(), HttpResponse.BodyHandlers.ofByteArray()).thenApply(resp -> {
      JsonNode body = HttpPeers.parse(resp.body());
      if (resp.statusCode() / 100 != 2) throw new PeerException(resp.statusCode(), body.path("detail").asText(""));
      return body;
    });
  }
}
