package io.ringkv.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ringkv.metrics.NodeMetrics;
import io.ringkv.net.Wire;
import io.ringkv.net.WriteOutcome;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import io.ringkv.worker.ReadOutcome;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.pattern.AskTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * Which requests the {@link KvFastPath} serves itself and which it leaves to the routes, and that
 * what it answers is what the routes would answer ({@link KvAnswers}, shared by both).
 */
class KvFastPathTest {
  private static final Version V = new Version(42L << 16, "w1");

  private final List<String> calls = new ArrayList<>();
  private final List<String> delegated = new ArrayList<>();
  private CompletionStage<ReadOutcome> readAnswer =
      CompletableFuture.completedFuture(new ReadOutcome.Answered(Optional.of(new Versioned("v\"1", V)), List.of("w1", "w2")));
  private CompletionStage<WriteOutcome> writeAnswer = CompletableFuture.completedFuture(new WriteOutcome.Acked(List.of("w1", "w2"), V));

  private KvFastPath fastPath(String apiToken, String clusterToken) {
    return new KvFastPath(key -> {
      if (key.isEmpty()) throw new Wire.BadInput("key must not be empty");
      calls.add("read " + key);
      return readAnswer;
    }, (key, value) -> {
      calls.add("write " + key + "=" + value);
      return writeAnswer;
    }, new KvAnswers(NodeMetrics.OFF), apiToken, clusterToken, 1024, req -> {
      delegated.add(req.method().value() + " " + req.getUri().toString());
      return CompletableFuture.completedFuture(HttpResponse.create().withStatus(418));   // the routes answered
    });
  }

  private static HttpResponse answer(KvFastPath p, HttpRequest req) throws Exception {
    return p.apply(req).toCompletableFuture().get(5, TimeUnit.SECONDS);
  }

  private static String body(HttpResponse r) throws Exception {
    return ((org.apache.pekko.http.javadsl.model.HttpEntity.Strict) r.entity()).getData().utf8String();
  }

