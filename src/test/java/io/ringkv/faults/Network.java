package io.ringkv.faults;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Where the nodes of a {@link ProcessCluster} live. {@link Namespaces}: each node in its own network
 * namespace with its own address, all on one bridge (itself in a namespace of its own, so the host's
 * firewall never sees the bridged traffic), the test JVM reaching them from the root namespace through
 * one more veth; a node can be cut off by taking its link down. {@link Loopback}: every node on
 * 127.0.0.1 with its own port, no partitions.
 */
interface Network extends AutoCloseable {
  /** The address of the test JVM as the nodes see it (where the delaying proxy listens). */
  String harnessHost();

  String hostOf(String node);

  int portOf(String node);

  /** The command that runs {@code cmd} on {@code node}'s host. */
  List<String> wrap(String node, List<String> cmd);

  boolean canPartition();

  /** Cuts {@code node} off from everyone (the other nodes, the controller and the client). */
  void cut(String node);

  void heal(String node);

  /** One line for the figures: how the nodes are laid out. */
  String describe();

  @Override
  void close();

  /** Loopback processes on free ports of 127.0.0.1. */
  final class Loopback implements Network {
    private final Map<String, Integer> ports = new LinkedHashMap<>();
    private final String why;

    Loopback(List<String> nodes, String why) {
      this.why = why;
      for (String n : nodes) ports.put(n, freePort());
    }

    @Override public String harnessHost() { return "127.0.0.1"; }
    @Override public String hostOf(String node) { return "127.0.0.1"; }
    @Override public int portOf(String node) { return ports.get(node); }
    @Override public List<String> wrap(String node, List<String> cmd) { return cmd; }
    @Override public boolean canPartition() { return false; }
    @Override public void cut(String node) { throw new UnsupportedOperationException("no partitions on loopback: " + why); }
    @Override public void heal(String node) { throw new UnsupportedOperationException("no partitions on loopback: " + why); }
    @Override public String describe() { return "plain loopback processes (no network namespaces: " + why + ")"; }
    @Override public void close() {}

