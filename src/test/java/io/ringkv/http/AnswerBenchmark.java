package io.ringkv.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.ringkv.metrics.NodeMetrics;
import io.ringkv.net.Wire;
import io.ringkv.net.WriteOutcome;
import io.ringkv.storage.Version;
import io.ringkv.storage.Versioned;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@code /kv}'s JSON, as the routes did it (a tree of Jackson nodes per request) against the
 * {@link KvFastPath}'s streaming parse and {@link KvAnswers}' generator: a client PUT's body read,
 * and a GET's and a PUT's answers written (bench/jmh.sh 'Answer').
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class AnswerBenchmark {
  private final byte[] putBody = ("{\"key\":\"user:12345\",\"value\":\"" + "v".repeat(100) + "\"}").getBytes(StandardCharsets.UTF_8);
  private final Versioned value = new Versioned("v".repeat(100), new Version(1_733_390_000_000L << 16, "worker2"));
  private final List<String> from = List.of("worker1", "worker2");
  private final WriteOutcome acked = new WriteOutcome.Acked(from, value.version());
  private final KvAnswers answers = new KvAnswers(NodeMetrics.OFF);

  @Benchmark
  public Object putBodyTree() {
    ObjectNode o = Wire.object(Wire.parse(putBody));
    return new String[] {Wire.requiredString(o, "key"), Wire.requiredString(o, "value")};
  }

  @Benchmark
  public Object putBodyStreaming() {
    return KvFastPath.keyAndValue(putBody);
  }

  @Benchmark
  public HttpResponse getAnswerTree() {
    ObjectNode o = Wire.NODES.objectNode();
    o.put("found", true);
    o.put("key", "user:12345");
    o.put("value", value.value());
    o.put("version", value.version().toString());
    ArrayNode arr = o.putArray("read_from");
    from.forEach(arr::add);
    return Errors.json(200, o);
  }

  @Benchmark
  public HttpResponse getAnswerStreaming() {
    return KvAnswers.found("user:12345", Optional.of(value), from);
  }

  @Benchmark
  public HttpResponse putAnswerTree() {
    ObjectNode o = Wire.NODES.objectNode();
    o.put("status", "ok");
    o.put("key", "user:12345");
    o.put("replicas_acked", acked.ackedBy().size());
    ArrayNode arr = o.putArray("acked_by");
    acked.ackedBy().forEach(arr::add);
    o.put("version", value.version().toString());
    return Errors.json(200, o);
  }

  @Benchmark
  public HttpResponse putAnswerStreaming() {
    return answers.written("user:12345", acked, false);
  }
}
