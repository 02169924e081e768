package io.ringkv;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ringkv.config.NodeSettings;
import io.ringkv.net.NodeIdProbe;
import io.ringkv.storage.StorageException;
import io.ringkv.worker.LocalData;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.LoggerFactory;

/**
 * {@code java -jar ringkv.jar local|controller|worker}: loads the configuration once and starts the
 * node(s). {@code local} runs the controller and four workers in one JVM, one ActorSystem each.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    String role = args.length > 0 ? args[0] : System.getenv().getOrDefault("ROLE", "local");
    String format = System.getenv().getOrDefault("LOG_FORMAT", "text");
    if (format.equals("json")) System.setProperty("logback.configurationFile", "logback-json.xml");   // before any logger exists
    else if (!format.equals("text")) {
      System.err.println("ringkv: bad configuration: LOG_FORMAT must be text or json (got '" + format + "')");
      System.exit(2);
    }
    if (role.equals("bench")) {
      io.ringkv.bench.Bench.main(java.util.Arrays.copyOfRange(args, 1, args.length));
      return;
    }
    if (role.equals("cli")) {
      io.ringkv.cli.Cli.main(java.util.Arrays.copyOfRange(args, 1, args.length));
      return;
    }
    Config config = ConfigFactory.load();
    LoggerFactory.getLogger(Main.class).debug("starting {}", role);   // initialise logging before any ActorSystem does
    List<ActorSystem<Void>> systems;
    try {
      systems = switch (role) {
        case "local" -> startLocal(config);
        case "controller" -> List.of(startController(config));
        case "worker" -> List.of(startWorker(config, false));
        default -> {
          System.err.println("usage: java -jar ringkv.jar [local|controller|worker|bench|cli]   (got '" + role + "')");
          System.exit(2);
          yield List.of();
        }
      };
    } catch (IllegalArgumentException | com.typesafe.config.ConfigException e) {
      System.err.println("ringkv: bad configuration: " + e.getMessage());
      System.exit(2);
      return;
    } catch (StorageException e) {
      System.err.println("ringkv: " + e.getMessage());
      System.exit(2);
      return;
    }
    // a node that stops by itself (e.g. its port was taken) ends the process with a non-zero code;
    // in local mode the process lives as long as its controller does
    ActorSystem<Void> main = systems.get(0);
    main.getWhenTerminated().thenRun(() -> {
      boolean jvmExit = CoordinatedShutdown.get(main).getShutdownReason()
          .map(CoordinatedShutdown.jvmExitReason()::equals).orElse(false);
      if (!jvmExit) new Thread(() -> System.exit(1)).start();
    });
  }

  public static ActorSystem<Void> startController(Config config) {
    NodeSettings s = NodeSettings.from(withDefaultPort(config, 8000));
    return ActorSystem.create(Guardian.controller(s), "controller", config);
  }

  /** Starts a worker with the data in its data directory; throws {@link StorageException} if that directory must not be used. */
  public static ActorSystem<Void> startWorker(Config config, boolean adminStop) {
    NodeSettings s = NodeIdProbe.resolve(NodeSettings.from(config), config.getString("ringkv.node-id-fallback"));
    LocalData data = LocalData.open(s);
    try {
      return ActorSystem.create(Guardian.worker(s, data, adminStop), systemName(s.nodeId()), config);
    } catch (RuntimeException e) {
      data.close();
      throw e;
    }
  }

  static List<ActorSystem<Void>> startLocal(Config config) {
    NodeSettings.LocalLayout layout = NodeSettings.localLayout(config);
    List<ActorSystem<Void>> systems = new ArrayList<>();
    Config controller = node(config, "controller", layout.host(), layout.controllerPort());
    systems.add(startController(controller));
    String controllerAddr = "http://" + layout.host() + ":" + layout.controllerPort();
    for (int i = 0; i < layout.workerPorts().size(); i++) {
      Config w = node(config, "worker" + (i + 1), layout.host(), layout.workerPorts().get(i))
          .withFallback(ConfigFactory.parseMap(Map.of("ringkv.controller-addr", controllerAddr)));
      systems.add(startWorker(ConfigFactory.parseMap(Map.of("ringkv.controller-addr", controllerAddr)).withFallback(w), true));
    }
    return systems;
  }

  private static Config node(Config base, String id, String host, int port) {
    return ConfigFactory.parseMap(Map.of(
        "ringkv.node-id", id,
        "ringkv.http.host", host,
        "ringkv.http.port", port,
        "ringkv.advertise-host", host,
        "ringkv.link.port", 0,             // any free port each: the four workers share this machine
        "ringkv.link.advertise-port", 0)).withFallback(base);
  }

  /** The controller listens on 8000 unless PORT says otherwise (workers default to 8001). */
  private static Config withDefaultPort(Config config, int port) {
    if (System.getenv("PORT") != null || config.getInt("ringkv.http.port") != 8001) return config;
    return ConfigFactory.parseMap(Map.of("ringkv.http.port", port)).withFallback(config);
  }

  static String systemName(String nodeId) {
    String s = nodeId.replaceAll("[^A-Za-z0-9_-]", "-");
    return s.isEmpty() || !Character.isLetterOrDigit(s.charAt(0)) ? "node-" + s : s;
  }
}
