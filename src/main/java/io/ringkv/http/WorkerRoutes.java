package io.ringkv.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ringkv.config.NodeSettings;
import io.ringkv.metrics.NodeMetrics;
import io.ringkv.net.Wire;
import io.ringkv.net.WriteOutcome;
import io.ringkv.storage.Applied;
import io.ringkv.worker.AntiEntropy;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Durability;
import io.ringkv.storage.HybridClock;
import io.ringkv.worker.Limits;
import io.ringkv.worker.ReadOutcome;
import io.ringkv.worker.Worker;
import io.ringkv.worker.WorkerApi;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.IntSupplier;
import org.apache.pekko.actor.ClassicActorSystemProvider;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/** A worker's REST surface: the seed's {@code /kv}, {@code /replicate}, {@code /node_down}, {@code /status}, extended. */
public final class WorkerRoutes extends JsonRoutes {
  private final WorkerApi api;
  private final NodeSettings settings;
  private final Limits limits;
  private final Consumer<Boolean> onStop;
  private final IntSupplier linkPort;
  private final NodeMetrics metrics;
  private final KvAnswers answers;

  /**
   * {@code onStop}, when not null, serves {@code POST /admin/stop} (local mode: stop this worker only;
   * {@code ?mode=crash} stops it without leaving, as a kill -9 would). It is given whether to crash.
   * {@code linkPort} is the port other workers dial for the node-to-node link (0 while not listening).
   */
  public WorkerRoutes(WorkerApi api, NodeSettings settings, Consumer<Boolean> onStop, IntSupplier linkPort) {
    this(api, settings, onStop, linkPort, NodeMetrics.OFF);
  }

  /** As above, with the node's metrics served on {@code GET /metrics} and the client operations' quorum outcomes counted. */
  public WorkerRoutes(WorkerApi api, NodeSettings settings, Consumer<Boolean> onStop, IntSupplier linkPort,
      NodeMetrics metrics) {
    super(settings.clusterToken(), settings.apiToken(), maxBodyBytes(settings));
    this.api = api;
    this.settings = settings;
    this.limits = api.limits();
    this.onStop = onStop;
    this.linkPort = linkPort;
    this.metrics = metrics;
    this.answers = new KvAnswers(metrics);
  }

  /**
   * What the HTTP server runs: {@code /kv}'s ordinary requests on the {@link KvFastPath}, everything
   * else (and every error) through {@link #routes}.
   */
  public org.apache.pekko.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>> handler(ClassicActorSystemProvider system) {
    return new KvFastPath(api::read, api::write, answers, settings.apiToken(), settings.clusterToken(), maxBodyBytes(), routes().handler(system));
  }

  /** The largest body a write may have: a value of MAX_VALUE_BYTES, every character escaped, and room for the rest. */
  private static long maxBodyBytes(NodeSettings settings) {
    return 8L * 1024 * 1024 + 6L * settings.maxValueBytes();
  }

  private long maxBodyBytes() {
    return maxBodyBytes(settings);
  }

