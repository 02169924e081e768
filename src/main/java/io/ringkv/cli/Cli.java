package io.ringkv.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ringkv.cluster.ClusterView;
import io.ringkv.net.Wire;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code java -jar ringkv.jar cli ...}: a command-line client over the REST API. The worker to talk
 * to comes from {@code --url} or {@code RINGKV_URL}, the controller from {@code --controller} or
 * {@code RINGKV_CONTROLLER}, the API token from {@code API_TOKEN}. Exit codes: 0 done, 1 key not
 * found, 2 bad usage, 3 cluster unreachable, 4 unavailable (503: quorum not reached, no view),
 * 5 unauthorized (401), 6 any other error.
 */
@Command(name = "ringkv cli", mixinStandardHelpOptions = true, version = "ringkv cli",
    description = "A command-line client for a ringkv cluster.",
    subcommands = {Cli.Put.class, Cli.Get.class, Cli.Delete.class, Cli.Nodes.class, Cli.Mapping.class, Cli.Status.class,
        Cli.Ring.class},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {"0:done", "1:key not found", "2:bad usage", "3:cluster unreachable",
        "4:unavailable (503: quorum not reached, no view yet)", "5:unauthorized (401: set API_TOKEN)", "6:another error"})
public final class Cli {
  static final int NOT_FOUND = 1;
  static final int UNREACHABLE = 3;
  static final int UNAVAILABLE = 4;
  static final int UNAUTHORIZED = 5;
  static final int OTHER = 6;

  @Option(names = "--url", description = "A worker's base URL (default: $RINGKV_URL, else http://127.0.0.1:8101)")
  String url;

  @Option(names = "--controller", description = "The controller's base URL (default: $RINGKV_CONTROLLER, else http://127.0.0.1:8000)")
  String controller;

  @Option(names = "--timeout", description = "Seconds per request (default: ${DEFAULT-VALUE})", defaultValue = "10")
  int timeoutSeconds;

  private final Map<String, String> env;
  private final PrintWriter out;
  private final PrintWriter err;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();

  Cli(Map<String, String> env, PrintWriter out, PrintWriter err) {
    this.env = env;
    this.out = out;
    this.err = err;
  }

  /** Runs the command line; returns the exit code. */
  public static int run(String[] args, Map<String, String> env, PrintWriter out, PrintWriter err) {
    Cli cli = new Cli(env, out, err);
    CommandLine cmd = new CommandLine(cli);
    cmd.setOut(out);
    cmd.setErr(err);
    cmd.setExecutionExceptionHandler((e, c, parsed) -> {
      if (e instanceof Failure f) {
        err.println("ringkv: " + f.getMessage());
        return f.code;
      }
      err.println("ringkv: " + e);
      return OTHER;
    });
    int code = cmd.execute(args);
    out.flush();
    err.flush();
    return code;
  }

