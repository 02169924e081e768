package io.ringkv.bench;

import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;

/**
 * The ceiling of the framework the nodes are built on: Pekko HTTP, with the nodes' configuration,
 * answering every request with a fixed 200 and no routing (bench/framework.sh). What a node does
 * per request costs on top of this.
 *
 * <p>{@code java -cp target/ringkv.jar io.ringkv.bench.FrameworkCeiling PORT}
 */
public final class FrameworkCeiling {
  private FrameworkCeiling() {}

  public static void main(String[] args) {
    int port = Integer.parseInt(args[0]);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "ceiling");
    HttpResponse ok = HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, "{\"status\":\"ok\"}");
    Http.get(system).newServerAt("127.0.0.1", port).bindSync(request -> {
      request.discardEntityBytes(system);
      return ok;
    });
  }
}
