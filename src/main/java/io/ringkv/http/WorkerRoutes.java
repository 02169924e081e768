package io.ringkv.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ringkv.cluster.ClusterView;
import io.ringkv.config.NodeSettings;
import io.ringkv.net.HttpPeers;
import io.ringkv.net.Peers.WriteResult;
import io.ringkv.net.Wire;
import io.ringkv.storage.Versioned;
import io.ringkv.worker.ReadResult;
import io.ringkv.worker.WorkerApi;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntSupplier;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/** A worker's REST surface: the seed's {@code /kv}, {@code /replicate}, {@code /node_down}, {@code /status}, extended. */
public final class WorkerRoutes extends JsonRoutes {
  private final WorkerApi api;
  private final NodeSettings settings;
  private final Consumer<Boolean> onStop;
  private final PeerEndpoints peer;
  private final IntSupplier linkPort;

  /**
   * {@code onStop}, when not null, serves {@code POST /admin/stop} (local mode: stop this worker only;
   * {@code ?mode=crash} stops it without leaving, as a kill -9 would). It is given whether to crash.
   * {@code linkPort} is the port other workers dial for the node-to-node link (0 while not listening).
   */
  public WorkerRoutes(WorkerApi api, NodeSettings settings, Consumer<Boolean> onStop, IntSupplier linkPort) {
    super(settings.clusterToken(), settings.apiToken(), 8L * 1024 * 1024 + 6L * settings.maxValueBytes());
    this.api = api;
    this.settings = settings;
    this.onStop = onStop;
    this.peer = new PeerEndpoints(api, settings);
    this.linkPort = linkPort;
  }

  /** What the node-to-node link ({@link io.ringkv.net.LinkServer}) serves: one call in, its answer out. */
  public Function<ByteString, CompletionStage<ByteString>> linkCalls() {
    return peer::serve;
  }

  public Route routes() {
    return Errors.handled(concat(
        path("kv", () -> clientAuthorized(() -> concat(
            get(() -> keyParam(settings.maxKeyBytes(), key -> parameterOptional("local", local -> read(key, local)))),
            put(() -> forwardedFrom(forwarded -> jsonBody(body -> write(body, forwarded)))),
            post(() -> forwardedFrom(forwarded -> jsonBody(body -> write(body, forwarded)))),
            delete(() -> keyParam(settings.maxKeyBytes(), key -> forwardedFrom(forwarded -> remove(key, forwarded))))))),
        path("replicate", () -> clusterOnly(() -> concat(
            post(() -> jsonBody(body -> answer(peer.replicate(body)))),
            get(() -> keyParam(settings.maxKeyBytes(), this::fetch))))),
        path(PathMatchers.segment("replicate").slash("read"), () -> post(() -> clusterOnly(() -> jsonBody(body -> answer(peer.readMany(body)))))),
        path("forward", () -> post(() -> clusterOnly(() -> clientAuthorized(() -> jsonBody(body -> answer(peer.forward(body))))))),
        // the node-to-node link: the three batch endpoints above as calls on one TCP connection to the
        // port this names; GET /peer is its WebSocket form, which the previous release's workers use
        path(PathMatchers.segment("peer").slash("link"), () -> get(() -> clusterOnly(() -> clientAuthorized(this::link)))),
        path("peer", () -> get(() -> clusterOnly(() -> clientAuthorized(() -> extractMaterializer(mat ->
            handleWebSocketMessages(peer.socket(mat))))))),
        path("node_down", () -> post(() -> clusterOnly(() -> jsonBody(this::nodeDown)))),
        path("status", () -> get(this::status)),
        pathPrefix("health", () -> get(() -> concat(
            pathEnd(() -> {
              ObjectNode o = Wire.NODES.objectNode();
              o.put("status", "ok");
              o.put("role", "worker");
              o.put("node_id", api.nodeId());
              return json(200, o);
            }),
            path("ready", this::ready),
            path("live", () -> json(200, Wire.NODES.objectNode().put("status", "live").put("node_id", api.nodeId())))))),
        adminStop()));
  }

  /**
   * A single write forwarded with the forwarded header: how workers of the previous release route
   * to the primary (this release batches them on {@code POST /forward}); kept so that a rolling
   * upgrade mixes both.
   */
  private Route forwardedFrom(java.util.function.Function<Boolean, Route> inner) {
    return optionalHeaderValueByName(HttpPeers.FORWARDED_HEADER, fwd -> optionalHeaderValueByName(HttpPeers.TOKEN_HEADER,
        token -> inner.apply(fwd.isPresent() && hasClusterToken(token))));
  }

  private Route read(String key, Optional<String> local) {
    boolean localOnly = local.map(v -> v.equals("true") || v.equals("1") || v.isEmpty()).orElse(false);
    if (localOnly) {
      return onSuccess(api.local(key), v -> found(key, v, List.of(api.nodeId())));
    }
    return onSuccess(api.read(key), (ReadResult r) -> r.ok()
        ? found(key, r.newest(), r.answeredBy())
        : complete(Errors.detail(r.status(), r.detail())));
  }

