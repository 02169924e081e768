package io.ringkv.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import io.ringkv.util.Secret;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

/** Who may open a link (the same rule as the endpoints' HTTP forms), and how a connection's calls are answered. */
class LinkServerTest {
  private static ByteString hello(String cluster, String api) {
    return Frames.hello(new Frames.Hello(cluster, api));
  }

  @Test
  void theHelloMustCarryTheTokensTheHttpFormsRequire() {
    Secret cluster = Secret.of("c-secret");
    Secret api = Secret.of("a-secret");
    // nothing configured: protected mode, a peer on this machine only
    assertNull(LinkServer.refusal(null, null, true, hello("", "")));
    assertTrue(LinkServer.refusal(null, null, false, hello("", "")).contains("CLUSTER_TOKEN is not set"));
    assertNotNull(LinkServer.refusal(null, api, false, hello("", "a-secret")));
    // a cluster token: required, whatever the API token, from anywhere
    assertNull(LinkServer.refusal(cluster, api, false, hello("c-secret", "")));
    assertNull(LinkServer.refusal(cluster, api, true, hello("c-secret", "")));
    assertNotNull(LinkServer.refusal(cluster, api, true, hello("", "a-secret")));
    assertNotNull(LinkServer.refusal(cluster, null, true, hello("c-secre", "")));
    assertNotNull(LinkServer.refusal(cluster, null, true, hello("", "")));
    // only an API token (the link carries forwarded client writes): it is required
    assertNull(LinkServer.refusal(null, api, true, hello("", "a-secret")));
    assertNotNull(LinkServer.refusal(null, api, true, hello("a-secret", "")));
    assertNotNull(LinkServer.refusal(null, api, true, hello("", "")));
    // not a hello at all
    assertNotNull(LinkServer.refusal(null, null, true, ByteString.fromString("GET / HTTP/1.1")));
    assertNotNull(LinkServer.refusal(null, null, true, hello("", "").dropRight(1)));
    assertNotNull(LinkServer.refusal(null, null, true, hello("", "").concat(ByteString.fromString("x"))));
  }

  /** A stand-in worker: every replica stored, every key holds "v-" + key, and no write can be coordinated. */
  private static final PeerService SERVICE = new PeerService() {
    @Override
    public CompletionStage<List<Applied>> replicate(List<Entry> entries) {
      return CompletableFuture.completedFuture(Collections.nCopies(entries.size(), Applied.STORED));
    }

    @Override
    public CompletionStage<List<Optional<Versioned>>> copies(List<String> keys) {
      return CompletableFuture.completedFuture(keys.stream()
          .map(k -> Optional.of(new Versioned("v-" + k, new Version(1, "n")))).toList());
    }

    @Override
    public CompletionStage<List<WriteOutcome>> coordinate(List<Forwarded> writes) {
      return CompletableFuture.failedFuture(new IllegalStateException("no coordinator here"));
    }

    @Override
    public CompletionStage<long[]> tree(Frames.TreeQuery query) {
      return CompletableFuture.completedFuture(new long[] {query.epoch(), query.level(), query.ids().length});
    }

    @Override
    public CompletionStage<List<io.ringkv.storage.KeyVersion>> keyVersions(Frames.SegmentQuery query) {
      return CompletableFuture.completedFuture(List.of(new io.ringkv.storage.KeyVersion("k" + query.segments().length,
          new Version(query.epoch(), "n"), false)));
    }
  };