  public static void main(String[] args) {
    System.exit(run(args, System.getenv(), new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /** A failure with its exit code and a message for the user. */
  static final class Failure extends RuntimeException {
    final int code;

    Failure(int code, String message) {
      super(message);
      this.code = code;
    }
  }

  String workerUrl() {
    return strip(url != null ? url : env.getOrDefault("RINGKV_URL", "http://127.0.0.1:8101"));
  }

  String controllerUrl() {
    return strip(controller != null ? controller : env.getOrDefault("RINGKV_CONTROLLER", "http://127.0.0.1:8000"));
  }

  private static String strip(String u) {
    return u.endsWith("/") ? u.substring(0, u.length() - 1) : u;
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  /** One request; an answer is returned whatever its status, a failure to connect is exit code 3. */
  HttpResponse<String> send(String method, String target, String body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(target)).timeout(Duration.ofSeconds(timeoutSeconds))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) b.header("Content-Type", "application/json");
    String token = env.getOrDefault("API_TOKEN", "");
    if (!token.isEmpty()) b.header("Authorization", "Bearer " + token);
    try {
      return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      String base = target.substring(0, target.indexOf('/', target.indexOf("//") + 2) < 0 ? target.length()
          : target.indexOf('/', target.indexOf("//") + 2));
      throw new Failure(UNREACHABLE, "cannot reach " + base + " (" + (e.getMessage() == null ? e.getClass().getSimpleName()
          : e.getMessage()) + "): is the cluster running? (set RINGKV_URL / RINGKV_CONTROLLER or --url / --controller)");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Failure(OTHER, "interrupted");
    }
  }

  /** The JSON of a 2xx answer (404 too when {@code notFoundOk}); anything else becomes the right exit code. */
  JsonNode ok(HttpResponse<String> r, boolean notFoundOk) {
    JsonNode body;
    try {
      body = Wire.JSON.readTree(r.body());
    } catch (IOException e) {
      body = Wire.NODES.objectNode().put("detail", r.body());
    }
    int s = r.statusCode();
    if (s / 100 == 2 || (notFoundOk && s == 404)) return body;
    String detail = body.path("detail").asText(r.body());
    if (s == 401) throw new Failure(UNAUTHORIZED, "unauthorized (401): " + detail + " (set API_TOKEN)");
    if (s == 503) throw new Failure(UNAVAILABLE, "unavailable (503): " + detail);
    throw new Failure(OTHER, "the server answered " + s + ": " + detail);
  }

  JsonNode getJson(String target) {
    return ok(send("GET", target, null), false);
  }

  @Command(name = "put", description = "Writes KEY = VALUE (acknowledged by a write quorum).")
  static final class Put implements Callable<Integer> {
    @CommandLine.ParentCommand Cli cli;
    @Parameters(index = "0", paramLabel = "KEY") String key;
    @Parameters(index = "1", paramLabel = "VALUE") String value;

    @Override
    public Integer call() {
      ObjectNode body = Wire.NODES.objectNode().put("key", key).put("value", value);
      JsonNode r = cli.ok(cli.send("PUT", cli.workerUrl() + "/kv", body.toString()), false);
      cli.out.println("ok " + key + " version " + r.path("version").asText() + " acked by " + r.path("acked_by"));
      return 0;
    }
  }

  @Command(name = "get", description = "Reads KEY at the read quorum; prints its value (exit code 1 if it is not found).")
  static final class Get implements Callable<Integer> {
    @CommandLine.ParentCommand Cli cli;
    @Parameters(index = "0", paramLabel = "KEY") String key;

    @Override
    public Integer call() {
      var r = cli.send("GET", cli.workerUrl() + "/kv?key=" + enc(key), null);
      JsonNode j = cli.ok(r, true);
      if (r.statusCode() == 404) {
        cli.err.println("ringkv: " + key + ": " + j.path("detail").asText("not found"));
        return NOT_FOUND;
      }
      cli.out.println(j.path("value").asText());
      return 0;
    }
  }

  @Command(name = "delete", description = "Deletes KEY (a versioned tombstone, acknowledged by a write quorum).")
  static final class Delete implements Callable<Integer> {
    @CommandLine.ParentCommand Cli cli;
    @Parameters(index = "0", paramLabel = "KEY") String key;

    @Override
    public Integer call() {
      JsonNode r = cli.ok(cli.send("DELETE", cli.workerUrl() + "/kv?key=" + enc(key), null), false);
      cli.out.println("deleted " + key + " (acked by " + r.path("acked_by") + ")");
      return 0;
    }
  }

  @Command(name = "nodes", description = "The controller's members: id, address, status, last heartbeat.")
  static final class Nodes implements Callable<Integer> {
    @CommandLine.ParentCommand Cli cli;

    @Override
    public Integer call() {
      JsonNode n = cli.getJson(cli.controllerUrl() + "/nodes");
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"NODE", "ADDRESS", "STATUS", "LAST HEARD"});
      double now = System.currentTimeMillis() / 1000.0;
      n.path("nodes").fields().forEachRemaining(e -> rows.add(new String[] {e.getKey(),
          e.getValue().path("host").asText() + ":" + e.getValue().path("port").asInt(), e.getValue().path("status").asText(),
          String.format(java.util.Locale.ROOT, "%.1f s ago", now - e.getValue().path("ts").asDouble())}));
      table(cli.out, rows);
      cli.out.println("epoch " + n.path("epoch").asLong());
      return 0;
    }
  }

