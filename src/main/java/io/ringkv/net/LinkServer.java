package io.ringkv.net;

import io.ringkv.util.Secret;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server side of the node-to-node link: a TCP port of its own ({@code PEER_PORT}) on which each
 * connection carries length-prefixed {@link Frames}: a hello with the tokens first, then calls, served
 * up to {@link #PARALLELISM} at once by a {@link PeerService}, each answer leaving as soon as it is
 * ready. A hello without the tokens the cluster requires is answered {@code REFUSED} and the
 * connection closed; a frame over {@link #MAX_FRAME} closes the connection; a call that cannot be read
 * is answered {@code BAD_INPUT}, one that cannot be served {@code UNAVAILABLE}, and the link stays up.
 */
public final class LinkServer {
  private static final Logger log = LoggerFactory.getLogger(LinkServer.class);
  /** Calls of one connection served at once; their answers go back as each completes. */
  public static final int PARALLELISM = 64;
  /** The largest frame either side accepts: a rebalance batch or a batch of replicas of large values. */
  static final int MAX_FRAME = 64 * 1024 * 1024 + 64;
  /** A connection silent this long is closed (the caller's link sends a keep-alive every {@link #KEEP_ALIVE}). */
  static final Duration IDLE_TIMEOUT = Duration.ofSeconds(60);
  static final Duration KEEP_ALIVE = Duration.ofSeconds(10);

  private final PeerService service;

  LinkServer(PeerService service) {
    this.service = service;
  }

  /**
   * Listens on {@code host:port} (0 = any free port) and serves each call with {@code service};
   * completes with the bound port. Unbinds on coordinated shutdown.
   */
  public static CompletionStage<Integer> start(ActorSystem<?> system, String host, int port, String clusterToken,
      String apiToken, PeerService service) {
    Materializer mat = Materializer.matFromSystem(system);
    LinkServer server = new LinkServer(service);
    // the idle timeout counts what arrives (keep-alives included), not what is answered
    Flow<ByteString, ByteString, NotUsed> connection = Flow.of(ByteString.class).idleTimeout(IDLE_TIMEOUT)
        .via(Framing.simpleFramingProtocol(MAX_FRAME).reversed()
            .join(server.calls(Secret.of(clusterToken), Secret.of(apiToken))));
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
  Flow<ByteString, ByteString, NotUsed> calls(Secret clusterToken, Secret apiToken) {
    return Flow.of(ByteString.class)
        .filter(m -> !m.isEmpty())
        .prefixAndTail(1)
        .flatMapConcat(p -> {
          if (p.first().isEmpty()) return Source.<ByteString>empty();
          String refused = refusal(clusterToken, apiToken, p.first().get(0));
          if (refused != null) return Source.single(Frames.failure(0, Frames.Result.REFUSED, refused));
          // serve answers its own failures; should it ever throw, the connection fails, and with it
          // the caller's pending calls, at once rather than at their deadlines
          return p.second().mapAsyncUnordered(PARALLELISM, this::serve);
        });
  }

  /**
   * Why a hello is refused, or null. With a cluster token configured it is required; otherwise, with
   * an API token configured, that is required (the link carries forwarded client writes).
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

  /** One call: its answer, carrying the call's id; never a failed stage. */
  CompletionStage<ByteString> serve(ByteString msg) {
    Frames.Call call;
    try {
      call = Frames.readCall(msg);
    } catch (Wire.BadInput e) {
      // no id to answer to: answer id 0, which no caller waits for
      return CompletableFuture.completedFuture(Frames.failure(0, Frames.Result.BAD_INPUT, e.getMessage()));
    }
    CompletionStage<ByteString> answer;
    try {
      answer = switch (call.kind()) {
        case REPLICATE -> service.replicate(Frames.readEntries(call.body())).thenApply(Frames::applied);
        case READ -> service.copies(Frames.readKeys(call.body())).thenApply(Frames::copies);
        case FORWARD -> service.coordinate(Frames.readWrites(call.body())).thenApply(Frames::outcomes);
      };
    } catch (RuntimeException e) {
      answer = CompletableFuture.failedFuture(e);
    }
    int id = call.id();
    return answer.handle((body, err) -> err == null ? Frames.answer(id, Frames.Result.OK, body) : failure(id, err));
  }

  private static ByteString failure(int id, Throwable err) {
    Throwable e = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
    if (e instanceof Wire.BadInput) return Frames.failure(id, Frames.Result.BAD_INPUT, e.getMessage());
    log.debug("link call {} could not be served: {}", id, e.toString());
    return Frames.failure(id, Frames.Result.UNAVAILABLE, "could not serve the call: " + e);
  }
}
