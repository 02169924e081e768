package io.ringkv.net;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The HTTP client of a node's control-plane calls (registration, heartbeats, views, and the lookup
 * of a peer's link port): the JDK's client on a thread of its own, apart from the actor system's
 * dispatcher and the link that carry the data. A worker whose dispatcher is saturated (a rebalance of
 * a million keys, a burst of client load on a small machine) still gets its heartbeats out on time;
 * when they shared that dispatcher, such a worker was called DOWN, which started another rebalance,
 * which starved it again. Every request carries the cluster token and the API token (which guards
 * {@code GET /peer/link} when no cluster token is set), each when one is set.
 */
final class JsonHttpClient {
  /** A status and its JSON body (an empty object when the body is empty or not JSON). */
  record Answer(int status, JsonNode body) {
    String detail() {
      return body.path("detail").asText("");
    }

    /** The body of a 2xx; any other status fails the call. */
    JsonNode ok(String what) {
      if (status / 100 != 2) throw new IllegalStateException(what + " answered " + status + ": " + detail());
      return body;
    }
  }

  private final HttpClient http;
  private final String clusterToken;
  private final String apiToken;

  JsonHttpClient(String clusterToken, String apiToken) {
    ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "ringkv-control-plane");
      t.setDaemon(true);
      return t;
    });
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(executor)
        .connectTimeout(Duration.ofSeconds(2)).build();
    this.clusterToken = clusterToken;
    this.apiToken = apiToken;
  }

  CompletableFuture<Answer> get(String url, Duration timeout) {
    return send(HttpRequest.newBuilder(URI.create(url)).GET(), timeout);
  }

  CompletableFuture<Answer> post(String url, JsonNode body, Duration timeout) {
    return send(HttpRequest.newBuilder(URI.create(url)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(Wire.bytes(body))), timeout);
  }

  private CompletableFuture<Answer> send(HttpRequest.Builder req, Duration timeout) {
    req.timeout(timeout);
    if (!clusterToken.isEmpty()) req.header(Wire.TOKEN_HEADER, clusterToken);
    if (!apiToken.isEmpty()) req.header("Authorization", "Bearer " + apiToken);
    return http.sendAsync(req.build(), HttpResponse.BodyHandlers.ofByteArray())
        .thenApply(resp -> new Answer(resp.statusCode(), parse(resp.body())));
  }

  private static JsonNode parse(byte[] bytes) {
    if (bytes.length == 0) return Wire.NODES.objectNode();
    try {
      return Wire.JSON.readTree(bytes);
    } catch (IOException e) {
      return Wire.NODES.objectNode();
    }
  }
}