  @Command(name = "mapping", description = "The owners of KEY, primary first.")
  static final class Mapping implements Callable<Integer> {
    @CommandLine.ParentCommand Cli cli;
    @Parameters(index = "0", paramLabel = "KEY") String key;

    @Override
    public Integer call() {
      JsonNode m = cli.getJson(cli.controllerUrl() + "/mapping?key=" + enc(key));
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"", "NODE", "ADDRESS"});
      int i = 0;
      for (JsonNode o : m.path("mapping"))
        rows.add(new String[] {i++ == 0 ? "primary" : "replica", o.path("node_id").asText(), o.path("host").asText() + ":" + o.path("port").asInt()});
      table(cli.out, rows);
      return 0;
    }
  }

  @Command(name = "status", description = "Every node's state: status, keys, epoch, rebalancing, joining, hints, anti-entropy.")
  static final class Status implements Callable<Integer> {
    @CommandLine.ParentCommand Cli cli;

    @Override
    public Integer call() {
      JsonNode cluster = cli.getJson(cli.controllerUrl() + "/cluster");   // every UP worker's /status, gathered by the controller
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"NODE", "STATUS", "KEYS", "TOMBSTONES", "EPOCH", "REBALANCING", "JOINING", "HINTS", "AE REPAIRED"});
      for (JsonNode n : cluster.path("nodes")) {
        String status = n.path("status").asText();
        JsonNode w = n.path("worker");
        if (w.isMissingNode()) {
          rows.add(new String[] {n.path("id").asText(), status.equals("UP") ? "UP (no answer)" : status, "-", "-", "-", "-", "-", "-", "-"});
          continue;
        }
        JsonNode r = w.path("rebalance");
        String rebalancing = !w.path("rebalancing").asBoolean() ? "no"
            : r.isMissingNode() ? "yes" : "yes, " + r.path("entries_pushed").asLong() + " of " + r.path("entries_to_push").asLong();
        rows.add(new String[] {n.path("id").asText(), status, w.path("keys").asText(), w.path("tombstones").asText(),
            w.path("epoch").asText(), rebalancing, w.path("joining").asBoolean() ? "yes" : "no", w.path("hints").asText(),
            w.path("keys_repaired").asText()});
      }
      table(cli.out, rows);
      cli.out.println("controller epoch " + cluster.path("epoch").asLong());
      return 0;
    }
  }

  @Command(name = "ring", description = "Each UP node's share of the ring: as primary, and as one of the replicas.")
  static final class Ring implements Callable<Integer> {
    @CommandLine.ParentCommand Cli cli;

    @Override
    public Integer call() {
      JsonNode j = cli.getJson(cli.controllerUrl() + "/ring");
      int n = j.path("replication_factor").asInt(3);
      ClusterView view = Wire.readView(j, j.path("vnodes").asInt(384));
      Map<String, double[]> share = view.ring().shares(n);
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"NODE", "PRIMARY", "OWNER (any of " + n + ")"});
      share.forEach((node, s) -> rows.add(new String[] {node, pct(s[0]), pct(s[1])}));
      table(cli.out, rows);
      cli.out.println("epoch " + view.epoch() + ", " + view.ring().nodes().size() + " UP, " + view.ring().vnodes() + " vnodes each");
      return 0;
    }

    private static String pct(double x) {
      return String.format(java.util.Locale.ROOT, "%.1f%%", 100 * x);
    }
  }

  static void table(PrintWriter out, List<String[]> rows) {
    int cols = rows.get(0).length;
    int[] width = new int[cols];
    for (String[] r : rows) for (int c = 0; c < cols; c++) width[c] = Math.max(width[c], r[c].length());
    for (String[] r : rows) {
      StringBuilder b = new StringBuilder();
      for (int c = 0; c < cols; c++) b.append(String.format("%-" + (width[c] + 2) + "s", r[c]));
      out.println(b.toString().stripTrailing());
    }
  }
}
