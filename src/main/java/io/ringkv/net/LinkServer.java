package io.ringkv.net;

import io.ringkv.util.Secret;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Framing;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;

/**
 * The server side of the node-to-node link: a TCP port of its own ({@code PEER_PORT}) on which each
 * connection carries length-prefixed {@link Frames}: a hello with the tokens first, then calls, served
 * up to {@link #PARALLELISM} at once, each answer leaving as soon as it is ready. No HTTP, no WebSocket
 * framing, no stream materialized per message. A hello without the tokens the HTTP forms of the
 * endpoints require is answered with a 401 and the connection closed; a frame over {@link #MAX_FRAME}
 * closes the connection; a call that cannot be read or fails is answered with its 4xx or 503.
 */
public final class LinkServer {
  /** Calls of one connection served at once (either form of the link); their answers go back as each completes. */
  public static final int PARALLELISM = 64;
  /** The largest frame either side accepts: a rebalance batch or a batch of replicas of large values. */
  static final int MAX_FRAME = 64 * 1024 * 1024 + 64;
  /** A connection silent this long is closed (the caller's link sends a keep-alive every {@link #KEEP_ALIVE}). */
  static final Duration IDLE_TIMEOUT = Duration.ofSeconds(60);
  static final Duration KEEP_ALIVE = Duration.ofSeconds(10);

  private LinkServer() {}

  /**
   * Listens on {@code host:port} (0 = any free port) and serves each call with {@code serve};
   * completes with the bound port. Unbinds on coordinated shutdown.
   */
  public static CompletionStage<Integer> start(ActorSystem<?> system, String host, int port, String clusterToken,
      String apiToken, Function<ByteString, CompletionStage<ByteString>> serve) {
    Materializer mat = Materializer.matFromSystem(system);
    // the idle timeout counts what arrives (keep-alives included), not what is answered
    Flow<ByteString, ByteString, NotUsed> connection = Flow.of(ByteString.class).idleTimeout(IDLE_TIMEOUT)
        .via(Framing.simpleFramingProtocol(MAX_FRAME).reversed().join(calls(Secret.of(clusterToken), Secret.of(apiToken), serve)));
    return Tcp.get(system).bind(host, port)
        .to(Sink.foreach(c -> c.handleWith(connection, mat)))
        .run(mat)
        .thenApply(binding -> {
          CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "unbind-link",
              () -> binding.unbind().thenApply(u -> org.apache.pekko.Done.done()));
          return binding.localAddress().getPort();
        });
  }

  /** One connection's messages: the hello, then calls; keep-alives (empty frames) are dropped. */
  static Flow<ByteString, ByteString, NotUsed> calls(Secret clusterToken, Secret apiToken,
      Function<ByteString, CompletionStage<ByteString>> serve) {
    return Flow.of(ByteString.class)
        .filter(m -> !m.isEmpty())
        .prefixAndTail(1)
        .flatMapConcat(p -> {
          if (p.first().isEmpty()) return Source.<ByteString>empty();
          String refused = refusal(clusterToken, apiToken, p.first().get(0));
          if (refused != null) return Source.single(Frames.answer(0, 401, Wire.bytes(Wire.detail(refused))));
          // serve answers its own failures (4xx, 503); should it ever throw, the connection fails, and
          // with it the caller's pending calls, at once rather than at their deadlines
          return p.second().mapAsyncUnordered(PARALLELISM, serve::apply);
        });
  }

  /**
   * Why a hello is refused, or null: the same rule as the endpoints' HTTP forms. With a cluster
   * token configured it is required; otherwise, with an API token configured, that is required
   * (the link carries forwarded client writes).
   */
  static String refusal(Secret clusterToken, Secret apiToken, ByteString helloFrame) {
    Frames.Hello hello;
    try {
      hello = Frames.readHello(helloFrame);
    } catch (Wire.BadInput e) {
      return e.getMessage();
    }
    Optional<String> cluster = Optional.of(hello.clusterToken()).filter(t -> !t.isEmpty());
    Optional<String> api = Optional.of(hello.apiToken()).filter(t -> !t.isEmpty());
    if (clusterToken != null) return clusterToken.matches(cluster) ? null : "this link is for cluster members: a valid cluster token is required";
    if (apiToken != null) return apiToken.matches(api) ? null : "a valid API token is required";
    return null;
  }
}
