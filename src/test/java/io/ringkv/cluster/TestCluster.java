package io.ringkv.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ringkv.Main;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.io.UncheckedIOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * A controller and N workers in this JVM, each its own ActorSystem with real HTTP on a free port of
 * 127.0.0.1, plus a real HTTP client to talk to them. Workers are named {@code worker1..workerN}.
 * {@link #stop} terminates one node's ActorSystem (a crash as far as the others can tell) and
 * {@link #restart} brings it back under the same id and port, with its data directory.
 */
public final class TestCluster implements AutoCloseable {
  public static final String CONTROLLER = "controller";
  private static final Duration START_DEADLINE = Duration.ofSeconds(30);
  private static final Duration STOP_DEADLINE = Duration.ofSeconds(15);
  private static final Duration POLL = Duration.ofMillis(50);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Map<String, Object> overrides;
  private final Map<String, Integer> ports = new LinkedHashMap<>();
  private final Map<String, ActorSystem<Void>> systems = new HashMap<>();
  private final HttpClient client = HttpClient.newBuilder()
      .version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2))
      .build();
  private final Duration requestTimeout = Duration.ofSeconds(10);

  /** Every worker's data directory is {@code <this>/<node id>}: a restarted worker finds its data again. */
  private final Path dataDir;

  private TestCluster(Map<String, Object> overrides) {
    this.overrides = Map.copyOf(overrides);
    try {
      this.dataDir = Files.createTempDirectory("ringkv-test-data-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public Path dataDir() {
    return dataDir;
  }

  /** Starts a controller and {@code workers} workers with the default configuration, and waits until all are UP. */
  /**
   * The heartbeat-timeout setting. Tests of input handling set it long (e.g. "10s"), so that a CPU-starved
   * machine cannot produce a false DOWN and move the epochs they check for forged changes.
   */
  public static final String STEADY_MEMBERSHIP = "ringkv.membership.heartbeat-timeout";

  public static TestCluster start(int workers) {
    return start(workers, Map.of());
  }

  /** Same, with configuration overrides (e.g. {@code "ringkv.limits.max-value-bytes"}) for every node. */
  public static TestCluster start(int workers, Map<String, Object> overrides) {
    TestCluster c = new TestCluster(overrides);
    try {
      c.startNode(CONTROLLER, freePort(), true);
      List<String> ids = new ArrayList<>();
      for (int i = 1; i <= workers; i++) {
        String id = "worker" + i;
        ids.add(id);
        c.startNode(id, freePort(), true);
      }
      c.awaitUp(START_DEADLINE, ids);
      return c;
    } catch (RuntimeException | Error e) {
      c.close();
      throw e;
    }
  }

  // ---- nodes

  public List<String> workers() {
    return ports.keySet().stream().filter(id -> !id.equals(CONTROLLER)).toList();
  }

  public int port(String node) {
    Integer p = ports.get(node);
    if (p == null) throw new IllegalArgumentException("no node " + node);
    return p;
  }

  public String url(String node) {
    return "http://127.0.0.1:" + port(node);
  }

  public String controllerUrl() {
    return url(CONTROLLER);
  }

  public boolean isRunning(String node) {
    ActorSystem<Void> s = systems.get(node);
    return s != null && !s.whenTerminated().isCompleted();
  }

  /**
   * Stops the node the way SIGTERM does and waits until it is gone: a worker leaves the cluster
   * (DOWN at once) and hands its keys over before its ActorSystem terminates.
   */
  public void stop(String node) {
    ActorSystem<Void> s = systems.get(node);
    if (s != null) s.terminate();
    awaitGone(node);
  }

  /** Stops a worker the way {@code kill -9} looks to the others: no leave, no hand-off, heartbeats just stop. */
  public void crash(String node) {
    if (node.equals(CONTROLLER)) {
      stop(node);
      return;
    }
    Reply r = post(url(node) + "/admin/stop?mode=crash", "");
    if (r.status() != 200) throw new IllegalStateException("crash of " + node + " refused: " + r);
    awaitGone(node);
  }

  private void awaitGone(String node) {
    ActorSystem<Void> s = systems.remove(node);
    if (s == null) return;
    try {
      s.getWhenTerminated().toCompletableFuture().get(STOP_DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(node + " did not terminate within " + STOP_DEADLINE, e);
    }
  }

  /** Starts the node again under the same id and port (a new process, with its data directory); waits until it serves HTTP. */
  public void restart(String node) {
    if (isRunning(node)) throw new IllegalStateException(node + " is running; stop it first");
    startNode(node, port(node), false);
  }

  /**
   * Starts a worker process outside this cluster's bookkeeping (e.g. a second process claiming an
   * existing node id, on another machine) on a free port; the caller stops it with {@code terminate()}.
   */
  public ActorSystem<Void> startStrayWorker(String id, int port) {
    // a process of its own elsewhere: its own data directory too (on the same one it would not start, see DataDirTest)
    return Main.startWorker(ConfigFactory.parseMap(Map.of("ringkv.storage.data-dir", dataDir.resolve("stray-" + port).toString()))
        .withFallback(config(id, port)), true);
  }

  public Config config(String id, int port) {
    Map<String, Object> m = new HashMap<>(overrides);
    m.putIfAbsent("ringkv.storage.data-dir", dataDir.toString());
    m.put("ringkv.node-id", id);
    m.put("ringkv.http.host", "127.0.0.1");
    m.put("ringkv.http.port", port);
    m.put("ringkv.advertise-host", "127.0.0.1");
    m.put("ringkv.controller-addr", "http://127.0.0.1:" + ports.get(CONTROLLER));
    return ConfigFactory.parseMap(m).withFallback(ConfigFactory.load());
  }

  /**
   * Starts a node and waits until its /health answers. If the port was taken meanwhile (the node
   * stops itself when it cannot bind), a fresh port is picked when {@code anyPort}, else it retries.
   */
  private void startNode(String id, int port, boolean anyPort) {
    long deadline = System.nanoTime() + START_DEADLINE.toNanos();
    int p = port;
    while (true) {
      ports.put(id, p);
      ActorSystem<Void> s = id.equals(CONTROLLER) ? Main.startController(config(id, p)) : Main.startWorker(config(id, p), true);
      systems.put(id, s);
      while (!s.whenTerminated().isCompleted() && System.nanoTime() < deadline) {
        if (get(url(id) + "/health").status() == 200) return;
        pause();
      }
      if (System.nanoTime() >= deadline) {
        throw new AssertionError(id + " did not serve /health on port " + p + " within " + START_DEADLINE);
      }
      systems.remove(id);
      if (anyPort) p = freePort();
      pause();
    }
  }

  @Override
  public void close() {
    List<String> nodes = new ArrayList<>(systems.keySet());
    for (String n : nodes) {
      ActorSystem<Void> s = systems.get(n);
      if (s != null) s.terminate();
    }
    for (String n : nodes) {
      try {
        stop(n);
      } catch (RuntimeException e) {
        // keep closing the others
      }
    }
    deleteRecursively(dataDir);
  }

  public static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) return;
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a temporary directory: what is left is harmless
    }
  }

  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ---- HTTP

  /** One answer: status, content type, raw body and the body parsed as JSON (null when it is not JSON). */
  public record Reply(int status, String contentType, String body, JsonNode json) {
    public boolean isJson() {
      return contentType != null && contentType.startsWith("application/json") && json != null;
    }

    @Override
    public String toString() {
      String b = body.length() > 300 ? body.substring(0, 300) + "...(" + body.length() + " chars)" : body;
      return status + " [" + contentType + "] " + b;
    }
  }

  /** A reply standing for a connection failure (refused, reset, timed out). */
  public static final int NO_ANSWER = -1;

  public Reply get(String url) {
    return send("GET", url, null);
  }

  public Reply put(String url, String body) {
    return send("PUT", url, body);
  }

  public Reply post(String url, String body) {
    return send("POST", url, body);
  }

  /** Sends {@code method url} with an optional body; a connection failure gives status {@link #NO_ANSWER}. */
  public Reply send(String method, String url, String body) {
    return send(method, url, body, Map.of());
  }

  /** Same, with extra request headers. */
  public Reply send(String method, String url, String body, Map<String, String> headers) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(requestTimeout);
    headers.forEach(b::header);
    if (body == null) {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    } else {
      b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
    }
    try {
      HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      String ct = r.headers().firstValue("Content-Type").orElse(null);
      JsonNode json = null;
      try {
        json = r.body().isEmpty() ? null : JSON.readTree(r.body());
      } catch (IOException notJson) {
        // leave json null
      }
      return new Reply(r.statusCode(), ct, r.body(), json);
    } catch (IOException e) {
      return new Reply(NO_ANSWER, null, e.toString(), null);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * Writes {@code requestHead} (request line and headers, without the blank line) as is over a
   * plain socket, for requests a real client refuses to build; adds {@code Connection: close}.
   */
  public Reply sendRaw(String baseUrl, String requestHead) {
    URI u = URI.create(baseUrl);
    try (Socket socket = new Socket(u.getHost(), u.getPort())) {
      socket.setSoTimeout((int) requestTimeout.toMillis());
      OutputStream out = socket.getOutputStream();
      out.write((requestHead + "\r\nHost: " + u.getHost() + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
      String all = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int headEnd = all.indexOf("\r\n\r\n");
      if (headEnd < 0) return new Reply(NO_ANSWER, null, all, null);
      String[] lines = all.substring(0, headEnd).split("\r\n");
      int status = Integer.parseInt(lines[0].split(" ")[1]);
      String ct = null;
      for (String line : lines)
        if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-type:")) ct = line.substring(13).trim();
      String body = all.substring(headEnd + 4);
      JsonNode json = null;
      try {
        json = body.isEmpty() ? null : JSON.readTree(body);
      } catch (IOException notJson) {
        // leave json null
      }
      return new Reply(status, ct, body, json);
    } catch (IOException e) {
      return new Reply(NO_ANSWER, null, e.toString(), null);
    }
  }

  // ---- the REST surface, typed

  public static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  public static String kvBody(String key, String value) {
    return JSON.createObjectNode().put("key", key).put("value", value).toString();
  }

  public Reply putKv(String node, String key, String value) {
    return put(url(node) + "/kv", kvBody(key, value));
  }

  public Reply getKv(String node, String key) {
    return get(url(node) + "/kv?key=" + enc(key));
  }

  public Reply getLocal(String node, String key) {
    return get(url(node) + "/kv?key=" + enc(key) + "&local=true");
  }

  /** The value this worker holds for the key in its own map, or null. */
  public String localValue(String node, String key) {
    Reply r = getLocal(node, key);
    return r.status() == 200 && r.json() != null ? r.json().path("value").asText(null) : null;
  }

  /** The node ids of the key's mapping, in order (primary first). */
  public List<String> mapping(String key) {
    Reply r = get(controllerUrl() + "/mapping?key=" + enc(key));
    if (r.status() != 200) throw new AssertionError("GET /mapping?key=" + key + " -> " + r);
    List<String> ids = new ArrayList<>();
    for (JsonNode n : r.json().path("mapping")) ids.add(n.path("node_id").asText());
    return ids;
  }

  /** The controller's /nodes as id -> JSON ({host, port, ts, status}). */
  public Map<String, JsonNode> nodes() {
    Reply r = get(controllerUrl() + "/nodes");
    if (r.status() != 200) throw new AssertionError("GET /nodes -> " + r);
    Map<String, JsonNode> out = new LinkedHashMap<>();
    r.json().path("nodes").fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue()));
    return out;
  }

  public String statusOf(String node) {
    JsonNode n = nodes().get(node);
    return n == null ? null : n.path("status").asText();
  }

  /** A worker's /status. */
  public JsonNode status(String node) {
    Reply r = get(url(node) + "/status");
    if (r.status() != 200) throw new AssertionError("GET " + node + "/status -> " + r);
    return r.json();
  }

  // ---- waiting

  /** Polls every 50 ms until {@code condition} holds; fails with {@code what} and the last observation. */
  public static void await(Duration deadline, String what, Supplier<Boolean> condition) {
    awaitAssert(deadline, () -> {
      if (!Boolean.TRUE.equals(condition.get())) throw new AssertionError("not yet: " + what);
    });
  }

  /** Polls every 50 ms until {@code check} passes; rethrows its last failure at the deadline. */
  public static void awaitAssert(Duration deadline, Runnable check) {
    long end = System.nanoTime() + deadline.toNanos();
    while (true) {
      try {
        check.run();
        return;
      } catch (AssertionError | RuntimeException e) {
        if (System.nanoTime() >= end) {
          AssertionError a = new AssertionError("condition not met within " + deadline + ": " + e.getMessage(), e);
          throw a;
        }
      }
      pause();
    }
  }

  /** Asserts that {@code check} passes at every poll (every 50 ms) for the whole window. */
  public static void assertDuring(Duration window, Runnable check) {
    long end = System.nanoTime() + window.toNanos();
    do {
      check.run();
      pause();
    } while (System.nanoTime() < end);
  }

  /** Waits until /nodes shows every given node UP, and each has its data (no longer JOINING). */
  public void awaitUp(Duration deadline, List<String> ids) {
    awaitAssert(deadline, () -> {
      Map<String, JsonNode> nodes = nodes();
      for (String id : ids) {
        JsonNode n = nodes.get(id);
        if (n == null || !"UP".equals(n.path("status").asText()))
          throw new AssertionError(id + " is not UP in /nodes: " + nodes);
        if (status(id).path("joining").asBoolean(true)) throw new AssertionError(id + " is still JOINING");
      }
    });
  }

  /** Waits until the node's local map holds {@code value} for the key. */
  public void awaitLocal(Duration deadline, String node, String key, String value) {
    awaitAssert(deadline, () -> {
      String v = localValue(node, key);
      if (!value.equals(v)) throw new AssertionError(node + " holds " + abbreviate(v) + " for " + key + ", expected " + abbreviate(value));
    });
  }

  static String abbreviate(String s) {
    return s == null || s.length() <= 40 ? s : s.substring(0, 40) + "...(" + s.length() + " chars)";
  }

  static void pause() {
    try {
      Thread.sleep(POLL.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
