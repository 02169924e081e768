package io.ringkv.jmh;

import com.fasterxml.jackson.databind.JsonNode;
import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.net.Wire;
import io.ringkv.ring.HashRing;
import io.ringkv.storage.Entry;
import io.ringkv.storage.KvStore;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The pure code on every request's path: the ring lookup (a key's owners), version comparison and
 * its text form, the JSON codec of client bodies and replica batches, the store's apply. Run with
 * {@code bench/jmh.sh} (not part of the tests: JMH needs a quiet machine and minutes).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class HotPathBenchmark {
  private ClusterView view;
  private HashRing ring;
  private String[] keys;
  private int next;
  private Version a;
  private Version b;
  private String versionText;
  private byte[] putBody;
  private byte[] batchBody;
  private List<Entry> batch;
  private KvStore store;
  private Versioned[] values;

  @Setup
  public void setup() {
    Map<String, Member> members = new LinkedHashMap<>();
    for (int i = 1; i <= 4; i++) members.put("worker" + i, new Member("worker" + i, "10.0.0." + i, 8001, Member.Status.UP, "i" + i));
    view = new ClusterView(7, members, 384);
    ring = view.ring();
    keys = new String[4096];
    for (int i = 0; i < keys.length; i++) keys[i] = "key-" + (i * 7919);
    a = new Version(117656699983888384L, "worker1");
    b = new Version(117656699983888384L, "worker2");
    versionText = a.toString();
    putBody = ("{\"key\":\"key-12345\",\"value\":\"" + "v".repeat(100) + "\"}").getBytes();
    batch = new ArrayList<>();
    for (int i = 0; i < 32; i++) batch.add(new Entry("key-" + i, new Versioned("v".repeat(100), a)));
    batchBody = Wire.bytes(Wire.entries(batch));
    store = new KvStore();
    values = new Versioned[keys.length];
    for (int i = 0; i < keys.length; i++) values[i] = new Versioned("v".repeat(100), new Version(i, "worker1"));
  }

  private String nextKey() {
    next = (next + 1) & (keys.length - 1);
    return keys[next];
  }

  @Benchmark
  public Object ringPreferenceList() {
    return ring.preferenceList(nextKey(), 3);
  }

  @Benchmark
  public Object viewOwners() {
    return view.owners(nextKey(), 3);
  }

  @Benchmark
  public long keyHash() {
    return HashRing.hash(nextKey());
  }

  @Benchmark
  public boolean versionCompare() {
    return a.isNewerThan(b);
  }

  @Benchmark
  public Object versionParse() {
    return Version.parse(versionText);
  }

  @Benchmark
  public String versionToString() {
    return a.toString();
  }

  @Benchmark
  public JsonNode jsonParseClientPut() {
    return Wire.parse(putBody);
  }

  @Benchmark
  public byte[] jsonEncodeReplicaBatchOf32() {
    return Wire.bytes(Wire.entries(batch));
  }

  @Benchmark
  public Object jsonDecodeReplicaBatchOf32() {
    List<Entry> out = new ArrayList<>(32);
    for (JsonNode e : Wire.parse(batchBody).get("entries")) out.add(Wire.readEntry(e, null));
    return out;
  }

  @Benchmark
  public boolean storeApply() {
    int i = next = (next + 1) & (keys.length - 1);
    return store.apply(keys[i], values[i]);
  }
}
