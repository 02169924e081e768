package io.ringkv.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ringkv.cluster.Member;
import io.ringkv.cluster.TestCluster;
import io.ringkv.config.NodeSettings;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link HttpPeers}' node-to-node link against real processes' HTTP servers: calls go over the link
 * to a current worker, a new link replaces one whose peer restarted, and a peer that does not serve
 * {@code /peer} (an older release) is called over plain HTTP.
 */
class PeerLinkTest {
  private static final Duration DEADLINE = Duration.ofSeconds(15);
  private static TestCluster cluster;
  private static ActorSystem<Void> system;
  private static HttpPeers peers;

  @BeforeAll
  static void start() {
    cluster = TestCluster.start(1);
    var config = cluster.config("caller", TestCluster.freePort());
    system = ActorSystem.create(Behaviors.empty(), "caller", config);
    peers = new HttpPeers(system, NodeSettings.from(config));
  }

  @AfterAll
  static void stop() {
    if (system != null) system.terminate();
    if (cluster != null) cluster.close();
  }

  private static Member member(String id, int port) {
    return new Member(id, "127.0.0.1", port, Member.Status.UP, "i1");
  }

  private static <T> T await(java.util.concurrent.CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
  }

  private static Entry entry(String key, String value, long ts) {
    return new Entry(key, new Versioned(value, new Version(ts, "caller")));
  }

  @Test
  void callsTravelOverTheLinkAndANewLinkReplacesOneWhosePeerRestarted() throws Exception {
    Member w1 = member("worker1", cluster.port("worker1"));
    assertEquals(1, await(peers.replicate(w1, List.of(entry("link-a", "v1", 100)))));
    assertEquals(2, await(peers.replicate(w1, List.of(entry("link-b", "v2", 100), entry("link-c", "v3", 100)))));
    Optional<Versioned> a = await(peers.fetch(w1, "link-a"));
    assertEquals("v1", a.orElseThrow().value());
    assertEquals("100@caller", a.get().version().toString());
    assertTrue(await(peers.fetch(w1, "never-written")).isEmpty());
    assertTrue(peers.hasOpenLink(w1.url()), "the calls did not use the link");
    assertEquals("v2", cluster.localValue("worker1", "link-b"));

    cluster.crash("worker1");
    assertThrows(Exception.class, () -> await(peers.fetch(w1, "link-a")), "a call to a stopped peer must fail");
    cluster.restart("worker1");   // same port, a new process without data
    TestCluster.awaitAssert(DEADLINE, () -> {
      try {
        assertEquals(1, await(peers.replicate(w1, List.of(entry("link-d", "v4", 200)))));
      } catch (Exception e) {
        throw new AssertionError("no answer from the restarted peer yet: " + e);
      }
    });
    assertEquals("v4", cluster.localValue("worker1", "link-d"));
    assertTrue(peers.hasOpenLink(w1.url()));
  }

  @Test
  void aPeerWithoutTheLinkIsCalledOverHttp() throws Exception {
    AtomicInteger posts = new AtomicInteger();
    // an older release: the batch endpoints as POSTs, no /peer (404)
    ServerBinding old = await(Http.get(system).newServerAt("127.0.0.1", 0).bindSync(req -> {
      String path = req.getUri().path();
      if (path.equals("/replicate/read")) {
        posts.incrementAndGet();
        return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON,
            "{\"entries\":[{\"key\":\"k\",\"value\":\"old\",\"version\":\"5@w9\"}]}");
      }
      if (path.equals("/replicate")) {
        posts.incrementAndGet();
        return HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, "{\"status\":\"ok\",\"received\":1,\"applied\":1}");
      }
      return HttpResponse.create().withStatus(404).withEntity(ContentTypes.APPLICATION_JSON, "{\"detail\":\"no such route\"}");
    }));
    try {
      Member older = member("older", old.localAddress().getPort());
      assertEquals("5@w9", await(peers.fetch(older, "k")).orElseThrow().version().toString());
      assertEquals(1, await(peers.replicate(older, List.of(entry("k", "new", 300)))));
      assertEquals(2, posts.get(), "both calls should have been POSTs");
      assertFalse(peers.hasOpenLink(older.url()));
    } finally {
      old.unbind();
    }
  }
}
