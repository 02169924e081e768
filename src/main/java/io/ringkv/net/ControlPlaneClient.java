package io.ringkv.net;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.cluster.MembershipReply;
import io.ringkv.config.NodeSettings;
import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * {@link ControlPlane} over HTTP: a worker's registration, heartbeats, view fetches and leave on the
 * controller's endpoints, and the controller's view pushes on the workers' {@code POST /node_down}.
 * The controller's refusals (404: unknown node, 409: another process holds the id) come back as
 * {@link MembershipReply} values; any other failure fails the stage.
 */
public final class ControlPlaneClient implements ControlPlane {
  private final JsonHttpClient http;
  private final String controller;
  private final int vnodes;
  private final Duration timeout;

  public ControlPlaneClient(NodeSettings settings) {
    this.http = new JsonHttpClient(settings.clusterToken(), settings.apiToken());
    this.controller = settings.controllerAddr();
    this.vnodes = settings.vnodes();
    this.timeout = settings.peerTimeout();
  }

  @Override
  public CompletionStage<MembershipReply> register(Registration reg) {
    ObjectNode body = node(reg.nodeId(), reg.instance()).put("host", reg.host()).put("port", reg.port());
    if (reg.lastView() != null && reg.lastView().epoch() > 0) body.set("view", Wire.view(reg.lastView()));
    return http.post(controller + "/register", body, timeout).thenApply(a -> reply(a, "/register", true));
  }

  @Override
  public CompletionStage<MembershipReply> heartbeat(Heartbeat hb) {
    return http.post(controller + "/heartbeat", node(hb.nodeId(), hb.instance()).put("epoch", hb.epoch())
        .put("settled", hb.settled()), timeout).thenApply(a -> reply(a, "/heartbeat", false));
  }

  @Override
  public CompletionStage<MembershipReply> leave(String nodeId, String instance) {
    return http.post(controller + "/leave", node(nodeId, instance), timeout).thenApply(a -> reply(a, "/leave", true));
  }

  @Override
  public CompletionStage<ClusterView> fetchView() {
    return http.get(controller + "/ring", timeout).thenApply(a -> Wire.readView(a.ok("/ring"), vnodes));
  }

  @Override
  public CompletionStage<Void> pushView(Member to, ClusterView view) {
    return http.post(to.url() + "/node_down", Wire.view(view), timeout).thenAccept(a -> a.ok(to.id() + "/node_down"));
  }

  private static ObjectNode node(String nodeId, String instance) {
    return Wire.NODES.objectNode().put("node_id", nodeId).put("instance", instance);
  }

  /** The controller's answer as a value: its view (or epoch, for a heartbeat), or its refusal. */
  private MembershipReply reply(JsonHttpClient.Answer a, String path, boolean withView) {
    if (a.status() == 404) return new MembershipReply.UnknownNode(a.detail());
    if (a.status() == 409) return new MembershipReply.Conflict(a.detail());
    JsonNode body = a.ok(controller + path);
    long now = body.path("now_ms").asLong(MembershipReply.NO_CLOCK);
    return withView ? new MembershipReply.Accepted(Wire.readView(body.get("view"), vnodes), now,
        body.path("rejoin_empty").asBoolean(false))
        : new MembershipReply.Alive(body.path("epoch").asLong(), now, body.path("settled_everywhere").asLong(0));
  }
}
