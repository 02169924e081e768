package io.ringkv.config;

import com.typesafe.config.Config;
import java.lang.reflect.RecordComponent;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import io.ringkv.storage.Durability;

/** Everything a node reads from configuration, read once at start and passed down. */
public record NodeSettings(
    String nodeId,
    String bindHost,
    int port,
    String advertiseHost,
    int advertisePort,
    int peerPort,
    int advertisePeerPort,
    String controllerAddr,
    int replicationFactor,
    int writeQuorum,
    int readQuorum,
    Duration requestTimeout,
    Duration peerTimeout,
    Duration heartbeatInterval,
    Duration heartbeatTimeout,
    Duration registerBackoffMin,
    Duration registerBackoffMax,
    int vnodes,
    int maxKeyBytes,
    int maxValueBytes,
    int storeShards,
    Duration tombstoneTtl,
    int rebalanceBatch,
    int rebalanceParallelism,
    Duration rebalancePushTimeout,
    int rebalanceMaxRate,
    String clusterToken,
    Duration leaveTimeout,
    String apiToken,
    Duration maxClockSkew,
    Duration clockOffset,
    int linkMaxConnections,
    boolean checkClockAgainstController,
    String dataDir,
    Durability durability,
    Duration syncInterval,
    Duration groupCommitWindow,
    long storageMemoryBytes,
    Duration antiEntropyInterval,
    Duration hintWindow,
    boolean metricsEnabled) {

  /** The placeholders the repository's deployment files carried: a node refuses to start with one. */
  static final Set<String> SHIPPED_TOKENS = Set.of("CHANGE-ME-ringkv-demo-token", "ringkv-compose-dev-token");

  /** Components whose values are secrets: {@link #toString} prints them masked. */
  private static final Set<String> SECRETS = Set.of("clusterToken", "apiToken");

  public NodeSettings {
    if (replicationFactor < 1) throw new IllegalArgumentException("REPLICATION_FACTOR must be >= 1");
    if (writeQuorum < 1 || writeQuorum > replicationFactor)
      throw new IllegalArgumentException("WRITE_QUORUM must be between 1 and REPLICATION_FACTOR");
    if (readQuorum < 1 || readQuorum > replicationFactor)
      throw new IllegalArgumentException("READ_QUORUM must be between 1 and REPLICATION_FACTOR");
    if (heartbeatTimeout.compareTo(heartbeatInterval.multipliedBy(2)) <= 0)
      throw new IllegalArgumentException("HEARTBEAT_TIMEOUT must exceed two HEARTBEAT_INTERVALs");
    if (nodeId == null || nodeId.isBlank()) throw new IllegalArgumentException("NODE_ID must not be empty");
    if (maxClockSkew.isNegative()) throw new IllegalArgumentException("MAX_CLOCK_SKEW must not be negative");
    if (linkMaxConnections < 1) throw new IllegalArgumentException("LINK_MAX_CONNECTIONS must be >= 1");
    for (String token : new String[] {clusterToken, apiToken}) {
      if (token != null && (SHIPPED_TOKENS.contains(token) || token.toUpperCase(java.util.Locale.ROOT).contains("CHANGE-ME")))
        throw new IllegalArgumentException("a token is the placeholder from the repository; every node needs a secret of"
            + " its own, for example the output of `openssl rand -hex 32`");
    }
    if (durability != Durability.MEMORY && (dataDir == null || dataDir.isBlank()))
      throw new IllegalArgumentException("DATA_DIR must not be empty (or set DURABILITY=memory)");
    if (syncInterval.isNegative() || syncInterval.isZero()) throw new IllegalArgumentException("SYNC_INTERVAL must be positive");
    if (groupCommitWindow.isNegative() || groupCommitWindow.compareTo(Duration.ofMillis(100)) > 0)
      throw new IllegalArgumentException("GROUP_COMMIT_WINDOW must be between 0 and 100ms");
    if (storageMemoryBytes < (8L << 20)) throw new IllegalArgumentException("STORAGE_MEMORY must be at least 8MiB");
    if (antiEntropyInterval.compareTo(Duration.ofMillis(100)) < 0)
      throw new IllegalArgumentException("ANTI_ENTROPY_INTERVAL must be at least 100ms");
    if (hintWindow.isNegative() || hintWindow.compareTo(tombstoneTtl) >= 0)
      throw new IllegalArgumentException("HINT_WINDOW must be shorter than TOMBSTONE_TTL: an older hint could bring back a"
          + " value whose delete has been purged");
    if (storeShards < 1) throw new IllegalArgumentException("STORE_SHARDS must be >= 1");
    if (peerPort < 0 || peerPort > 65535) throw new IllegalArgumentException("PEER_PORT must be between 0 and 65535");
    if (advertisePeerPort < 0 || advertisePeerPort > 65535)
      throw new IllegalArgumentException("ADVERTISE_PEER_PORT must be between 0 and 65535");
  }

  public static NodeSettings from(Config root) {
    Config c = root.getConfig("ringkv");
    String advertise = c.getString("advertise-host");
    if (advertise.isBlank()) advertise = localAddress();
    return new NodeSettings(
        c.getString("node-id"),
        c.getString("http.host"),
        c.getInt("http.port"),
        advertise,
        c.getInt("advertise-port") > 0 ? c.getInt("advertise-port") : c.getInt("http.port"),
        c.getInt("link.port"),
        c.getInt("link.advertise-port"),
        stripSlash(c.getString("controller-addr")),
        c.getInt("replication.factor"),
        c.getInt("replication.write-quorum"),
        c.getInt("replication.read-quorum"),
        c.getDuration("replication.request-timeout"),
        c.getDuration("replication.peer-timeout"),
        c.getDuration("membership.heartbeat-interval"),
        c.getDuration("membership.heartbeat-timeout"),
        c.getDuration("membership.register-backoff-min"),
        c.getDuration("membership.register-backoff-max"),
        c.getInt("ring.vnodes"),
        c.getInt("limits.max-key-bytes"),
        c.getInt("limits.max-value-bytes"),
        c.getInt("storage.shards"),
        c.getDuration("storage.tombstone-ttl"),
        c.getInt("rebalance.batch-size"),
        c.getInt("rebalance.parallelism"),
        c.getDuration("rebalance.push-timeout"),
        c.getInt("rebalance.max-rate"),
        c.getString("cluster-token"),
        c.getDuration("leave-timeout"),
        c.getString("api-token"),
        c.getDuration("max-clock-skew"),
        c.getDuration("testing.clock-offset"),
        c.getInt("link.max-connections"),
        c.getBoolean("testing.check-clock-against-controller"),
        c.getString("storage.data-dir"),
        Durability.parse(c.getString("storage.durability")),
        c.getDuration("storage.sync-interval"),
        c.getDuration("storage.group-commit-window"),
        c.getBytes("storage.memory"),
        c.getDuration("anti-entropy.interval"),
        c.getDuration("anti-entropy.hint-window"),
        c.getBoolean("metrics.enabled"));
  }

  /** This worker's own data directory: {@code DATA_DIR/<node id>}. */
  public java.nio.file.Path nodeDataDir() {
    return java.nio.file.Path.of(dataDir).resolve(nodeId).toAbsolutePath();
  }

  /** The ports of the embedded local cluster: controller first, then the workers. */
  public static LocalLayout localLayout(Config root) {
    Config c = root.getConfig("ringkv.local");
    return new LocalLayout(c.getString("host"), c.getInt("controller-port"), c.getIntList("worker-ports"));
  }

  public record LocalLayout(String host, int controllerPort, List<Integer> workerPorts) {}

  public NodeSettings withNode(String id, String host, int port) {
    return new NodeSettings(id, host, port, host, port, 0, 0, controllerAddr, replicationFactor, writeQuorum, readQuorum,
        requestTimeout, peerTimeout, heartbeatInterval, heartbeatTimeout, registerBackoffMin, registerBackoffMax,
        vnodes, maxKeyBytes, maxValueBytes, storeShards, tombstoneTtl, rebalanceBatch, rebalanceParallelism,
        rebalancePushTimeout, rebalanceMaxRate, clusterToken, leaveTimeout, apiToken, maxClockSkew, clockOffset,
        linkMaxConnections, checkClockAgainstController, dataDir, durability, syncInterval, groupCommitWindow, storageMemoryBytes,
        antiEntropyInterval, hintWindow, metricsEnabled);
  }

  public NodeSettings withNodeId(String id) {
    return new NodeSettings(id, bindHost, port, advertiseHost, advertisePort, peerPort, advertisePeerPort, controllerAddr, replicationFactor, writeQuorum,
        readQuorum, requestTimeout, peerTimeout, heartbeatInterval, heartbeatTimeout, registerBackoffMin,
        registerBackoffMax, vnodes, maxKeyBytes, maxValueBytes, storeShards, tombstoneTtl, rebalanceBatch,
        rebalanceParallelism, rebalancePushTimeout, rebalanceMaxRate, clusterToken, leaveTimeout, apiToken, maxClockSkew,
        clockOffset, linkMaxConnections, checkClockAgainstController, dataDir, durability, syncInterval, groupCommitWindow, storageMemoryBytes,
        antiEntropyInterval, hintWindow, metricsEnabled);
  }

  /** Every setting, the secrets masked ("" when unset, "***" when set): safe to log. */
  @Override
  public String toString() {
    StringBuilder b = new StringBuilder("NodeSettings[");
    RecordComponent[] components = NodeSettings.class.getRecordComponents();
    for (int i = 0; i < components.length; i++) {
      RecordComponent c = components[i];
      Object value;
      try {
        value = c.getAccessor().invoke(this);
      } catch (ReflectiveOperationException e) {
        value = "?";
      }
      if (SECRETS.contains(c.getName())) value = value == null || value.toString().isEmpty() ? "" : "***";
      b.append(i == 0 ? "" : ", ").append(c.getName()).append('=').append(value);
    }
    return b.append(']').toString();
  }

  private static String stripSlash(String s) {
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }

  private static String localAddress() {
    try {
      return InetAddress.getLocalHost().getHostAddress();
    } catch (UnknownHostException e) {
      return "127.0.0.1";
    }
  }
}
