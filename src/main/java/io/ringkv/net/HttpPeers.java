package io.ringkv.net;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.config.NodeSettings;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Versioned;
import io.ringkv.util.Stages;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ResponseEntity;
import org.apache.pekko.http.javadsl.model.headers.Authorization;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;

/**
 * {@link Peers} over HTTP/1.1, a deadline on every call. The calls of the client path (one replica,
 * one read of a replica, one forwarded write) are grouped per peer by a {@link Batcher}: under load,
 * many of them share one call. Those calls, and the rebalancer's batches, travel over one
 * persistent {@link PeerLink} per peer (a TCP connection to its {@link LinkServer}, calls pipelined
 * on it); to a peer that does not serve it (an older release) they go as {@code POST}s to the same
 * endpoints' HTTP forms. A worker's calls to the controller go through a {@link ControlClient} of
 * their own; the controller's view pushes to workers go as POSTs on pooled keep-alive connections.
 */
public final class HttpPeers implements Peers {
  public static final String TOKEN_HEADER = "X-Cluster-Token";
  public static final String FORWARDED_HEADER = "X-Ringkv-Forwarded";
  /**
   * Calls under way per peer and kind: one, so that everything that arrives meanwhile leaves
   * together (group commit). Measured with bench/ (PUT, 2 cores): 1 in flight 815 us of cluster CPU
   * per request, 2 in flight 1,108, 4 in flight about 1,300 (batches rarely form).
   */
  static final int IN_FLIGHT_PER_PEER = 1;
  static final int MAX_BATCH = 256;
  /** Bytes of keys and values per batch (a single larger item still goes, alone). */
  static final int MAX_BATCH_BYTES = 1 << 20;
  /** Calls queued on one link before it refuses more (each Batcher lane has one under way; the rebalancer a few). */
  private static final int LINK_QUEUE = 1024;
  /** After a peer answered that it serves no link (404), how long to use plain HTTP with it before asking again. */
  private static final long HTTP_ONLY_NANOS = TimeUnit.SECONDS.toNanos(30);

  private final Http http;
  private final Tcp tcp;
  private final Materializer mat;
  private final NodeSettings settings;
  private final Duration peerTimeout;
  private final Duration forwardTimeout;
  private final Batcher<Entry, Integer> replicas;
  private final Batcher<String, Optional<Versioned>> reads;
  private final Batcher<Wire.Write, WriteResult> forwards;
  private final ConcurrentHashMap<String, PeerLink> links = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Long> httpOnlySince = new ConcurrentHashMap<>();
  private final Frames.Hello hello;
  /** A worker's calls to the controller, on a client and thread of their own (see {@link ControlClient}). */
  private ControlClient control;

  public HttpPeers(ActorSystem<?> system, NodeSettings settings) {
    this.http = Http.get(system);
    this.tcp = Tcp.get(system);
    this.mat = Materializer.matFromSystem(system);
    this.settings = settings;
    this.peerTimeout = settings.peerTimeout();
    this.forwardTimeout = settings.requestTimeout().plus(settings.peerTimeout());
    this.replicas = new Batcher<>(IN_FLIGHT_PER_PEER, MAX_BATCH, MAX_BATCH_BYTES, HttpPeers::weight, this::replicateBatch);
    this.reads = new Batcher<>(IN_FLIGHT_PER_PEER, MAX_BATCH, MAX_BATCH_BYTES, String::length, this::readBatch);
    this.forwards = new Batcher<>(IN_FLIGHT_PER_PEER, MAX_BATCH, MAX_BATCH_BYTES, w -> w.key().length()
        + (w.value() == null ? 0 : w.value().length()), this::forwardBatch);
    this.hello = new Frames.Hello(settings.clusterToken(), settings.apiToken());
  }

  @Override
  public CompletionStage<Integer> replicate(Member to, List<Entry> entries) {
    if (entries.size() == 1) return replicas.submit(to.url(), entries.get(0));
    return replicateBatch(to.url(), entries).thenApply(List::size);
  }

  @Override
  public CompletionStage<Integer> push(Member to, List<Entry> entries) {
    return replicateBatch(to.url(), entries, settings.rebalancePushTimeout()).thenApply(List::size);
  }

  private CompletionStage<List<Integer>> replicateBatch(String url, List<Entry> entries) {
    return replicateBatch(url, entries, peerTimeout);
  }

