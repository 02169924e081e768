package io.ringkv.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Who may call a node-to-node endpoint. With {@code CLUSTER_TOKEN} set: whoever offers it, from
 * anywhere. Without it (protected mode): callers on this machine only, judged by the connection's
 * address (never by a header a caller writes), and everyone else gets a 401 that says how to set the
 * token. The requests carry the remote address as the HTTP server attaches it.
 */
class ProtectedModeTest {
  private static final ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "protected-mode-test");

  /** A node-to-node endpoint behind the same directive the real ones use. */
  private static final class Endpoint extends JsonRoutes {
    Endpoint(String clusterToken) {
      super(clusterToken, 1024);
    }

    Route route() {
      return Errors.handled(path("replicate", () -> post(() -> clusterOnly(() -> complete("stored")))));
    }
  }

  @AfterAll
  static void shutdown() {
    system.terminate();
  }

  private static HttpResponse call(String token, String from, Map<String, String> headers) throws Exception {
    HttpRequest req = HttpRequest.POST("/replicate");
    if (from != null) req = req.addAttribute(AttributeKeys.remoteAddress, RemoteAddress.create(InetAddress.getByName(from)));
    for (var h : headers.entrySet()) req = req.addHeader(RawHeader.create(h.getKey(), h.getValue()));
    return new Endpoint(token).route().handler(system).apply(req).toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static String body(HttpResponse r) throws Exception {
    return r.entity().toStrict(5_000, system).toCompletableFuture().get(10, TimeUnit.SECONDS).getData()
        .decodeString(StandardCharsets.UTF_8);
  }

  @Test
  void withoutATokenOnlyCallersOnThisMachineAreServed() throws Exception {
    assertEquals(200, call("", "127.0.0.1", Map.of()).status().intValue());
    assertEquals(200, call("", "127.9.9.9", Map.of()).status().intValue());
    assertEquals(200, call("", "::1", Map.of()).status().intValue());

    HttpResponse stranger = call("", "10.1.2.3", Map.of());
    assertEquals(401, stranger.status().intValue());
    String detail = body(stranger);
    assertTrue(detail.contains("CLUSTER_TOKEN") && detail.contains("loopback") && detail.contains("\"detail\""), detail);
    // what a caller writes does not make it local
    assertEquals(401, call("", "10.1.2.3", Map.of("X-Forwarded-For", "127.0.0.1", "X-Real-Ip", "127.0.0.1")).status().intValue());
    assertEquals(401, call("", "192.168.7.7", Map.of("X-Cluster-Token", "anything")).status().intValue());
    // no address known: refused
    assertEquals(401, call("", null, Map.of()).status().intValue());
  }

  @Test
  void withATokenTheTokenDecidesFromAnywhere() throws Exception {
    assertEquals(200, call("s3cret-token", "10.1.2.3", Map.of("X-Cluster-Token", "s3cret-token")).status().intValue());
    assertEquals(401, call("s3cret-token", "127.0.0.1", Map.of()).status().intValue());
    assertEquals(401, call("s3cret-token", "127.0.0.1", Map.of("X-Cluster-Token", "wrong")).status().intValue());
  }
}