  private static HttpRequest put(String json) {
    return HttpRequest.PUT("/kv").withEntity(ContentTypes.APPLICATION_JSON, json.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void ordinaryRequestsAreServedWithoutTheRoutesAndAnsweredAsTheSeedDid() throws Exception {
    KvFastPath p = fastPath("", "");

    HttpResponse got = answer(p, HttpRequest.GET("/kv?key=k%201"));
    assertEquals(200, got.status().intValue());
    assertEquals("{\"found\":true,\"key\":\"k 1\",\"value\":\"v\\\"1\",\"version\":\"" + V + "\",\"read_from\":[\"w1\",\"w2\"]}", body(got));
    assertEquals(ContentTypes.APPLICATION_JSON, got.entity().getContentType());

    HttpResponse put = answer(p, put("{\"key\":\"k1\",\"value\":\"hello\"}"));
    assertEquals(200, put.status().intValue());
    assertEquals("{\"status\":\"ok\",\"key\":\"k1\",\"replicas_acked\":2,\"acked_by\":[\"w1\",\"w2\"],\"version\":\"" + V + "\"}", body(put));
    assertEquals(200, answer(p, HttpRequest.POST("/kv").withEntity(ContentTypes.APPLICATION_JSON,
        "{\"value\":\"x\",\"key\":\"k2\"}")).status().intValue());

    HttpResponse del = answer(p, HttpRequest.DELETE("/kv?key=k1"));
    assertEquals("{\"status\":\"ok\",\"key\":\"k1\",\"deleted\":true,\"replicas_acked\":2,\"acked_by\":[\"w1\",\"w2\"],\"version\":\"" + V + "\"}", body(del));

    assertEquals(List.of("read k 1", "write k1=hello", "write k2=x", "write k1=null"), calls);
    assertEquals(List.of(), delegated);
  }

  @Test
  void aMissingOrDeletedKeyIs404AndAQuorumOutOfReachIs503() throws Exception {
    KvFastPath p = fastPath("", "");
    readAnswer = CompletableFuture.completedFuture(new ReadOutcome.Answered(Optional.of(Versioned.tombstone(V)), List.of("w1", "w2")));
    HttpResponse deleted = answer(p, HttpRequest.GET("/kv?key=gone"));
    assertEquals(404, deleted.status().intValue());
    assertEquals("{\"found\":false,\"key\":\"gone\",\"detail\":\"key was deleted\",\"read_from\":[\"w1\",\"w2\"]}", body(deleted));

    writeAnswer = CompletableFuture.completedFuture(new WriteOutcome.NotReached(List.of("w1"), "write quorum not reached: 1 of 2"));
    HttpResponse refused = answer(p, put("{\"key\":\"k\",\"value\":\"v\"}"));
    assertEquals(503, refused.status().intValue());
    assertEquals("{\"detail\":\"write quorum not reached: 1 of 2\",\"key\":\"k\",\"replicas_acked\":1,\"acked_by\":[\"w1\"]}", body(refused));

    // a coordinator that does not answer in time: a JSON 503, never a 500
    writeAnswer = CompletableFuture.failedFuture(new AskTimeoutException("timed out"));
    HttpResponse timedOut = answer(p, put("{\"key\":\"k\",\"value\":\"v\"}"));
    assertEquals(503, timedOut.status().intValue());
    assertTrue(body(timedOut).startsWith("{\"detail\":"), body(timedOut));
    assertEquals(List.of(), delegated);
  }

  @Test
  void everythingOutOfTheOrdinaryGoesToTheRoutes() throws Exception {
    KvFastPath p = fastPath("", "");
    List<HttpRequest> unusual = List.of(
        HttpRequest.GET("/status"),
        HttpRequest.GET("/kv/"),
        HttpRequest.GET("/kv"),                               // no key: the routes' 400
        HttpRequest.GET("/kv?key="),                          // over a limit (empty): the routes say which
        HttpRequest.GET("/kv?key=k&local=true"),              // another parameter
        HttpRequest.GET("/kv?key=a&key=b"),
        HttpRequest.create("/kv?key=k").withMethod(HttpMethods.PATCH),
        put("{\"key\":\"k\"}"),                                 // no value
        put("{\"key\":\"k\",\"value\":7}"),                     // not a string
        put("{\"key\":\"k\",\"value\":\"v\",\"ttl\":1}"),        // another field
        put("{\"key\":\"k\",\"key\":\"j\",\"value\":\"v\"}"),    // twice
        put("{\"key\":\"k\",\"value\":\"v\"} junk"),
        put("[\"k\",\"v\"]"),
        put("not json"),
        put("{\"key\":\"k\",\"value\":\"" + "v".repeat(2000) + "\"}"));   // over the body limit
    for (HttpRequest r : unusual) assertEquals(418, answer(p, r).status().intValue(), r.toString());
    assertEquals(unusual.size(), delegated.size());
    assertEquals(List.of(), calls, "none of them reached the coordinator through the fast path");
  }

  @Test
  void withAnApiTokenOnlyAuthorizedRequestsAreServedTheRestGetTheRoutes401() throws Exception {
    KvFastPath p = fastPath("api-secret", "cluster-secret");
    assertEquals(418, answer(p, HttpRequest.GET("/kv?key=k")).status().intValue());
    assertEquals(418, answer(p, HttpRequest.GET("/kv?key=k").addHeader(RawHeader.create("Authorization", "Bearer wrong")))
        .status().intValue());
    assertEquals(418, answer(p, HttpRequest.GET("/kv?key=k").addHeader(RawHeader.create("X-Cluster-Token", "api-secret")))
        .status().intValue());
    assertEquals(List.of(), calls);

    assertEquals(200, answer(p, HttpRequest.GET("/kv?key=k").addHeader(RawHeader.create("Authorization", "bearer api-secret")))
        .status().intValue());
    assertEquals(200, answer(p, HttpRequest.GET("/kv?key=k").addHeader(RawHeader.create("X-Cluster-Token", "cluster-secret")))
        .status().intValue());
    assertEquals(List.of("read k", "read k"), calls);
  }
}
