package io.ringkv.faults;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * A controller and four workers, each its own {@code java -jar ringkv.jar} process, on the hosts of a
 * {@link Network} (network namespaces, or loopback). One worker can sit behind two {@link DelayProxy}s,
 * one for its HTTP port and one for its node-to-node link's: it advertises the proxies' address and
 * ports, so every node-to-node call to it goes through them. Keeps
 * each node's incarnation (how many times its process was started) for {@code Observation}s, and
 * each process's output in a log file of its own.
 */
final class ProcessCluster implements AutoCloseable {
  static final String CONTROLLER = "controller";
  static final List<String> WORKERS = List.of("worker1", "worker2", "worker3", "worker4");
  static final Duration CALL = Duration.ofSeconds(2);

  private static final List<String> JVM_OPTS = List.of(
      "-Xmx256m", "-Xss512k", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData");
  private static final Object CDS_LOCK = new Object();

  private final Path jar;
  private final Path cds;
  private final Path logDir;
  /** The workers' DATA_DIR (each keeps its data in {@code <this>/<node id>}): emptied when the cluster starts, kept across restarts. */
  private final Path dataDir;
  private final Network net;
  private final Map<String, String> extraEnv;
  private final String proxied;
  private final DelayProxy proxy;
  /** In front of the proxied worker's link port (PEER_PORT; free in its namespace, and on loopback). */
  private final DelayProxy linkProxy;
  private final int proxiedLinkPort;
  private final String token = UUID.randomUUID().toString();
  private final Map<String, Process> procs = new ConcurrentHashMap<>();
  private final Map<String, Integer> incarnations = new ConcurrentHashMap<>();
  private final List<Path> logs = new ArrayList<>();
  /** Kills the nodes if the test JVM is stopped (Ctrl-C, a build timeout) before {@link #close}. */
  private final Thread shutdownHook = new Thread(this::destroyAll, "process-cluster-shutdown");
  private final Consumer<String> log;
  final Http http = new Http(token);

  /**
   * Starts the nodes and waits until all four workers are UP and ready.
   *
   * @param extraEnv  environment of every worker on top of the harness's (e.g. READ_QUORUM)
   * @param proxied   the worker to put behind a delaying proxy, or null
   */
  static ProcessCluster start(Path jar, Path logDir, Network net, Map<String, String> extraEnv, String proxied,
      Consumer<String> log) {
    ProcessCluster c = null;
    try {
      c = new ProcessCluster(jar, logDir, net, extraEnv, proxied, log);
      c.startNode(CONTROLLER);
      for (String w : WORKERS) c.startNode(w);
      c.awaitSettled(Duration.ofSeconds(150));   // a deadline: five JVMs starting at once on a busy 2-core machine
      return c;
    } catch (IOException e) {
      if (c != null) c.close();
      throw new UncheckedIOException(e);
    } catch (RuntimeException | Error e) {
      if (c != null) {
        c.dumpLogs(System.out, 40);
        c.close();
      }
      throw e;
    }
  }

  private ProcessCluster(Path jar, Path logDir, Network net, Map<String, String> extraEnv, String proxied,
      Consumer<String> log) throws IOException {
    if (!Files.isRegularFile(jar)) throw new IllegalStateException("no jar at " + jar + ": run mvn package first");
    this.jar = jar;
    this.logDir = Files.createDirectories(logDir);
    try (var old = Files.list(logDir)) {
      for (Path p : old.toList()) if (p.toString().endsWith(".log")) Files.delete(p);   // an earlier run's
    }
    killOrphans(logDir, log);
    this.dataDir = logDir.resolve("data");
    deleteTree(dataDir);   // an earlier run's
    this.cds = classDataArchive(jar, logDir.getParent(), log);
    Runtime.getRuntime().addShutdownHook(shutdownHook);
    this.net = net;
    this.extraEnv = Map.copyOf(extraEnv);
    this.proxied = proxied;
    this.log = log;
    this.proxy = proxied == null ? null : new DelayProxy(net.harnessHost(), net.hostOf(proxied), net.portOf(proxied));
    this.proxiedLinkPort = proxied == null ? 0 : Network.Loopback.freePort();
    this.linkProxy = proxied == null ? null : new DelayProxy(net.harnessHost(), net.hostOf(proxied), proxiedLinkPort);
  }

  Network network() {
    return net;
  }

  /** The proxy in front of the proxied worker's link port (null without one). */
  DelayProxy linkProxy() {
    return linkProxy;
  }

  /** The proxies in front of the proxied worker (its HTTP port's and its link's). */
  List<DelayProxy> proxies() {
    return proxy == null ? List.of() : List.of(proxy, linkProxy);
  }

  String proxied() {
    return proxied;
  }

  /** The host and port the node listens on, as the harness reaches it (for raw sockets). */
  java.net.InetSocketAddress address(String node, int port) {
    return new java.net.InetSocketAddress(net.hostOf(node), port);
  }

  /** The address the test JVM calls a node at (its own, not the proxy's). */
  String url(String node) {
    return "http://" + net.hostOf(node) + ":" + net.portOf(node);
  }

  String incarnation(String node) {
    return node + "#" + incarnations.getOrDefault(node, 0);
  }

  int incarnationCount(String node) {
    return incarnations.getOrDefault(node, 0);
  }

  long pid(String node) {
    return procs.get(node).pid();
  }

  // --- processes -------------------------------------------------------------------------------

  synchronized void startNode(String node) {
    startNode(node, Map.of());
  }

  /** Starts {@code node} with {@code moreEnv} on top of its usual environment (e.g. a clock offset). */
  synchronized void startNode(String node, Map<String, String> moreEnv) {
    Process old = procs.get(node);
    if (old != null && old.isAlive()) throw new IllegalStateException(node + " is still running");
    int inc = incarnations.merge(node, 1, Integer::sum);
    Path logFile = logDir.resolve(node + "." + inc + ".log");
    logs.add(logFile);
    List<String> cmd = new ArrayList<>();
    cmd.add(javaBinary());
    cmd.addAll(JVM_OPTS);
    cmd.add("-Xlog:gc:file=" + logDir.resolve(node + "." + inc + ".gc.log").toAbsolutePath() + ":uptime,time");
    if (cds != null) {
      cmd.add("-XX:SharedArchiveFile=" + cds);
      cmd.add("-Xshare:auto");   // an archive that does not fit this jar is ignored, not fatal
    }
    cmd.add("-jar");
    cmd.add(jar.toAbsolutePath().toString());
    cmd.add(node.equals(CONTROLLER) ? "controller" : "worker");
    ProcessBuilder pb = new ProcessBuilder(net.wrap(node, cmd))
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
    Map<String, String> env = pb.environment();
    String path = env.getOrDefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    env.clear();   // nothing of the build's environment leaks into the node's configuration
    env.put("PATH", path);
    env.put("NODE_ID", node);
    env.put("PORT", String.valueOf(net.portOf(node)));
    env.put("BIND_HOST", net.hostOf(node));
    env.put("CLUSTER_TOKEN", token);
    env.put("DATA_DIR", dataDir.toAbsolutePath().toString());
    env.put("ADVERTISE_HOST", node.equals(proxied) ? net.harnessHost() : net.hostOf(node));
    env.put("ADVERTISE_PORT", String.valueOf(node.equals(proxied) ? proxy.port() : net.portOf(node)));
    if (node.equals(proxied)) {
      env.put("PEER_PORT", String.valueOf(proxiedLinkPort));
      env.put("ADVERTISE_PEER_PORT", String.valueOf(linkProxy.port()));
    }
    if (!node.equals(CONTROLLER)) {
      env.put("CONTROLLER_ADDR", url(CONTROLLER));
      env.putAll(extraEnv);
    }
    env.put("ANTI_ENTROPY_INTERVAL", ANTI_ENTROPY_INTERVAL.toMillis() + "ms");
    env.putAll(moreEnv);
    try {
      String header = "== " + java.time.LocalTime.now() + " start: " + String.join(" ", pb.command())
          + "\n== env " + env.entrySet().stream().filter(e -> !e.getKey().equals("CLUSTER_TOKEN")).toList() + "\n";
      Files.writeString(logFile, header, StandardCharsets.UTF_8,
          java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
      Process p = pb.start();
      procs.put(node, p);
      Files.writeString(logDir.resolve(node + ".pid"), ProcessHandle.current().pid() + " " + p.pid() + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A class-data-sharing archive of the jar's classes (JDK dynamic AppCDS), made once per jar by
   * starting a controller and stopping it: the nodes then start about twice as fast, which matters on
   * a busy 2-core machine where a restart is part of what is measured. Null when it cannot be made.
   */
  static Path classDataArchive(Path jar, Path dir, Consumer<String> log) {
    synchronized (CDS_LOCK) {
      try {
        String id = Files.size(jar) + "-" + Files.getLastModifiedTime(jar).toMillis();
        Path archive = dir.resolve("ringkv-" + id + ".jsa");
        if (Files.isRegularFile(archive)) return archive;
        Files.createDirectories(dir);
        try (var old = Files.list(dir)) {   // archives of earlier builds of the jar
          for (Path p : old.toList()) {
            String name = p.getFileName().toString();
            if (name.startsWith("ringkv-") && name.endsWith(".jsa")) Files.delete(p);
          }
        }
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
          port = s.getLocalPort();
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(javaBinary());
        cmd.addAll(JVM_OPTS);
        cmd.addAll(List.of("-XX:ArchiveClassesAtExit=" + archive, "-Xlog:cds=off", "-Xlog:cds+dynamic=off",
            "-jar", jar.toAbsolutePath().toString(), "controller"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
            .redirectOutput(dir.resolve("cds-dump.log").toFile());
        pb.environment().put("PORT", String.valueOf(port));
        pb.environment().put("BIND_HOST", "127.0.0.1");
        long t0 = System.nanoTime();
        Process p = pb.start();
        Http http = new Http(null);
        try {
          await("the archiving controller to answer", Duration.ofSeconds(60), 100,
              () -> !p.isAlive() || http.get("http://127.0.0.1:" + port + "/health", Duration.ofSeconds(1)).ok());
        } finally {
          p.destroy();   // SIGTERM: the JVM exits normally and writes the archive
          if (!p.waitFor(60, TimeUnit.SECONDS)) p.destroyForcibly();
        }
        if (!Files.isRegularFile(archive)) {
          log.accept("no class-data archive was written (see " + dir.resolve("cds-dump.log") + "); nodes start without");
          return null;
        }
        log.accept("class-data archive " + archive.getFileName() + " made in " + (System.nanoTime() - t0) / 1_000_000 + " ms");
        return archive;
      } catch (IOException | RuntimeException | Error e) {
        log.accept("no class-data archive (" + e + "); nodes start without");
        return null;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return null;
      }
    }
  }

  private static String javaBinary() {
    return ProcessHandle.current().info().command()
        .filter(c -> c.endsWith("/java"))
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
  }

  /** kill -9: the process ends without a word to anyone. */
  void kill9(String node) {
    Process p = procs.get(node);
    p.destroyForcibly();
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS)) throw new IllegalStateException(node + " survived kill -9");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  void sigstop(String node) {
    Sh.must("kill", "-STOP", String.valueOf(pid(node)));
  }

  void sigcont(String node) {
    Sh.must("kill", "-CONT", String.valueOf(pid(node)));
  }

  boolean alive(String node) {
    Process p = procs.get(node);
    return p != null && p.isAlive();
  }

  // --- cluster state -----------------------------------------------------------------------------

  /** The controller's membership: epoch and each node's status, or null when it does not answer. */
  record Nodes(long epoch, Map<String, String> status) {
    boolean up(String node) {
      return "UP".equals(status.get(node));
    }

    List<String> upWorkers() {
      return WORKERS.stream().filter(this::up).toList();
    }
  }

  Nodes nodes() {
    return nodes(Duration.ofMillis(800));
  }

  Nodes nodes(Duration timeout) {
    Http.Resp r = http.get(url(CONTROLLER) + "/nodes", timeout);
    if (!r.ok()) return null;
    Map<String, String> status = new LinkedHashMap<>();
    r.body().path("nodes").fields().forEachRemaining(e -> status.put(e.getKey(), e.getValue().path("status").asText()));
    return new Nodes(r.body().path("epoch").asLong(), status);
  }

  JsonNode status(String worker) {
    Http.Resp r = http.get(url(worker) + "/status", CALL);
    return r.ok() ? r.body() : null;
  }

  /** Whether the node's process answers HTTP at all (it may not be registered yet). */
  boolean answers(String node) {
    return http.get(url(node) + "/health/live", Duration.ofMillis(500)).status() == 200;
  }

  /** Whether {@code worker} holds a copy of {@code key} (live or tombstone), or null if it did not answer. */
  Boolean holds(String worker, String key) {
    Http.Resp r = http.get(url(worker) + "/replicate?key=" + Http.enc(key), CALL);
    if (!r.ok()) return null;
    return r.body().hasNonNull("version");
  }

  /**
   * Every worker UP in the controller's view, each ready, at the controller's epoch and done
   * rebalancing.
   */
  boolean settled() {
    Nodes n = nodes();
    if (n == null || n.upWorkers().size() != WORKERS.size()) return false;
    for (String w : WORKERS) {
      JsonNode s = status(w);
      if (s == null || s.path("epoch").asLong() != n.epoch() || s.path("rebalancing").asBoolean(true)
          || s.path("joining").asBoolean(true) || !s.path("membership").asText().startsWith("registered")) return false;
    }
    return true;
  }

  void awaitSettled(Duration deadline) {
    await("all four workers UP, at the controller's epoch, done rebalancing and done joining", deadline, 100, this::settled);
  }

  /** Total entries (live + tombstones) on the given workers, or -1 if one does not answer. */
  long storedEntries(Collection<String> workers) {
    long sum = 0;
    for (String w : workers) {
      JsonNode s = status(w);
      if (s == null) return -1;
      sum += s.path("keys").asLong() + s.path("tombstones").asLong();
    }
    return sum;
  }

  /** Polls {@code cond} every {@code pollMs} until it holds; returns the nanos it took, or fails. */
  /** The nodes' ANTI_ENTROPY_INTERVAL: short, so that a schedule's replicas agree within seconds of its end. */
  static final Duration ANTI_ENTROPY_INTERVAL = Duration.ofSeconds(2);

  static long await(String what, Duration deadline, long pollMs, BooleanSupplier cond) {
    long t0 = System.nanoTime();
    long end = t0 + deadline.toNanos();
    while (true) {
      if (cond.getAsBoolean()) return System.nanoTime() - t0;
      if (System.nanoTime() > end) throw new AssertionError("not within " + deadline.toSeconds() + " s: " + what);
      try {
        Thread.sleep(pollMs);   // a polling interval, not a wait for the condition itself
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for " + what);
      }
    }
  }

  /** The last lines of every node's logs of this run. */
  void dumpLogs(PrintStream out, int lines) {
    for (Path p : logs) {
      try {
        List<String> all = Files.readAllLines(p, StandardCharsets.UTF_8);
        out.println("----- " + p + " (last " + Math.min(lines, all.size()) + " of " + all.size() + " lines)");
        all.subList(Math.max(0, all.size() - lines), all.size()).forEach(out::println);
      } catch (IOException e) {
        out.println("----- " + p + ": " + e);
      }
    }
  }

  /**
   * Nodes of an earlier run of this directory whose test JVM died without cleaning up (kill -9 of the
   * build): each node's {@code .pid} file names the owner JVM and the node's process.
   */
  private static void killOrphans(Path logDir, Consumer<String> log) throws IOException {
    try (var files = Files.list(logDir)) {
      for (Path f : files.filter(p -> p.toString().endsWith(".pid")).toList()) {
        String[] ids = Files.readString(f).trim().split("\\s+");
        Files.delete(f);
        if (ids.length != 2) continue;
        boolean ownerAlive = ProcessHandle.of(Long.parseLong(ids[0])).map(ProcessHandle::isAlive).orElse(false);
        if (ownerAlive) continue;
        ProcessHandle.of(Long.parseLong(ids[1]))
            .filter(h -> h.info().commandLine().map(c -> c.contains("ringkv")).orElse(false))
            .ifPresent(h -> {
              log.accept("killing node process " + h.pid() + " left over by an earlier run");
              h.destroyForcibly();
            });
      }
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) return;
    try (var files = Files.walk(dir)) {
      for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.delete(p);
    }
  }

  private void destroyAll() {
    for (Process p : procs.values()) if (p.isAlive()) p.destroyForcibly();
  }

  @Override
  public void close() {
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // the JVM is shutting down: the hook runs anyway
    }
    destroyAll();
    for (Process p : procs.values()) {
      try {
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (proxy != null) proxy.close();
    if (linkProxy != null) linkProxy.close();
    for (String node : procs.keySet()) {
      try {
        Files.deleteIfExists(logDir.resolve(node + ".pid"));
      } catch (IOException e) {
        // a stale pid file names a dead process: harmless
      }
    }
    log.accept("cluster stopped; node logs in " + logDir);
  }
}
