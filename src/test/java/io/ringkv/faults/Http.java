package io.ringkv.faults;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** A JSON-over-HTTP client of the harness: every call has a deadline; a failed call is status -1. */
final class Http {
  static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient client;
  private final String clusterToken;

  /** A response: status -1 when there was none (timeout, connection refused or reset). */
  record Resp(int status, JsonNode body, String error) {
    boolean ok() {
      return status == 200;
    }
  }

  Http(String clusterToken) {
    this.clusterToken = clusterToken;
    this.client = HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(1))
        .build();
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  Resp get(String url, Duration timeout) {
    return send(HttpRequest.newBuilder(URI.create(url)).timeout(timeout).GET());
  }

  Resp put(String url, JsonNode body, Duration timeout) {
    return send(HttpRequest.newBuilder(URI.create(url)).timeout(timeout)
        .header("Content-Type", "application/json")
        .PUT(HttpRequest.BodyPublishers.ofByteArray(bytes(body))));
  }

  Resp post(String url, String json, Duration timeout) {
    return send(HttpRequest.newBuilder(URI.create(url)).timeout(timeout)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json)));
  }

  Resp delete(String url, Duration timeout) {
    return send(HttpRequest.newBuilder(URI.create(url)).timeout(timeout).DELETE());
  }

  /** Sends with the cluster token (the harness reads raw copies like a node does). */
  Resp send(HttpRequest.Builder req) {
    if (clusterToken != null) req.header(io.ringkv.net.Wire.TOKEN_HEADER, clusterToken);
    try {
      HttpResponse<byte[]> r = client.send(req.build(), HttpResponse.BodyHandlers.ofByteArray());
      JsonNode body;
      try {
        body = r.body().length == 0 ? MissingNode.getInstance() : JSON.readTree(r.body());
      } catch (java.io.IOException e) {
        body = MissingNode.getInstance();
      }
      return new Resp(r.statusCode(), body, null);
    } catch (java.io.IOException e) {
      return new Resp(-1, MissingNode.getInstance(), e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Resp(-1, MissingNode.getInstance(), "interrupted");
    }
  }

  private static byte[] bytes(JsonNode n) {
    try {
      return JSON.writeValueAsBytes(n);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException(e);
    }
  }
}