  private Route found(String key, Optional<Versioned> v, List<String> from) {
    ObjectNode o = Wire.NODES.objectNode();
    boolean live = v.isPresent() && !v.get().isTombstone();
    o.put("found", live);
    o.put("key", key);
    if (live) {
      o.put("value", v.get().value());
      o.put("version", v.get().version().toString());
    } else {
      o.put("detail", v.isPresent() ? "key was deleted" : "key not found");
    }
    ArrayNode arr = o.putArray("read_from");
    from.forEach(arr::add);
    return json(live ? 200 : 404, o);
  }

  private Route write(JsonNode body, boolean forwarded) {
    ObjectNode o = Wire.object(body);
    String key = checkKey(Wire.requiredString(o, "key"), settings.maxKeyBytes());
    String value = peer.checkValue(Wire.requiredString(o, "value"));
    return written(key, api.write(key, value, forwarded), false);
  }

  private Route remove(String key, boolean forwarded) {
    return written(key, api.write(key, null, forwarded), true);
  }

  private Route written(String key, CompletionStage<WriteResult> result, boolean delete) {
    return onSuccess(result, r -> {
      ObjectNode o = Wire.NODES.objectNode();
      if (r.ok()) o.put("status", "ok");
      else o.put("detail", r.detail());
      o.put("key", key);
      if (delete) o.put("deleted", r.ok());
      o.put("replicas_acked", r.ackedBy().size());
      ArrayNode arr = o.putArray("acked_by");
      r.ackedBy().forEach(arr::add);
      if (r.version() != null) o.put("version", r.version());
      return json(r.status(), o);
    });
  }

  /** {@code GET /peer/link}: the port of this worker's node-to-node link, as other workers should dial it. */
  private Route link() {
    int port = linkPort.getAsInt();
    if (port == 0) return complete(Errors.detail(503, "the node-to-node link is not listening yet"));
    return json(200, Wire.NODES.objectNode().put("port", port));
  }

  private Route fetch(String key) {
    return onSuccess(api.local(key), v -> {
      ObjectNode o = Wire.NODES.objectNode();
      o.put("key", key);
      o.put("found", v.isPresent() && !v.get().isTombstone());
      v.ifPresent(x -> {
        if (x.isTombstone()) o.put("tombstone", true);
        else o.put("value", x.value());
        o.put("version", x.version().toString());
      });
      return json(200, o);
    });
  }

  /** A batch endpoint's answer: 200 with its body (bad input has become a 4xx before). */
  private Route answer(CompletionStage<JsonNode> body) {
    return onSuccess(body, r -> json(200, r));
  }

  private Route nodeDown(JsonNode body) {
    ObjectNode o = Wire.object(body);
    ObjectNode r = Wire.NODES.objectNode();
    r.put("status", "ok");
    r.put("node_id", api.nodeId());
    if (o.has("nodes")) {
      ClusterView view = Wire.readView(o, settings.vnodes());
      api.applyView(view);
      r.put("epoch", view.epoch());
    } else {
      Wire.requiredString(o, "node_id");   // the seed's {"node_id": ...} notice: fetch the view from the controller
      api.syncView();
    }
    return json(200, r);
  }

  private Route status() {
    return onSuccess(api.status(), s -> {
      ObjectNode o = Wire.NODES.objectNode();
      o.put("node_id", s.worker().nodeId());
      o.put("keys", s.liveKeys());
      o.put("tombstones", s.storedEntries() - s.liveKeys());
      o.put("epoch", s.worker().view().epoch());
      o.put("rebalancing", s.worker().rebalancing());
      o.put("rebalances", s.worker().rebalances());
      o.put("keys_moved", s.worker().keysMoved());
      o.put("keys_handed_off", s.worker().keysHandedOff());
      o.put("membership", s.worker().membership());
      ArrayNode up = o.putArray("up_nodes");
      s.worker().view().ring().nodes().forEach(up::add);
      o.put("replication_factor", settings.replicationFactor());
      o.put("write_quorum", settings.writeQuorum());
      o.put("read_quorum", settings.readQuorum());
      return json(200, o);
    });
  }

  /** Ready to serve: registered with the controller and not leaving. */
  private Route ready() {
    return onSuccess(api.status(), s -> {
      boolean ready = s.worker().membership().equals("registered") && !s.worker().leaving();
      ObjectNode o = Wire.NODES.objectNode();
      o.put("status", ready ? "ready" : "not ready");
      o.put("node_id", api.nodeId());
      o.put("membership", s.worker().leaving() ? "leaving" : s.worker().membership());
      return json(ready ? 200 : 503, o);
    });
  }

  private Route adminStop() {
    if (onStop == null) return reject();
    return pathPrefix("admin", () -> path("stop", () -> post(() -> parameterOptional("mode", mode -> {
      boolean crash = mode.map("crash"::equals).orElse(false);
      onStop.accept(crash);
      ObjectNode o = Wire.NODES.objectNode();
      o.put("status", crash ? "crashing" : "leaving");
      o.put("node_id", api.nodeId());
      return json(200, o);
    }))));
  }
}