  public Route routes() {
    return Errors.handled(concat(
        path("kv", () -> clientAuthorized(() -> concat(
            get(() -> keyParam(limits, key -> parameterOptional("local", local -> read(key, local)))),
            put(() -> jsonBody(this::write)),
            post(() -> jsonBody(this::write)),
            delete(() -> keyParam(limits, this::remove))))),
        path("replicate", () -> clusterOnly(() -> concat(
            post(() -> jsonBody(this::replicate)),
            get(() -> keyParam(limits, this::fetch))))),
        // where the node-to-node link listens (a TCP port of its own: replicas, replica reads, forwarded writes)
        path(PathMatchers.segment("peer").slash("link"), () -> get(() -> clusterOnly(() -> clientAuthorized(this::link)))),
        path("node_down", () -> post(() -> clusterOnly(() -> jsonBody(this::nodeDown)))),
        path("metrics", () -> get(this::metrics)),
        path("status", () -> get(() -> parameterOptional("ranges", ranges -> status("true".equals(ranges.orElse("")))))),
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

  private Route read(String key, Optional<String> local) {
    boolean localOnly = local.map(v -> v.equals("true") || v.equals("1") || v.isEmpty()).orElse(false);
    if (localOnly) {
      return onSuccess(api.local(key), v -> complete(KvAnswers.found(key, v, List.of(api.nodeId()))));
    }
    return onSuccess(api.read(key), (ReadOutcome r) -> complete(answers.read(key, r)));
  }

  private Route write(JsonNode body) {
    ObjectNode o = Wire.object(body);
    String key = Wire.requiredString(o, "key");
    return written(key, api.write(key, Wire.requiredString(o, "value")), false);
  }

  private Route remove(String key) {
    return written(key, api.write(key, null), true);
  }

  private Route written(String key, CompletionStage<WriteOutcome> outcome, boolean delete) {
    return onSuccess(outcome, r -> complete(answers.written(key, r, delete)));
  }

  /** The Prometheus text exposition, with the state of the actors copied into gauges first. */
  private Route metrics() {
    if (!metrics.enabled()) return complete(Errors.detail(404, "metrics are off (METRICS=off)"));
    return onSuccess(api.status(), s -> {
      Worker.Status w = s.worker();
      metrics.set("ringkv_keys", "Live keys this worker holds", s.liveKeys());
      metrics.set("ringkv_tombstones", "Tombstones this worker holds", s.storedEntries() - s.liveKeys());
      metrics.set("ringkv_view_epoch", "The epoch of this worker's view", w.view().epoch());
      metrics.set("ringkv_up_workers", "Workers UP in this worker's view", w.view().ring().nodes().size());
      metrics.set("ringkv_joining", "1 while this worker has not received its data", w.joining() ? 1 : 0);
      metrics.set("ringkv_rebalancing", "1 while a rebalance is under way", w.rebalancing() ? 1 : 0);
      metrics.set("ringkv_rebalances", "Rebalances started", w.rebalances());
      metrics.set("ringkv_rebalance_keys_moved", "Keys this worker pushed to new owners", w.keysMoved());
      metrics.set("ringkv_rebalance_keys_handed_off", "Keys this worker dropped once their new owners had them", w.keysHandedOff());
      metrics.set("ringkv_rebalance_entries_to_push", "Entries the last rebalance plan of this worker pushes", w.progress().entriesToPush());
      metrics.set("ringkv_rebalance_entries_pushed", "Entries of that plan pushed so far", w.progress().entriesPushed());
      metrics.set("ringkv_hints_pending", "Hints held for owners that missed a write", s.hints().pending());
      metrics.set("ringkv_hints_bytes", "Bytes of keys and values of the hints held", s.hints().bytes());
      metrics.set("ringkv_hints_delivered", "Hints delivered", s.hints().delivered());
      metrics.set("ringkv_hints_dropped", "Hints dropped (full, or older than HINT_WINDOW)", s.hints().dropped());
      AntiEntropy.Report a = s.antiEntropy();
      metrics.set("ringkv_antientropy_rounds", "Anti-entropy rounds completed", a.rounds());
      metrics.set("ringkv_antientropy_exchanges", "Anti-entropy exchanges run", a.exchanges());
      metrics.set("ringkv_antientropy_failed_exchanges", "Anti-entropy exchanges that failed", a.failedExchanges());
      metrics.set("ringkv_antientropy_keys_repaired", "Keys anti-entropy copied to a replica that lacked them", a.keysRepaired());
      metrics.set("ringkv_antientropy_bytes", "Bytes of anti-entropy's calls", a.treeBytes(), "kind", "trees");
      metrics.set("ringkv_antientropy_bytes", "Bytes of anti-entropy's calls", a.keyBytes(), "kind", "key_listings");
      metrics.set("ringkv_antientropy_bytes", "Bytes of anti-entropy's calls", a.entryBytes(), "kind", "entries");
      metrics.set("ringkv_antientropy_ranges_owned", "Ranges this worker owns", a.ranges().size());
      metrics.set("ringkv_antientropy_ranges_exchanged", "Owned ranges exchanged with every other owner",
          a.ranges().stream().filter(AntiEntropy.RangeState::complete).count());
      metrics.set("ringkv_clock_refused_ahead", "Versions refused as too far ahead of this node's clock", s.clock().refused());
      return complete(JsonRoutes.prometheusText(metrics.scrape()));
    });
  }

  /**
   * {@code POST /replicate}: a batch {@code {"entries": [...]}} of versioned entries, or the seed's
   * unversioned {@code {"key", "value"}}, stamped here.
   */
  private Route replicate(JsonNode body) {
    ObjectNode o = Wire.object(body);
    List<Entry> entries = new ArrayList<>();
    if (o.has("entries")) {
      JsonNode arr = o.get("entries");
      if (!arr.isArray()) throw new Wire.BadInput("field 'entries' must be an array");
      for (JsonNode e : arr) entries.add(Wire.readEntry(e, null));
    } else {
      entries.add(Wire.readEntry(o, api.stampNow()));
    }
    return onSuccess(api.replicate(entries), applied -> {
      long notStored = applied.stream().filter(a -> a.outcome() == Applied.Outcome.NOT_STORED).count();
      if (notStored > 0) {
        return complete(Errors.detail(507, notStored + " of " + entries.size() + " entries could not be stored durably on this"
            + " worker (its disk failed or is full); nothing is acknowledged for them"));
      }
      ObjectNode r = Wire.NODES.objectNode();
      r.put("status", "ok");
      r.put("received", entries.size());
      r.put("applied", applied.stream().filter(a -> a.outcome() == Applied.Outcome.STORED).count());
      return json(200, r);
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

  /**
   * {@code POST /node_down}: the controller announces a change. The body (a view, or the seed's
   * {@code {"node_id": ...}}) is checked for its shape but never adopted: the worker fetches the
   * view from its controller, so no caller can hand it a view, or an address to call.
   */
  private Route nodeDown(JsonNode body) {
    ObjectNode o = Wire.object(body);
    if (o.has("nodes")) Wire.readView(o, settings.vnodes());
    else Wire.requiredString(o, "node_id");
    api.syncView();
    ObjectNode r = Wire.NODES.objectNode();
    r.put("status", "ok");
    r.put("node_id", api.nodeId());
    return json(200, r);
  }

  /** Anti-entropy's state: totals, the hash trees, and (with {@code ?ranges=true}) every range this node owns. */
  private ObjectNode antiEntropy(WorkerApi.StatusInfo s, boolean ranges) {
    AntiEntropy.Report r = s.antiEntropy();
    long now = System.currentTimeMillis();
    ObjectNode a = Wire.NODES.objectNode();
    a.put("interval_ms", r.intervalMillis());
    a.put("epoch", r.epoch());
    a.put("trees", s.treeEpoch() < 0 ? "none" : s.treeEpoch() == s.worker().view().epoch() ? "ready" : "rebuilding");
    a.put("rounds", r.rounds());
    a.put("exchanges", r.exchanges());
    a.put("failed_exchanges", r.failedExchanges());
    a.put("keys_repaired", r.keysRepaired());
    ObjectNode bytes = a.putObject("bytes_exchanged");
    bytes.put("trees", r.treeBytes());
    bytes.put("key_listings", r.keyBytes());
    bytes.put("entries", r.entryBytes());
    a.put("last_round_differing_segments", r.lastRoundSegments());
    if (r.round() != null) {
      ObjectNode round = a.putObject("round");
      round.put("peers_done", r.round().peersDone());
      round.put("peers", r.round().peers());
      round.put("elapsed_ms", r.round().elapsedMillis());
    }
    a.put("last_round_ms", r.lastRoundMillis());
    if (r.lastRoundEndedAtMillis() > 0) a.put("last_round_ago_ms", now - r.lastRoundEndedAtMillis());
    long complete = r.ranges().stream().filter(AntiEntropy.RangeState::complete).count();
    a.put("ranges_owned", r.ranges().size());
    a.put("ranges_exchanged", complete);
    r.ranges().stream().mapToLong(AntiEntropy.RangeState::exchangedAtMillis).filter(t -> t > 0).min()
        .ifPresent(oldest -> a.put("oldest_exchange_ago_ms", complete == r.ranges().size() ? now - oldest : -1));
    if (ranges) {
      ArrayNode list = a.putArray("ranges");
      for (AntiEntropy.RangeState rs : r.ranges()) {
        ObjectNode x = list.addObject();
        x.put("range", rs.range());
        x.put("token", rs.token());
        ArrayNode owners = x.putArray("owners");
        rs.owners().forEach(owners::add);
        x.put("exchanged", rs.complete());
        if (rs.exchangedAtMillis() > 0) x.put("exchanged_ago_ms", now - rs.exchangedAtMillis());
        x.put("keys_repaired", rs.keysRepaired());
      }
    }
    return a;
  }

  private Route status(boolean ranges) {
    return onSuccess(api.status(), s -> {
      ObjectNode o = Wire.NODES.objectNode();
      o.put("node_id", s.worker().nodeId());
      o.put("keys", s.liveKeys());
      o.put("tombstones", s.storedEntries() - s.liveKeys());
      o.put("epoch", s.worker().view().epoch());
      o.put("rebalancing", s.worker().rebalancing());
      o.put("rebalances", s.worker().rebalances());
      if (s.worker().rebalancing()) {
        ObjectNode progress = o.putObject("rebalance");
        progress.put("entries_to_push", s.worker().progress().entriesToPush());
        progress.put("entries_pushed", s.worker().progress().entriesPushed());
        progress.put("started_ms_ago", System.currentTimeMillis() - s.worker().progress().startedMillis());
      }
      o.put("keys_moved", s.worker().keysMoved());
      o.put("keys_handed_off", s.worker().keysHandedOff());
      o.put("membership", s.worker().membership().describe());
      o.put("joining", s.worker().joining());
      ArrayNode up = o.putArray("up_nodes");
      s.worker().view().ring().nodes().forEach(up::add);
      o.put("replication_factor", settings.replicationFactor());
      o.put("write_quorum", settings.writeQuorum());
      o.put("read_quorum", settings.readQuorum());
      ObjectNode storage = o.putObject("storage");
      storage.put("durability", settings.durability().toString());
      if (settings.durability() != Durability.MEMORY)
        storage.put("data_dir", settings.nodeDataDir().toString());
      o.set("anti_entropy", antiEntropy(s, ranges));
      ObjectNode hints = o.putObject("hints");
      hints.put("pending", s.hints().pending());
      hints.put("bytes", s.hints().bytes());
      hints.put("delivered", s.hints().delivered());
      hints.put("dropped", s.hints().dropped());
      hints.put("window_ms", settings.hintWindow().toMillis());
      HybridClock.Skew skew = s.clock();
      ObjectNode clock = o.putObject("clock");
      clock.put("max_skew_ms", skew.maxSkewMillis());
      clock.put("refused_ahead", skew.refused());
      clock.put("max_ahead_ms", skew.maxAheadMillis());
      clock.put("refused_by_peers", skew.refusedByPeers());
      Worker.ClockChecked checked = s.worker().clock();
      if (checked != null) clock.put("offset_from_controller_ms", checked.offsetMillis());
      if (skew.off() || checked != null && checked.off())
        clock.put("warning", "this node's clock and its peers' are apart by more than MAX_CLOCK_SKEW: writes across"
            + " them are refused until the clocks agree (check NTP)");
      return json(200, o);
    });
  }

  /** Ready to serve: registered with the controller and not leaving. */
  private Route ready() {
    return onSuccess(api.status(), s -> {
      boolean ready = s.worker().membership().isRegistered() && !s.worker().leaving();
      ObjectNode o = Wire.NODES.objectNode();
      o.put("status", ready ? "ready" : "not ready");
      o.put("node_id", api.nodeId());
      o.put("membership", s.worker().leaving() ? "leaving" : s.worker().membership().describe());
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