  @Test
  void callsAreServedAfterAnAcceptedHelloAndKeepAlivesAreDropped() throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "link-server-test");
    try {
      var calls = new LinkServer(SERVICE).calls(Secret.of("t"), null, false);
      List<ByteString> served = Source.from(List.of(ByteString.emptyByteString(), hello("t", ""), ByteString.emptyByteString(),
              Frames.call(7, Frames.Kind.READ, Frames.keys(List.of("a", "b"))), ByteString.emptyByteString(),
              Frames.call(8, Frames.Kind.FORWARD, Frames.forwards(List.of(
                  new Forwarded(new Entry("a", new Versioned("v", new Version(1, "n"))), Long.MAX_VALUE)))),
              Frames.call(9, Frames.Kind.REPLICATE, ByteString.fromArray(new byte[] {0, 0, 0, 9}))))
          .via(calls).runWith(Sink.seq(), system).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertEquals(3, served.size(), served.toString());
      Map<Integer, Frames.Answer> byId = new HashMap<>();
      for (ByteString m : served) byId.put(Frames.readAnswer(m).id(), Frames.readAnswer(m));
      assertEquals(Frames.Result.OK, byId.get(7).result());
      assertEquals(List.of("v-a", "v-b"), Frames.readCopies(byId.get(7).body()).stream().map(c -> c.orElseThrow().value()).toList());
      assertEquals(Frames.Result.UNAVAILABLE, byId.get(8).result());
      assertTrue(byId.get(8).detail().contains("no coordinator here"), byId.get(8).detail());
      assertEquals(Frames.Result.BAD_INPUT, byId.get(9).result(), "a count the body cannot hold");

      List<ByteString> refused = Source.from(List.of(hello("wrong", ""), Frames.call(8, Frames.Kind.READ, Frames.keys(List.of("a")))))
          .via(calls).runWith(Sink.seq(), system).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertEquals(1, refused.size(), "a call was served after a refused hello: " + refused);
      assertEquals(0, Frames.readAnswer(refused.get(0)).id());
      assertEquals(Frames.Result.REFUSED, Frames.readAnswer(refused.get(0)).result());
    } finally {
      system.terminate();
    }
  }

  /** A stranger cannot hold more than LINK_MAX_CONNECTIONS connections, nor a half-open one past the hello timeout. */
  @Test
  void connectionsAreBoundedAndAConnectionWithoutAHelloIsClosed() throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "link-limit-test");
    try {
      int port = LinkServer.start(system, "127.0.0.1", 0, "t", "", 2, SERVICE).toCompletableFuture().get(10, TimeUnit.SECONDS);
      try (LinkSocket a = new LinkSocket(port, "t", ""); LinkSocket b = new LinkSocket(port, "t", "")) {
        assertEquals(Frames.Result.OK, a.call(Frames.Kind.READ, Frames.keys(List.of("x"))).result());
        assertEquals(Frames.Result.OK, b.call(Frames.Kind.READ, Frames.keys(List.of("x"))).result());
        try (java.net.Socket third = new java.net.Socket("127.0.0.1", port)) {
          third.setSoTimeout(10_000);
          assertEquals(-1, third.getInputStream().read(), "a third connection was kept open");
        }
        assertEquals(Frames.Result.OK, a.call(Frames.Kind.READ, Frames.keys(List.of("y"))).result(), "the first two still serve");
      }
      // the two closed: a new connection is served again, and one that never says hello is closed
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      boolean servedAgain = false;
      while (!servedAgain && System.nanoTime() < deadline) {   // the closed connections are counted out as their streams end
        try (LinkSocket c = new LinkSocket(port, "t", "")) {
          servedAgain = c.call(Frames.Kind.READ, Frames.keys(List.of("z"))).result() == Frames.Result.OK;
        } catch (java.io.IOException stillFull) {
          java.util.concurrent.locks.LockSupport.parkNanos(50_000_000L);
        }
      }
      assertTrue(servedAgain, "no connection was served after the first two closed");
      try (java.net.Socket silent = new java.net.Socket("127.0.0.1", port)) {
        silent.setSoTimeout((int) (LinkServer.HELLO_TIMEOUT.toMillis() * 3));
        long t0 = System.nanoTime();
        try {
          assertEquals(-1, silent.getInputStream().read(), "a connection that never said hello got an answer");
        } catch (java.net.SocketException reset) {   // the failed stream aborts the connection: a reset is a close too
          assertTrue(String.valueOf(reset.getMessage()).contains("reset"), reset.toString());
        }
        assertTrue(System.nanoTime() - t0 < LinkServer.HELLO_TIMEOUT.toNanos() * 2, "closed only after the idle timeout");
      }
    } finally {
      system.terminate();
    }
  }
}
