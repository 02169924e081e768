package io.ringkv.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.config.NodeSettings;
import io.ringkv.controller.Controller;
import io.ringkv.controller.ControllerApi;
import io.ringkv.cluster.MembershipReply;
import io.ringkv.metrics.NodeMetrics;
import io.ringkv.net.ControlPlane;
import io.ringkv.net.NodeStatuses;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import io.ringkv.worker.Limits;
import java.util.function.Function;
import io.ringkv.net.Wire;
import org.apache.pekko.http.javadsl.server.Route;

/** The controller's REST surface: the seed's {@code /register}, {@code /heartbeat}, {@code /nodes}, {@code /mapping}, plus {@code /ring}. */
public final class ControllerRoutes extends JsonRoutes {
  private final ControllerApi api;
  private final NodeStatuses statuses;
  private final NodeMetrics metrics;
  private final NodeSettings settings;

  public ControllerRoutes(ControllerApi api, NodeSettings settings) {
    this(api, settings, NodeMetrics.OFF);
  }

  /** As above, with the controller's metrics on {@code GET /metrics}. */
  public ControllerRoutes(ControllerApi api, NodeSettings settings, NodeMetrics metrics) {
    super(settings.clusterToken(), 4L * 1024 * 1024);
    this.api = api;
    this.settings = settings;
    this.metrics = metrics;
    this.statuses = new NodeStatuses(settings.clusterToken(), settings.apiToken());
  }

  private Route page() {
    return complete(org.apache.pekko.http.javadsl.model.HttpEntities.create(
        org.apache.pekko.http.javadsl.model.ContentTypes.TEXT_HTML_UTF8, RingPage.HTML));
  }

  /**
   * The ring page's data: the view, each member's share of the ring, and what each UP worker's
   * {@code /status} says (read by this controller, each within a second; absent if it did not answer).
   */
  private Route cluster() {
    return onSuccess(api.nodes().thenCompose(n -> statuses.fetch(n.view(), Duration.ofSeconds(1)).thenApply(s -> Map.entry(n, s))), x -> {
      Controller.Nodes n = x.getKey();
      Map<String, JsonNode> statuses = x.getValue();
      Map<String, double[]> shares = n.view().ring().shares(settings.replicationFactor());
      double now = System.currentTimeMillis() / 1000.0;
      ObjectNode o = Wire.NODES.objectNode();
      o.put("epoch", n.view().epoch());
      o.put("replication_factor", settings.replicationFactor());
      ArrayNode nodes = o.putArray("nodes");
      for (var m : n.view().members().values()) {
        ObjectNode e = nodes.addObject();
        e.put("id", m.id());
        e.put("host", m.host());
        e.put("port", m.port());
        e.put("status", m.isUp() ? "UP" : "DOWN");
        Double seen = n.lastSeen().get(m.id());
        if (seen != null) e.put("last_heard_s", Math.round((now - seen) * 10) / 10.0);
        double[] share = shares.getOrDefault(m.id(), new double[2]);
        e.put("primary_share", share[0]);
        e.put("owner_share", share[1]);
        JsonNode s = statuses.get(m.id());
        if (s == null) continue;
        ObjectNode w = e.putObject("worker");
        for (String f : List.of("keys", "tombstones", "epoch", "rebalancing", "joining", "rebalances", "keys_moved")) w.set(f, s.path(f));
        if (s.has("rebalance")) w.set("rebalance", s.get("rebalance"));
        w.set("hints", s.path("hints").path("pending"));
        w.set("keys_repaired", s.path("anti_entropy").path("keys_repaired"));
        if (s.path("anti_entropy").has("round")) w.set("repair_round", s.path("anti_entropy").get("round"));
      }
      return json(200, o);
    });
  }

  /** The Prometheus text exposition: the view's epoch, members by status, and how long ago each UP worker was heard. */
  private Route metrics() {
    if (!metrics.enabled()) return complete(Errors.detail(404, "metrics are off (METRICS=off)"));
    return onSuccess(api.nodes(), n -> {
      double now = System.currentTimeMillis() / 1000.0;
      metrics.set("ringkv_view_epoch", "The epoch of the controller's view", n.view().epoch());
      long up = n.view().members().values().stream().filter(m -> m.isUp()).count();
      metrics.set("ringkv_members", "Workers in the view, by status", up, "status", "UP");
      metrics.set("ringkv_members", "Workers in the view, by status", n.view().members().size() - up, "status", "DOWN");
      for (var m : n.view().members().values()) {
        Double seen = n.lastSeen().get(m.id());
        long lagMillis = !m.isUp() || seen == null ? -1 : Math.max(0, Math.round((now - seen) * 1000));
        metrics.set("ringkv_heartbeat_lag_ms", "Milliseconds since each worker's last heartbeat (-1: DOWN)", lagMillis,
            "worker", m.id());
      }
      return complete(prometheusText(metrics.scrape()));
    });
  }