    static int freePort() {
      try (ServerSocket s = new ServerSocket(0)) {
        return s.getLocalPort();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /**
   * One namespace per node plus a hub namespace holding the bridge, named {@code rkvf-<pid>-...} after
   * this JVM's pid so that leftovers of a crashed run (whose pid is gone) can be told from a live run
   * and removed. Addresses: a private 10.231.k.0/24 not in use on the host; the harness is .1, the
   * nodes .2 and up.
   */
  final class Namespaces implements Network {
    static final String PREFIX = "rkvf";
    private static final int PORT = 8000;
    private final String run = String.valueOf(ProcessHandle.current().pid());
    private final String hub = PREFIX + "-" + run + "-hub";
    private final String rootLink = PREFIX + run + "h";
    private final Map<String, String> ns = new LinkedHashMap<>();
    private final Map<String, String> ip = new LinkedHashMap<>();
    private final Map<String, String> hubLink = new LinkedHashMap<>();
    private final List<String> created = new ArrayList<>();
    private final int subnet;
    /** Removes the namespaces if the test JVM is stopped before {@link #close}. */
    private final Thread shutdownHook = new Thread(this::tearDown, "namespaces-shutdown");

    private Namespaces(List<String> nodes, int subnet) {
      this.subnet = subnet;
      int i = 0;
      for (String n : nodes) {
        ns.put(n, PREFIX + "-" + run + "-" + n);
        ip.put(n, "10.231." + subnet + "." + (2 + i));
        hubLink.put(n, "v" + i);
        i++;
      }
    }

    /** Creates the namespaces, or explains why it cannot (not root, no {@code ip}, ...). */
    static Network createOrFallBack(List<String> nodes, Consumer<String> log) {
      if (Boolean.getBoolean("ringkv.faults.loopback")) return new Loopback(nodes, "-Dringkv.faults.loopback=true");
      String why = unavailable();
      if (why != null) {
        log.accept("network namespaces unavailable (" + why + "): falling back to loopback; the partition schedule is skipped");
        return new Loopback(nodes, why);
      }
      removeLeftovers(log);
      Optional<Integer> subnet = freeSubnet();
      if (subnet.isEmpty()) return new Loopback(nodes, "no free 10.231.x.0/24");
      Namespaces n = new Namespaces(nodes, subnet.get());
      try {
        Runtime.getRuntime().addShutdownHook(n.shutdownHook);
        n.setUp();
        return n;
      } catch (RuntimeException e) {
        n.close();
        log.accept("could not set up network namespaces (" + e.getMessage() + "): falling back to loopback");
        return new Loopback(nodes, e.getMessage());
      }
    }

    private static String unavailable() {
      Sh.Result id = Sh.run("id", "-u");
      if (!id.ok() || !id.output().equals("0")) return "not root";
      if (!Sh.run("ip", "-V").ok()) return "no ip (iproute2)";
      String probe = PREFIX + "-" + ProcessHandle.current().pid() + "-probe";
      Sh.Result add = Sh.run("ip", "netns", "add", probe);
      if (!add.ok()) return "ip netns add failed: " + add.output();
      Sh.run("ip", "netns", "del", probe);
      return null;
    }

    /** Namespaces and links of earlier runs whose JVM is gone (a crash, a kill -9 of the build). */
    private static void removeLeftovers(Consumer<String> log) {
      Sh.Result list = Sh.run("ip", "netns", "list");
      if (list.ok()) {
        for (String line : list.output().split("\n")) {
          String name = line.trim().split("\\s+")[0];
          if (!name.startsWith(PREFIX + "-")) continue;
          String[] parts = name.split("-");
          if (parts.length < 3 || alive(parts[1])) continue;
          log.accept("removing leftover namespace " + name);
          killAllIn(name);
          Sh.run("ip", "netns", "del", name);
        }
      }
      Sh.Result links = Sh.run("ip", "-o", "link", "show");
      if (links.ok()) {
        for (String line : links.output().split("\n")) {
          String[] f = line.split(":\\s+");
          if (f.length < 2) continue;
          String name = f[1].split("@")[0];
          if (!name.startsWith(PREFIX) || !name.endsWith("h")) continue;
          String pid = name.substring(PREFIX.length(), name.length() - 1);
          if (!pid.matches("[0-9]+") || alive(pid)) continue;
          log.accept("removing leftover link " + name);
          Sh.run("ip", "link", "del", name);
        }
      }
    }

    private static boolean alive(String pid) {
      try {
        return ProcessHandle.of(Long.parseLong(pid)).map(ProcessHandle::isAlive).orElse(false);
      } catch (NumberFormatException e) {
        return true;   // not ours to judge
      }
    }

    private static void killAllIn(String namespace) {
      Sh.Result pids = Sh.run("ip", "netns", "pids", namespace);
      if (!pids.ok() || pids.output().isBlank()) return;
      for (String pid : pids.output().split("\\s+")) Sh.run("kill", "-9", pid);
    }

    private static Optional<Integer> freeSubnet() {
      String addrs = Sh.run("ip", "-4", "-o", "addr", "show").output() + "\n" + Sh.run("ip", "-4", "route", "show").output();
      int start = (int) (ProcessHandle.current().pid() % 200) + 20;
      for (int i = 0; i < 230; i++) {
        int k = 20 + (start - 20 + i) % 230;
        if (!addrs.contains("10.231." + k + ".")) return Optional.of(k);
      }
      return Optional.empty();
    }

    private void setUp() {
      addNs(hub);
      Sh.must("ip", "-n", hub, "link", "add", "br0", "type", "bridge");
      Sh.must("ip", "-n", hub, "link", "set", "br0", "up");
      Sh.must("ip", "-n", hub, "link", "set", "lo", "up");
      Sh.must("ip", "link", "add", rootLink, "type", "veth", "peer", "name", "up0", "netns", hub);
      Sh.must("ip", "-n", hub, "link", "set", "up0", "master", "br0");
      Sh.must("ip", "-n", hub, "link", "set", "up0", "up");
      Sh.must("ip", "addr", "add", harnessHost() + "/24", "dev", rootLink);
      Sh.must("ip", "link", "set", rootLink, "up");
      for (String node : ns.keySet()) {
        String n = ns.get(node);
        addNs(n);
        String v = hubLink.get(node);
        Sh.must("ip", "-n", hub, "link", "add", v, "type", "veth", "peer", "name", "eth0", "netns", n);
        Sh.must("ip", "-n", hub, "link", "set", v, "master", "br0");
        Sh.must("ip", "-n", hub, "link", "set", v, "up");
        Sh.must("ip", "-n", n, "addr", "add", ip.get(node) + "/24", "dev", "eth0");
        Sh.must("ip", "-n", n, "link", "set", "eth0", "up");
        Sh.must("ip", "-n", n, "link", "set", "lo", "up");
      }
    }

    private void addNs(String name) {
      Sh.must("ip", "netns", "add", name);
      created.add(name);
    }

    @Override public String harnessHost() { return "10.231." + subnet + ".1"; }
    @Override public String hostOf(String node) { return ip.get(node); }
    @Override public int portOf(String node) { return PORT; }

    @Override
    public List<String> wrap(String node, List<String> cmd) {
      List<String> out = new ArrayList<>(List.of("ip", "netns", "exec", ns.get(node)));
      out.addAll(cmd);
      return out;
    }

    @Override public boolean canPartition() { return true; }

    @Override
    public void cut(String node) {
      Sh.must("ip", "-n", hub, "link", "set", hubLink.get(node), "down");
    }

    @Override
    public void heal(String node) {
      Sh.must("ip", "-n", hub, "link", "set", hubLink.get(node), "up");
    }

    @Override
    public String describe() {
      return "one network namespace per node on a bridge, 10.231." + subnet + ".0/24, port " + PORT
          + "; the client in the root namespace";
    }

    @Override
    public void close() {
      try {
        Runtime.getRuntime().removeShutdownHook(shutdownHook);
      } catch (IllegalStateException | IllegalArgumentException e) {
        // shutting down (the hook runs anyway), or never registered
      }
      tearDown();
    }

    private synchronized void tearDown() {
      for (int i = created.size() - 1; i >= 0; i--) killAllIn(created.get(i));
      Sh.run("ip", "link", "del", rootLink);
      for (int i = created.size() - 1; i >= 0; i--) Sh.run("ip", "netns", "del", created.get(i));
      created.clear();
    }
  }
}
