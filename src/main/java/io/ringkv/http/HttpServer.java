package io.ringkv.http;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Binds a node's routes and unbinds them on coordinated shutdown. */
public final class HttpServer {
  private static final Logger log = LoggerFactory.getLogger(HttpServer.class);

  private HttpServer() {}

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
    CompletionStage<ServerBinding> bound = Http.get(system).newServerAt(host, port)
        .adaptSettings(st -> adapt(st, maxKeyBytes(system)))
        .bind(route);
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
