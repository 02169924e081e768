package io.ringkv.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * One node's metrics, exported in the Prometheus text format on {@code GET /metrics} (Micrometer's
 * Prometheus registry). The hot path records into meters looked up once per label combination
 * (a map lookup and a histogram update per request); state that lives in actors (keys, hints,
 * rebalance and anti-entropy progress, the view's epoch) is copied into gauges when a scrape asks
 * for it. {@link #OFF} records nothing (METRICS=off).
 */
public final class NodeMetrics {
  /** Latency buckets of the histograms, from a fast local read to a request timeout. */
  private static final Duration[] BUCKETS = {
      Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
      Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
      Duration.ofMillis(2500), Duration.ofSeconds(5)};
  /** Path segments with a label of their own; anything else (a hostile client's made-up paths) is "other". */
  private static final Set<String> ROUTES = Set.of("kv", "replicate", "status", "health", "node_down", "peer", "metrics",
      "admin", "register", "heartbeat", "leave", "nodes", "mapping", "ring");
  private static final Set<String> METHODS = Set.of("GET", "PUT", "POST", "DELETE", "HEAD");

  public static final NodeMetrics OFF = new NodeMetrics(null);

  private final PrometheusMeterRegistry registry;
  private final Map<String, Timer> requests = new ConcurrentHashMap<>();
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();
  private final Map<String, Timer> peerCalls = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> gauges = new ConcurrentHashMap<>();

  private NodeMetrics(PrometheusMeterRegistry registry) {
    this.registry = registry;
  }

  /** A node's registry, with the JVM's basics; {@code enabled} false gives {@link #OFF}. */
  public static NodeMetrics create(boolean enabled, String role, String nodeId) {
    if (!enabled) return OFF;
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.config().commonTags("role", role, "node", nodeId);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    return new NodeMetrics(registry);
  }

  public boolean enabled() {
    return registry != null;
  }

  /** The Prometheus text exposition of every meter. */
  public String scrape() {
    return registry == null ? "" : registry.scrape();
  }

  /** The content type of {@link #scrape}. */
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  /** An HTTP request answered: by route (the path's first segment), method and status. */
  public void request(String path, String method, int status, long nanos) {
    if (registry == null) return;
    String route = route(path);
    String m = METHODS.contains(method) ? method : "OTHER";
    String key = route + ' ' + m + ' ' + status;
    requests.computeIfAbsent(key, k -> Timer.builder("ringkv_http_requests")
        .description("HTTP requests answered, by route, method and status")
        .tags("route", route, "method", m, "status", String.valueOf(status))
        .serviceLevelObjectives(BUCKETS)
        .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
  }

  /** A client write's or read's quorum outcome ({@code op}: put, delete or get; {@code outcome}: acked, superseded, not_reached, ...). */
  public void quorum(String op, String outcome) {
    count("ringkv_quorum_outcomes", "Client operations by quorum outcome", "op", op, "outcome", outcome);
  }

  /** A call to another node over the link: its kind (replicate, read, forward, tree, keys) and whether it was answered. */
  public void peerCall(String kind, boolean ok, long nanos) {
    if (registry == null) return;
    String key = kind + (ok ? " ok" : " failed");
    peerCalls.computeIfAbsent(key, k -> Timer.builder("ringkv_peer_calls")
        .description("Node-to-node calls over the link, by kind and result")
        .tags("kind", kind, "result", ok ? "ok" : "failed")
        .serviceLevelObjectives(BUCKETS)
        .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
  }

  /** Increments a counter (its name and tags fixed by the caller, never from the network). */
  public void count(String name, String help, String... tags) {
    if (registry == null) return;
    String key = name + String.join(",", tags);
    counters.computeIfAbsent(key, k -> Counter.builder(name).description(help).tags(tags).register(registry)).increment();
  }

  /** A gauge whose value is set with {@link #set} (state copied from the actors at each scrape). */
  public void set(String name, String help, long value, String... tags) {
    if (registry == null) return;
    String key = name + String.join(",", tags);
    gauges.computeIfAbsent(key, k -> {
      AtomicLong v = new AtomicLong();
      Gauge.builder(name, v, AtomicLong::get).description(help).tags(tags).register(registry);
      return v;
    }).set(value);
  }

  /** A gauge read at each scrape from {@code value} (cheap, thread-safe readings only). */
  public void gauge(String name, String help, Supplier<Number> value) {
    if (registry == null) return;
    Gauge.builder(name, value).description(help).register(registry);
  }

  /** The registry itself (for binders of other libraries); null when off. */
  public MeterRegistry registry() {
    return registry;
  }

  private static String route(String path) {
    int start = path.startsWith("/") ? 1 : 0;
    int end = path.indexOf('/', start);
    String first = path.substring(start, end < 0 ? path.length() : end);
    return ROUTES.contains(first) ? "/" + first : first.isEmpty() ? "/" : "other";
  }
}