  /** Over the link in the binary layout ({@link Frames#entries}); as JSON to {@code POST /replicate} without one. */
  private CompletionStage<List<Integer>> replicateBatch(String url, List<Entry> entries, Duration timeout) {
    return exchange(url, Frames.Kind.ENTRIES, () -> Frames.entries(entries), "/replicate", () -> Wire.entries(entries), timeout)
        .thenApply(body -> java.util.Collections.nCopies(entries.size(), 1));
  }

  @Override
  public CompletionStage<Optional<Versioned>> fetch(Member to, String key) {
    return reads.submit(to.url(), key);
  }

  private CompletionStage<List<Optional<Versioned>>> readBatch(String url, List<String> keys) {
    JsonNode body = Wire.keys(keys);
    return exchange(url, Frames.Kind.READ, () -> Wire.bytes(body), "/replicate/read", () -> body, peerTimeout)
        .thenApply(Wire::readCopies);
  }

  @Override
  public CompletionStage<WriteResult> forward(Member to, String key, String value) {
    return forwards.submit(to.url(), new Wire.Write(key, value)).thenApply(r -> {
      if (r.status() == 200 || r.status() == 503) return r;
      throw new PeerException(r.status(), r.detail());   // e.g. 421: the primary has no view yet
    });
  }

  private CompletionStage<List<WriteResult>> forwardBatch(String url, List<Wire.Write> writes) {
    JsonNode body = Wire.writes(writes);
    return exchange(url, Frames.Kind.FORWARD, () -> Wire.bytes(body), "/forward", () -> body, forwardTimeout)
        .thenApply(answer -> Wire.readWriteResults(answer, writes.size()));
  }

  private static int weight(Entry e) {
    return e.key().length() + (e.versioned().isTombstone() ? 0 : e.versioned().value().length());
  }

  @Override
  public CompletionStage<ClusterView> register(Registration reg) {
    ObjectNode body = Wire.NODES.objectNode();
    body.put("node_id", reg.nodeId());
    body.put("host", reg.host());
    body.put("port", reg.port());
    body.put("instance", reg.instance());
    if (reg.lastView() != null && reg.lastView().epoch() > 0) body.set("view", Wire.view(reg.lastView()));
    return control().post(settings.controllerAddr() + "/register", body, peerTimeout)
        .thenApply(r -> Wire.readView(r.get("view"), settings.vnodes()));
  }

  @Override
  public CompletionStage<Long> heartbeat(Heartbeat hb) {
    ObjectNode body = Wire.NODES.objectNode();
    body.put("node_id", hb.nodeId());
    body.put("instance", hb.instance());
    body.put("epoch", hb.epoch());
    return control().post(settings.controllerAddr() + "/heartbeat", body, peerTimeout)
        .thenApply(r -> r.path("epoch").asLong());
  }

  @Override
  public CompletionStage<ClusterView> leave(String nodeId, String instance) {
    ObjectNode body = Wire.NODES.objectNode();
    body.put("node_id", nodeId);
    body.put("instance", instance);
    return control().post(settings.controllerAddr() + "/leave", body, peerTimeout)
        .thenApply(r -> Wire.readView(r.get("view"), settings.vnodes()));
  }

  @Override
  public CompletionStage<ClusterView> fetchView() {
    return control().get(settings.controllerAddr() + "/ring", peerTimeout)
        .thenApply(r -> Wire.readView(r, settings.vnodes()));
  }

  @Override
  public CompletionStage<Long> pushView(Member to, ClusterView view) {
    return call(post(to.url() + "/node_down", Wire.view(view)), peerTimeout).thenApply(r -> r.path("epoch").asLong());
  }

  // ---- plumbing

  /** Made on first use: only workers call the controller. */
  private synchronized ControlClient control() {
    if (control == null) control = new ControlClient(settings.clusterToken());
    return control;
  }

