package io.ringkv.http;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import io.ringkv.metrics.NodeMetrics;
import io.ringkv.util.Stages;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Binds a node's routes and unbinds them on coordinated shutdown. */
public final class HttpServer {
  private static final Logger log = LoggerFactory.getLogger(HttpServer.class);

  private HttpServer() {}

  private static Function<HttpRequest, CompletionStage<HttpResponse>> timed(Function<HttpRequest, CompletionStage<HttpResponse>> inner,
      NodeMetrics metrics) {
    return req -> {
      long t0 = System.nanoTime();
      return Stages.plain(inner.apply(req)).thenApply(res -> {
        metrics.request(req.getUri().path(), req.method().value(), res.status().intValue(), System.nanoTime() - t0);
        return res;
      });
    };
  }

  private static int maxKeyBytes(ActorSystem<?> system) {
    var config = system.settings().config();
    return config.hasPath("ringkv.limits.max-key-bytes") ? config.getInt("ringkv.limits.max-key-bytes") : 1024;
  }

  /**
   * A URI must fit the longest key percent-encoded (3 characters a byte) plus the path, and errors
   * the parser answers before any route runs (URI too long, bad request line) are JSON too.
   */
  private static ServerSettings adapt(ServerSettings s, int maxKeyBytes) {
    int uri = Math.max(s.getParserSettings().getMaxUriLength(), 3 * maxKeyBytes + 512);
    return s.withParserSettings(s.getParserSettings().withMaxUriLength(uri))
        .withParsingErrorHandler(Errors.JsonParsingErrors.class.getName());
  }

  public static CompletionStage<ServerBinding> start(ActorSystem<?> system, String host, int port, Route route) {
    return start(system, host, port, route, NodeMetrics.OFF);
  }

  /** As above, every request counted and timed in {@code metrics} (by route, method and status). */
  public static CompletionStage<ServerBinding> start(ActorSystem<?> system, String host, int port, Route route,
      NodeMetrics metrics) {
    return start(system, host, port, route.handler(system), metrics);
  }

  /** Binds a request handler (a worker's: {@code /kv} on the low-level API, the rest through its routes). */
  public static CompletionStage<ServerBinding> start(ActorSystem<?> system, String host, int port,
      Function<HttpRequest, CompletionStage<HttpResponse>> handler, NodeMetrics metrics) {
    CompletionStage<ServerBinding> bound = Http.get(system).newServerAt(host, port)
        .adaptSettings(st -> adapt(st, maxKeyBytes(system)))
        .bind(metrics.enabled() ? timed(handler, metrics) : handler);
    return bound.whenComplete((binding, err) -> {
      if (err != null) {
        log.error("{} could not bind {}:{}: {}", system.name(), host, port, err.getMessage());
      } else {
        log.info("{} listening on {}", system.name(), binding.localAddress());
        binding.addToCoordinatedShutdown(Duration.ofSeconds(5), system);
      }
    });
  }
}