  public Route routes() {
    return Errors.handled(concat(
        path("register", () -> post(() -> clusterOnly(() -> jsonBody(this::register)))),
        path("heartbeat", () -> post(() -> clusterOnly(() -> jsonBody(this::heartbeat)))),
        path("leave", () -> post(() -> clusterOnly(() -> jsonBody(this::leave)))),
        path("nodes", () -> get(this::nodes)),
        path("metrics", () -> get(this::metrics)),
        path("cluster", () -> get(this::cluster)),
        pathEndOrSingleSlash(() -> get(this::page)),
        path("ui", () -> get(this::page)),
        path("mapping", () -> get(() -> keyParam(Limits.of(settings), this::mapping))),
        path("ring", () -> get(this::ring)),
        pathPrefix("health", () -> get(() -> concat(
            pathEnd(() -> onSuccess(api.view(), v -> {
              ObjectNode o = Wire.NODES.objectNode();
              o.put("status", "ok");
              o.put("role", "controller");
              o.put("epoch", v.epoch());
              o.put("up", v.upCount());
              return json(200, o);
            })),
            path("ready", () -> json(200, Wire.NODES.objectNode().put("status", "ready"))),
            path("live", () -> json(200, Wire.NODES.objectNode().put("status", "live"))))))));
  }

  private Route register(JsonNode body) {
    ObjectNode o = Wire.object(body);
    String id = Wire.requiredString(o, "node_id");
    if (id.isBlank()) throw new Wire.BadInput("field 'node_id' must not be empty");
    String host = Wire.requiredString(o, "host");
    if (host.isBlank()) throw new Wire.BadInput("field 'host' must not be empty");
    int port = Wire.requiredPort(o, "port");
    String instance = Wire.optionalString(o, "instance", null);
    ClusterView last = o.hasNonNull("view") ? Wire.readView(o.get("view"), settings.vnodes()) : null;
    return onSuccess(api.register(new ControlPlane.Registration(id, host, port, instance, last)), r -> accepted(r, view -> {
      ObjectNode out = Wire.NODES.objectNode();
      out.put("status", "registered");
      out.put("node_id", id);
      out.put("epoch", view.epoch());
      out.set("view", Wire.view(view));
      out.put("now_ms", ((MembershipReply.Accepted) r).controllerMillis());
      if (((MembershipReply.Accepted) r).rejoinEmpty()) out.put("rejoin_empty", true);
      return json(200, out);
    }));
  }

  private Route heartbeat(JsonNode body) {
    ObjectNode o = Wire.object(body);
    String id = Wire.requiredString(o, "node_id");
    String instance = Wire.optionalString(o, "instance", null);
    long epoch = Wire.optionalLong(o, "epoch", 0);
    long settled = Wire.optionalLong(o, "settled", 0);
    return onSuccess(api.heartbeat(new ControlPlane.Heartbeat(id, instance, epoch, settled)), r -> {
      if (!(r instanceof MembershipReply.Alive alive)) return refused(r);
      ObjectNode out = Wire.NODES.objectNode();
      out.put("status", "ok");
      out.put("epoch", alive.epoch());
      out.put("now_ms", alive.controllerMillis());
      out.put("settled_everywhere", alive.settledEverywhere());
      return json(200, out);
    });
  }

  private Route leave(JsonNode body) {
    ObjectNode o = Wire.object(body);
    String id = Wire.requiredString(o, "node_id");
    String instance = Wire.requiredString(o, "instance");   // the leaving process's own, from its registration
    return onSuccess(api.leave(id, instance), r -> accepted(r, view -> {
      ObjectNode out = Wire.NODES.objectNode();
      out.put("status", "left");
      out.put("node_id", id);
      out.put("epoch", view.epoch());
      out.set("view", Wire.view(view));
      return json(200, out);
    }));
  }

  /** An accepted registration or leave through {@code ok}; a refusal as its status. */
  private Route accepted(MembershipReply r, Function<ClusterView, Route> ok) {
    return r instanceof MembershipReply.Accepted a ? ok.apply(a.view()) : refused(r);
  }

  /** The controller's refusals as HTTP: 404 for a node it does not know, 409 for an id another process holds. */
  private Route refused(MembershipReply r) {
    if (r instanceof MembershipReply.UnknownNode u) return complete(Errors.detail(404, u.detail()));
    if (r instanceof MembershipReply.Conflict c) return complete(Errors.detail(409, c.detail()));
    throw new IllegalStateException("not a refusal: " + r);
  }

  private Route nodes() {
    return onSuccess(api.nodes(), (Controller.Nodes n) -> {
      ObjectNode out = Wire.NODES.objectNode();
      ObjectNode nodes = out.putObject("nodes");
      for (Member m : n.view().members().values()) {
        ObjectNode mn = nodes.putObject(m.id());
        mn.put("host", m.host());
        mn.put("port", m.port());
        mn.put("ts", n.lastSeen().getOrDefault(m.id(), 0.0));
        mn.put("status", m.status().name());
      }
      out.put("epoch", n.view().epoch());
      return json(200, out);
    });
  }

  private Route mapping(String key) {
    return onSuccess(api.view(), v -> {
      if (v.upCount() == 0) return complete(Errors.detail(503, "no UP workers"));
      ObjectNode out = Wire.NODES.objectNode();
      out.put("key", key);
      ArrayNode arr = out.putArray("mapping");
      for (Member m : v.owners(key, api.replicationFactor())) {
        ObjectNode mn = arr.addObject();
        mn.put("node_id", m.id());
        mn.put("host", m.host());
        mn.put("port", m.port());
      }
      out.put("epoch", v.epoch());
      return json(200, out);
    });
  }

  private Route ring() {
    return onSuccess(api.view(), v -> {
      ObjectNode out = Wire.view(v);
      out.put("replication_factor", api.replicationFactor());
      out.put("vnodes", settings.vnodes());
      return json(200, out);
    });
  }
}
