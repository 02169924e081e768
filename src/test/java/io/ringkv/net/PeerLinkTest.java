package io.ringkv.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ringkv.cluster.Member;
import io.ringkv.cluster.TestCluster;
import io.ringkv.config.NodeSettings;
import io.ringkv.storage.Applied;
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
 * {@link PeerLinks} against real processes: every data-path call (replicas, replica reads, forwarded
 * writes) goes over the node-to-node link, answers say what the peer did, a new link replaces one
 * whose peer restarted, and a peer that does not serve the link is not called any other way.
 */
class PeerLinkTest {
  private static final Duration DEADLINE = Duration.ofSeconds(15);
  private static TestCluster cluster;
  private static ActorSystem<Void> system;
  private static PeerLinks peers;

  @BeforeAll
  static void start() {
    cluster = TestCluster.start(1);
    var config = cluster.config("caller", TestCluster.freePort());
    system = ActorSystem.create(Behaviors.empty(), "caller", config);
    peers = new PeerLinks(system, NodeSettings.from(config));
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
    assertEquals(List.of(Applied.STORED), await(peers.replicate(w1, List.of(entry("link-a", "v1", 100)))));
    assertEquals(List.of(Applied.STORED, Applied.STORED),
        await(peers.replicate(w1, List.of(entry("link-b", "v2", 100), entry("link-c", "v3", 100)))));
    // the same version again, and an older one: the peer says what it did with each
    assertEquals(List.of(Applied.ALREADY_HELD, Applied.superseded(new Version(100, "caller"))),
        await(peers.replicate(w1, List.of(entry("link-b", "v2", 100), entry("link-c", "older", 99)))));
    Optional<Versioned> a = await(peers.fetch(w1, "link-a"));
    assertEquals("v1", a.orElseThrow().value());
    assertEquals("100@caller", a.get().version().toString());
    assertTrue(await(peers.fetch(w1, "never-written")).isEmpty());
    assertTrue(peers.hasOpenLink(w1.url()), "the calls did not use the link");
    assertEquals("v2", cluster.localValue("worker1", "link-b"));
    assertEquals("v3", cluster.localValue("worker1", "link-c"));

    // a forwarded write is coordinated by the peer, which answers with its outcome: stored on the
    // one worker there is, short of the write quorum of two
    WriteOutcome forwarded = await(peers.forward(w1, new Forwarded(entry("link-e", "v5", 100), System.currentTimeMillis() + 60_000)));
    assertTrue(forwarded instanceof WriteOutcome.NotReached, forwarded.toString());
    assertEquals(List.of("worker1"), forwarded.ackedBy());
    assertEquals("v5", cluster.localValue("worker1", "link-e"));

    cluster.crash("worker1");
    assertThrows(Exception.class, () -> await(peers.fetch(w1, "link-a")), "a call to a stopped peer must fail");
    cluster.restart("worker1");   // same port, a new process
    TestCluster.awaitAssert(DEADLINE, () -> {
      try {
        assertEquals(List.of(Applied.STORED), await(peers.replicate(w1, List.of(entry("link-d", "v4", 200)))));
      } catch (Exception e) {
        throw new AssertionError("no answer from the restarted peer yet: " + e);
      }
    });
    assertEquals("v4", cluster.localValue("worker1", "link-d"));
    assertTrue(peers.hasOpenLink(w1.url()));
  }

  @Test
  void aPeerWithoutTheLinkIsNotCalledAnyOtherWay() throws Exception {
    AtomicInteger others = new AtomicInteger();
    // an HTTP server with no link: 404 on /peer/link, and it counts every other request
    ServerBinding noLink = await(Http.get(system).newServerAt("127.0.0.1", 0).bindSync(req -> {
      if (!req.getUri().path().equals("/peer/link")) others.incrementAndGet();
      return HttpResponse.create().withStatus(404).withEntity(ContentTypes.APPLICATION_JSON, "{\"detail\":\"Not Found\"}");
    }));
    try {
      Member peer = member("nolink", noLink.localAddress().getPort());
      assertThrows(Exception.class, () -> await(peers.fetch(peer, "k")));
      assertThrows(Exception.class, () -> await(peers.replicate(peer, List.of(entry("k", "v", 300)))));
      assertThrows(Exception.class, () -> await(peers.forward(peer, new Forwarded(entry("k", "v", 300), Long.MAX_VALUE))));
      assertEquals(0, others.get(), "no call may fall back to plain HTTP");
      assertFalse(peers.hasOpenLink(peer.url()));
    } finally {
      noLink.unbind();
    }
  }
}
