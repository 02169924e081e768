package io.ringkv.bench;

import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;

/** The load generator's command line. */
record BenchOptions(List<URI> targets, int connections, Duration duration, Duration warmup, double rate, int keys,
    int valueSize, int putPercent, int deletePercent, double zipfTheta, boolean load, boolean verify, String prefix,
    String token, Duration timeout, String label, String bulk, String diverge, String api) {

  /** {@code --api etcd}: etcd's v3 JSON gateway instead of ringkv's /kv. */
  boolean etcd() {
    return api.equals("etcd");
  }

  boolean openLoop() {
    return rate > 0;
  }

  String mix() {
    if (verify) return "verify";
    if (load) return "load";
    return "put=" + putPercent + ",delete=" + deletePercent + ",get=" + (100 - putPercent - deletePercent);
  }

  static BenchOptions parse(String[] args) {
    List<URI> targets = uris("http://127.0.0.1:8101,http://127.0.0.1:8201,http://127.0.0.1:8301,http://127.0.0.1:8401");
    int connections = 32;
    Duration duration = Duration.ofSeconds(10);
    Duration warmup = Duration.ofSeconds(2);
    double rate = 0;
    int keys = 100_000;
    int valueSize = 100;
    int put = 50;
    int del = 0;
    double zipf = 0;
    boolean load = false;
    boolean verify = false;
    String prefix = "key-";
    String token = "";
    Duration timeout = Duration.ofSeconds(5);
    String label = "";
    String bulk = "";
    String diverge = "";
    String api = "ringkv";
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--help") || a.equals("-h")) throw new Usage(null);
      if (i + 1 >= args.length && !a.equals("--load") && !a.equals("--verify") && !a.equals("--zipf")) {
        throw new Usage(a + " needs a value");
      }
      try {
        switch (a) {
          case "--targets", "-t" -> targets = uris(args[++i]);
          case "--connections", "-c" -> connections = positive(a, Integer.parseInt(args[++i]));
          case "--duration", "-d" -> duration = seconds(args[++i]);
          case "--warmup" -> warmup = seconds(args[++i]);
          case "--rate", "-r" -> rate = Double.parseDouble(args[++i]);
          case "--keys", "-k" -> keys = positive(a, Integer.parseInt(args[++i]));
          case "--value-size" -> valueSize = positive(a, Integer.parseInt(args[++i]));
          case "--put" -> put = percent(a, Integer.parseInt(args[++i]));
          case "--delete" -> del = percent(a, Integer.parseInt(args[++i]));
          case "--zipf" -> zipf = i + 1 < args.length && !args[i + 1].startsWith("-") ? Double.parseDouble(args[++i]) : 0.99;
          case "--load" -> load = true;
          case "--verify" -> {
            load = true;
            verify = true;
          }
          case "--prefix" -> prefix = args[++i];
          case "--token" -> token = args[++i];
          case "--timeout" -> timeout = seconds(args[++i]);
          case "--label" -> label = args[++i];
          case "--bulk" -> bulk = args[++i].replaceAll("/+$", "");
          case "--diverge" -> diverge = args[++i];
          case "--api" -> api = args[++i];
          default -> throw new Usage("unknown option " + a);
        }
      } catch (NumberFormatException e) {
        throw new Usage(a + ": not a number: " + args[i]);
      }
    }
    if (put + del > 100) throw new Usage("--put plus --delete is over 100");
    if (zipf != 0 && (zipf <= 0 || zipf >= 1)) throw new Usage("--zipf theta must be in (0, 1)");
    if (!api.equals("ringkv") && !api.equals("etcd")) throw new Usage("--api must be ringkv or etcd");
    // etcd answers 200 to a read of a missing key (no "kvs" in the body), and the client does not read bodies
    if (api.equals("etcd") && verify) throw new Usage("--verify needs --api ringkv");
    if (api.equals("etcd") && !bulk.isEmpty()) throw new Usage("--bulk needs --api ringkv");
    return new BenchOptions(targets, connections, duration, warmup, rate, keys, valueSize, put, del, zipf, load, verify,
        prefix, token, timeout, label, bulk, diverge, api);
  }

  private static List<URI> uris(String csv) {
    return Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).map(URI::create).toList();
  }

  private static Duration seconds(String s) {
    return Duration.ofMillis((long) (Double.parseDouble(s) * 1000));
  }

  private static int positive(String option, int v) {
    if (v < 1) throw new Usage(option + " must be at least 1");
    return v;
  }

  private static int percent(String option, int v) {
    if (v < 0 || v > 100) throw new Usage(option + " must be 0..100");
    return v;
  }

  /** A bad command line: the message (or null for --help) and the usage text. */
  static final class Usage extends RuntimeException {
    Usage(String message) {
      super(message, null, false, false);
    }
  }

  static final String USAGE = """
      usage: java -jar ringkv.jar bench [options]
        --targets URL,URL   workers to send to, in turn (default the local cluster's 8101..8401)
        -c N                connections, one load thread each (32)
        -d SECONDS          measured duration (10), after --warmup SECONDS (2)
        --rate OPS          open loop: this many requests per second in all, latency measured from
                            each request's scheduled time (coordinated omission corrected);
                            without it: closed loop, each connection sends as soon as it has an answer
        --keys N            key space key-0..key-(N-1) (100000); --prefix P changes "key-"
        --zipf [THETA]      Zipf-distributed keys (theta 0.99) instead of uniform
        --value-size BYTES  value size for PUTs (100)
        --put P --delete P  percent of PUTs (50) and DELETEs (0); the rest are GETs
        --load              write every key once (preload; a write that fails is tried up to 5 times)
                            and stop; --verify: read every key once,
                            any answer but 200 counts as an error (a lost key)
        --token T           API token (Authorization: Bearer T; with --api etcd: Authorization: T)
        --timeout SECONDS   per request (5)
        --label NAME        carried into the JSON line
        --api ringkv|etcd   the API to speak (ringkv): etcd is etcd's v3 JSON gateway, PUT as
                            POST /v3/kv/put {"key":base64,"value":base64}, GET as POST /v3/kv/range
                            {"key":base64} (linearizable), DELETE as POST /v3/kv/deleterange; every
                            200 is ok (etcd answers 200 for a missing key); not with --verify, --bulk
        --bulk CONTROLLER   preload --keys keys straight into their owners (POST /replicate, batches of
                            1,000 versioned entries, owners from CONTROLLER/ring) and stop: for
                            benchmarks that need millions of keys; skips the client path
        --diverge NODE      with --bulk: 1% of the keys NODE owns differ on NODE (a third missing there,
                            a third older there, a third deleted there only); their keys go to stdout
      Prints a progress line a second (stderr), then a summary and one JSON line (stdout).""";
}