  /**
   * A call to one of the batch endpoints: over the peer's link, or as a {@code POST} to {@code path}
   * when the peer does not serve links. Completes with the answer's body; any status but 2xx fails
   * it with a {@link PeerException}.
   */
  private CompletionStage<JsonNode> exchange(String url, Frames.Kind kind, Supplier<byte[]> linkBody, String path,
      Supplier<JsonNode> postBody, Duration timeout) {
    Long since = httpOnlySince.get(url);
    if (since != null && System.nanoTime() - since < HTTP_ONLY_NANOS) return call(post(url, path, postBody.get()), timeout);
    return link(url).call(kind, linkBody.get(), timeout).thenApply(HttpPeers::body).exceptionallyCompose(err -> {
      Throwable cause = err instanceof java.util.concurrent.CompletionException && err.getCause() != null ? err.getCause() : err;
      if (!(cause instanceof PeerLink.Unsupported)) return CompletableFuture.failedFuture(cause);
      httpOnlySince.put(url, System.nanoTime());
      return call(post(url, path, postBody.get()), timeout);
    });
  }

  private PeerLink link(String url) {
    return links.compute(url, (u, old) -> old != null && !old.isClosed() ? old
        : new PeerLink(tcp, mat, u, () -> linkPort(u), hello, LINK_QUEUE, peerTimeout));
  }

  /**
   * The port {@code url}'s link listens on, from its {@code GET /peer/link} (with the tokens the
   * link's hello carries); a 404 is {@link PeerLink.Unsupported} (an older release), another status
   * a {@link PeerException}.
   */
  private CompletionStage<Integer> linkPort(String url) {
    HttpRequest req = HttpRequest.GET(url + "/peer/link");
    if (!settings.apiToken().isEmpty()) req = req.addHeader(Authorization.oauth2(settings.apiToken()));
    return send(req, peerTimeout).thenApply(a -> {
      if (a.status() == 404) throw new PeerLink.Unsupported(url + " does not serve the node-to-node link (404 on /peer/link)");
      if (a.status() != 200) throw new PeerException(a.status(), a.body().path("detail").asText(""));
      int port = a.body().path("port").asInt(0);
      if (port <= 0 || port > 65535) throw new PeerException(502, url + "/peer/link answered without a port: " + a.body());
      return port;
    });
  }

  /** Whether calls to {@code url} currently travel over an open link (for tests). */
  boolean hasOpenLink(String url) {
    PeerLink l = links.get(url);
    return l != null && !l.isClosed();
  }

  private static JsonNode body(Frames.Answer a) {
    JsonNode body = parse(a.body().toArray());
    if (a.status() / 100 != 2) throw new PeerException(a.status(), body.path("detail").asText(""));
    return body;
  }

  private record Answer(int status, JsonNode body) {}

  private HttpRequest post(String url, JsonNode body) {
    return HttpRequest.POST(url).withEntity(ContentTypes.APPLICATION_JSON, Wire.bytes(body));
  }

  /** A POST to a batch endpoint, with the API token that {@code /forward} takes when no cluster token is set. */
  private HttpRequest post(String url, String path, JsonNode body) {
    HttpRequest req = post(url + path, body);
    return settings.apiToken().isEmpty() ? req : req.addHeader(Authorization.oauth2(settings.apiToken()));
  }

  /** Sends and expects a 2xx; any other status fails the stage with a {@link PeerException}. */
  private CompletionStage<JsonNode> call(HttpRequest req, Duration timeout) {
    return send(req, timeout).thenApply(a -> {
      if (a.status() / 100 != 2) throw new PeerException(a.status(), a.body().path("detail").asText(""));
      return a.body();
    });
  }

  private CompletionStage<Answer> send(HttpRequest req, Duration timeout) {
    if (!settings.clusterToken().isEmpty()) req = req.addHeader(RawHeader.create(TOKEN_HEADER, settings.clusterToken()));
    return Stages.plain(http.singleRequest(req))
        .thenCompose((HttpResponse resp) -> strictData(resp.entity(), timeout)
            .thenApply(data -> new Answer(resp.status().intValue(), parse(data.toArray()))))
        .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** The entity's bytes; one that arrived whole is taken as it is (toStrict would still run a stream). */
  private CompletableFuture<ByteString> strictData(ResponseEntity entity, Duration timeout) {
    if (entity instanceof HttpEntity.Strict strict) return CompletableFuture.completedFuture(strict.getData());
    return Stages.plain(entity.toStrict(timeout.toMillis(), mat)).thenApply(HttpEntity.Strict::getData);
  }

  static JsonNode parse(byte[] bytes) {
    if (bytes.length == 0) return Wire.NODES.objectNode();
    try {
      return Wire.JSON.readTree(bytes);
    } catch (java.io.IOException e) {
      return Wire.NODES.objectNode();
    }
  }
}
