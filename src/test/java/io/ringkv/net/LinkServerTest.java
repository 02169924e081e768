package io.ringkv.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.ringkv.util.Secret;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.Test;

/** Who may open a link (the same rule as the endpoints' HTTP forms), and what a connection's first frames do. */
class LinkServerTest {
  private static ByteString hello(String cluster, String api) {
    return Frames.hello(new Frames.Hello(cluster, api));
  }

  @Test
  void theHelloMustCarryTheTokensTheHttpFormsRequire() {
    Secret cluster = Secret.of("c-secret");
    Secret api = Secret.of("a-secret");
    // nothing configured: open
    assertNull(LinkServer.refusal(null, null, hello("", "")));
    // a cluster token: required, whatever the API token
    assertNull(LinkServer.refusal(cluster, api, hello("c-secret", "")));
    assertNotNull(LinkServer.refusal(cluster, api, hello("", "a-secret")));
    assertNotNull(LinkServer.refusal(cluster, null, hello("c-secre", "")));
    assertNotNull(LinkServer.refusal(cluster, null, hello("", "")));
    // only an API token (the link carries forwarded client writes): it is required
    assertNull(LinkServer.refusal(null, api, hello("", "a-secret")));
    assertNotNull(LinkServer.refusal(null, api, hello("a-secret", "")));
    assertNotNull(LinkServer.refusal(null, api, hello("", "")));
    // not a hello at all
    assertNotNull(LinkServer.refusal(null, null, ByteString.fromString("GET / HTTP/1.1")));
    assertNotNull(LinkServer.refusal(null, null, hello("", "").dropRight(1)));
    assertNotNull(LinkServer.refusal(null, null, hello("", "").concat(ByteString.fromString("x"))));
  }

  @Test
  void callsAreServedAfterAnAcceptedHelloAndKeepAlivesAreDropped() throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "link-server-test");
    try {
      var echo = LinkServer.calls(Secret.of("t"), null, m -> {
        Frames.Call c = Frames.readCall(m);
        return CompletableFuture.completedFuture(Frames.answer(c.id(), 200, c.body().toArray()));
      });
      List<ByteString> served = Source.from(List.of(ByteString.emptyByteString(), hello("t", ""), ByteString.emptyByteString(),
              Frames.call(7, Frames.Kind.READ, new byte[] {1, 2}), ByteString.emptyByteString()))
          .via(echo).runWith(Sink.seq(), system).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertEquals(1, served.size(), served.toString());
      Frames.Answer a = Frames.readAnswer(served.get(0));
      assertEquals(7, a.id());
      assertEquals(ByteString.fromArray(new byte[] {1, 2}), a.body());

      List<ByteString> refused = Source.from(List.of(hello("wrong", ""), Frames.call(8, Frames.Kind.READ, new byte[0])))
          .via(echo).runWith(Sink.seq(), system).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertEquals(1, refused.size(), "a call was served after a refused hello: " + refused);
      assertEquals(0, Frames.readAnswer(refused.get(0)).id());
      assertEquals(401, Frames.readAnswer(refused.get(0)).status());
    } finally {
      system.terminate();
    }
  }
}
