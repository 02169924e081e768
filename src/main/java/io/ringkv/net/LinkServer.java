package io.ringkv.net;

import io.ringkv.util.Secret;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
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
 * ready. Everything a stranger can send is bounded: at most {@code LINK_MAX_CONNECTIONS} connections,
 * a first frame of at most {@link #MAX_HELLO} bytes within {@link #HELLO_TIMEOUT}, then frames of at
 * most {@link #MAX_FRAME} and silences of at most {@link #IDLE_TIMEOUT}; anything else closes the
 * connection. A hello without the tokens the cluster requires is answered {@code REFUSED} and the
 * connection closed; a call that cannot be read is answered {@code BAD_INPUT}, one that cannot be
 * served {@code UNAVAILABLE}, and the link stays up.
 */
public final class LinkServer {
  private static final Logger log = LoggerFactory.getLogger(LinkServer.class);
  /** Calls of one connection served at once; their answers go back as each completes. */
  public static final int PARALLELISM = 64;
  /** The largest frame either side accepts: a rebalance batch or a batch of replicas of large values. */
  static final int MAX_FRAME = 64 * 1024 * 1024 + 64;
  /** The largest first frame: a hello carries two tokens, nothing more. Nothing larger is buffered before it is checked. */
  static final int MAX_HELLO = 16 * 1024;
  /** A connection that has not said hello by then is closed. */
  static final Duration HELLO_TIMEOUT = Duration.ofSeconds(5);
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
      String apiToken, int maxConnections, PeerService service) {
    Materializer mat = Materializer.matFromSystem(system);
    LinkServer server = new LinkServer(service);
    Secret cluster = Secret.of(clusterToken);
    Secret api = Secret.of(apiToken);
    AtomicInteger open = new AtomicInteger();
    return Tcp.get(system).bind(host, port)
        .to(Sink.foreach(c -> {
          if (open.incrementAndGet() > maxConnections) {
            open.decrementAndGet();
            log.warn("link connection from {} closed: {} connections open already (LINK_MAX_CONNECTIONS)", c.remoteAddress(),
                maxConnections);
            c.handleWith(Flow.fromSinkAndSource(Sink.cancelled(), Source.empty()), mat);
            return;
          }
          c.handleWith(server.connection(cluster, api, c.remoteAddress())
              .watchTermination((nu, done) -> done.whenComplete((d, e) -> open.decrementAndGet())), mat);
        }))
        .run(mat)
        .thenApply(binding -> {
          CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(), "unbind-link",
              () -> binding.unbind().thenApply(u -> org.apache.pekko.Done.done()));
          return binding.localAddress().getPort();
        });
  }

  /** One connection's bytes: framed, silent for at most {@link #IDLE_TIMEOUT}, the hello checked, the calls served. */
  private Flow<ByteString, ByteString, NotUsed> connection(Secret clusterToken, Secret apiToken, InetSocketAddress from) {
    // the idle timeout counts what arrives (keep-alives included), not what is answered
    return Flow.of(ByteString.class).initialTimeout(HELLO_TIMEOUT).idleTimeout(IDLE_TIMEOUT)
        .via(helloSizeGuard())
        .via(Framing.simpleFramingProtocol(MAX_FRAME).reversed()
            .join(calls(clusterToken, apiToken, from.getAddress().isLoopbackAddress())));
  }

  /**
   * Fails the connection unless its first frame announces a length of 1 to {@link #MAX_HELLO} bytes:
   * a stranger cannot make the node buffer a large frame before its hello is checked.
   */
  static Flow<ByteString, ByteString, NotUsed> helloSizeGuard() {
    return Flow.of(ByteString.class).statefulMapConcat(() -> {
      ByteString[] head = {ByteString.emptyByteString()};
      return chunk -> {
        if (head[0] == null) return List.of(chunk);
        ByteString h = head[0].concat(chunk);
        if (h.size() < 4) {
          head[0] = h;
          return List.of();
        }
        int length = h.iterator().getInt(java.nio.ByteOrder.BIG_ENDIAN);
        if (length < 1 || length > MAX_HELLO)
          throw new Wire.BadInput("the first frame must be a hello of at most " + MAX_HELLO + " bytes, not " + length);
        head[0] = null;
        return List.of(h);
      };
    });
  }

  /** One connection's messages: the hello, then calls; keep-alives (empty frames) are dropped. */
  Flow<ByteString, ByteString, NotUsed> calls(Secret clusterToken, Secret apiToken, boolean fromLoopback) {
    return Flow.of(ByteString.class)
        .filter(m -> !m.isEmpty())
        .prefixAndTail(1)
        .flatMapConcat(p -> {
          if (p.first().isEmpty()) return Source.<ByteString>empty();
          String refused = refusal(clusterToken, apiToken, fromLoopback, p.first().get(0));
          if (refused != null) return Source.single(Frames.failure(0, Frames.Result.REFUSED, refused));
          // serve answers its own failures; should it ever throw, the connection fails, and with it
          // the caller's pending calls, at once rather than at their deadlines
          return p.second().mapAsyncUnordered(PARALLELISM, this::serve);
        });
  }

  /**
   * Why a hello is refused, or null. With a cluster token configured it is required. Without one the
   * node is in protected mode: only a peer on this machine (loopback) may connect, and with an API
   * token configured it must offer that (the link carries forwarded client writes).
   */
  static String refusal(Secret clusterToken, Secret apiToken, boolean fromLoopback, ByteString helloFrame) {
    Frames.Hello hello;
    try {
      hello = Frames.readHello(helloFrame);
    } catch (Wire.BadInput e) {
      return e.getMessage();
    }
    Optional<String> cluster = Optional.of(hello.clusterToken()).filter(t -> !t.isEmpty());
    Optional<String> api = Optional.of(hello.apiToken()).filter(t -> !t.isEmpty());
    if (clusterToken != null) return clusterToken.matches(cluster) ? null : "this link is for cluster members: a valid cluster token is required";
    if (!fromLoopback) return "this link is for cluster members: CLUSTER_TOKEN is not set, so only peers on this machine may connect";
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
        case FORWARD -> service.coordinate(Frames.readForwards(call.body())).thenApply(Frames::outcomes);
        case TREE -> service.tree(Frames.readTreeQuery(call.body())).thenApply(Frames::longs);
        case KEYS -> service.keyVersions(Frames.readSegmentQuery(call.body())).thenApply(Frames::keyVersions);
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
