package io.ringkv.http;

import com.fasterxml.jackson.core.JsonGenerator;
import io.ringkv.metrics.NodeMetrics;
import io.ringkv.net.Wire;
import io.ringkv.net.WriteOutcome;
import io.ringkv.storage.Versioned;
import io.ringkv.worker.ReadOutcome;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;

/**
 * The answers of {@code /kv}, for the routes and the {@link KvFastPath} alike: the quorum outcome of
 * a read or a write as the seed's JSON, written with Jackson's streaming generator (no tree of nodes
 * per answer), each outcome counted in the node's metrics.
 */
final class KvAnswers {
  private final NodeMetrics metrics;

  KvAnswers(NodeMetrics metrics) {
    this.metrics = metrics;
  }

  /** A quorum read's answer: 200 with the value, 404 (not found or deleted), or 503. */
  HttpResponse read(String key, ReadOutcome r) {
    if (r instanceof ReadOutcome.Answered a) {
      metrics.quorum("get", a.newest().filter(v -> !v.isTombstone()).isPresent() ? "found" : "not_found");
      return found(key, a.newest(), a.answeredBy());
    }
    if (r instanceof ReadOutcome.NotReached n) {
      metrics.quorum("get", "not_reached");
      return Errors.detail(503, n.detail());
    }
    metrics.quorum("get", "no_view");
    return Errors.detail(503, ((ReadOutcome.NoView) r).detail());
  }

  /** One copy (or the newest of a quorum's): 200 with the value, else 404 saying whether it was deleted. */
  static HttpResponse found(String key, Optional<Versioned> v, List<String> from) {
    boolean live = v.isPresent() && !v.get().isTombstone();
    return json(live ? 200 : 404, g -> {
      g.writeBooleanField("found", live);
      g.writeStringField("key", key);
      if (live) {
        g.writeStringField("value", v.get().value());
        g.writeStringField("version", v.get().version().toString());
      } else {
        g.writeStringField("detail", v.isPresent() ? "key was deleted" : "key not found");
      }
      g.writeArrayFieldStart("read_from");
      for (String node : from) g.writeString(node);
      g.writeEndArray();
    });
  }

  /** A write's outcome: 200 once the quorum holds it; 503, with what was acknowledged, otherwise. */
  HttpResponse written(String key, WriteOutcome r, boolean delete) {
    metrics.quorum(delete ? "delete" : "put", outcomeName(r));
    boolean acked = r instanceof WriteOutcome.Acked;
    return json(acked ? 200 : 503, g -> {
      if (acked) g.writeStringField("status", "ok");
      else g.writeStringField("detail", detail(r));
      g.writeStringField("key", key);
      if (delete) g.writeBooleanField("deleted", acked);
      g.writeNumberField("replicas_acked", r.ackedBy().size());
      g.writeArrayFieldStart("acked_by");
      for (String node : r.ackedBy()) g.writeString(node);
      g.writeEndArray();
      if (r instanceof WriteOutcome.Acked a) g.writeStringField("version", a.version().toString());
    });
  }

  private static String outcomeName(WriteOutcome r) {
    if (r instanceof WriteOutcome.Acked) return "acked";
    if (r instanceof WriteOutcome.Superseded) return "superseded";
    if (r instanceof WriteOutcome.NotReached) return "not_reached";
    if (r instanceof WriteOutcome.NoView) return "no_view";
    return "expired";
  }

  private static String detail(WriteOutcome r) {
    if (r instanceof WriteOutcome.Superseded s) return s.detail();
    if (r instanceof WriteOutcome.NotReached n) return n.detail();
    if (r instanceof WriteOutcome.NoView n) return n.detail();
    if (r instanceof WriteOutcome.Expired x) return x.detail();
    throw new IllegalArgumentException("no detail in " + r);
  }

  private interface Fields {
    void write(JsonGenerator g) throws IOException;
  }

  /** A JSON object answer: {@code fields} written between its braces. */
  private static HttpResponse json(int status, Fields fields) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    try (JsonGenerator g = Wire.JSON.getFactory().createGenerator(out)) {
      g.writeStartObject();
      fields.write(g);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);   // a byte array does not fail
    }
    return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, out.toByteArray());
  }
}
