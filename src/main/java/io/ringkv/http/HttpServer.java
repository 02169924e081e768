package io.ringkv.http;

import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Binds a node's routes and unbinds them on coordinated shutdown. */
public final class HttpServer {
  private static final Logger log = LoggerFactory.getLogger(HttpServer.class);

  private HttpServer() {}

  public static CompletionStage<ServerBinding> start(ActorSystem<?> system, String host, int port, Route route) {
    return Http.get(system).newServerAt(host, port).bind(route).whenComplete((binding, err) -> {
      if (err != null) {
        log.error("{} could not bind {}:{}: {}", system.name(), host, port, err.getMessage());
      } else {
        log.info("{} listening on {}", system.name(), binding.localAddress());
        binding.addToCoordinatedShutdown(Duration.ofSeconds(5), system);
      }
    });
  }
}
