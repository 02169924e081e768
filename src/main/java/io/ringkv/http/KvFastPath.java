package io.ringkv.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.ringkv.net.Wire;
import io.ringkv.util.Secret;
import io.ringkv.util.Stages;
import io.ringkv.net.WriteOutcome;
import io.ringkv.worker.ReadOutcome;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.japi.function.Function;

/**
 * The client data path, {@code /kv}, on Pekko HTTP's low-level API: a function from request to
 * response instead of the routing DSL, whose directives, Scala futures (a hop through Scala's global
 * pool and back per request) and JSON trees cost more than the rest of a worker's own code under
 * load (bench/README.md, "Where the time goes"). It serves the ordinary requests: GET and DELETE of
 * {@code /kv?key=K}, PUT and POST of {@code {"key": K, "value": V}}, authorized. Everything else
 * (another path, no or a wrong token, another parameter, a body of another shape, a key or value
 * over the limits) goes to the routes, which answer it as they always did: the errors have one place.
 */
final class KvFastPath implements Function<HttpRequest, CompletionStage<HttpResponse>> {
  private final java.util.function.Function<String, CompletionStage<ReadOutcome>> read;
  private final BiFunction<String, String, CompletionStage<WriteOutcome>> write;
  private final KvAnswers answers;
  private final Secret apiToken;
  private final Secret clusterToken;
  private final long maxBodyBytes;
  private final Function<HttpRequest, CompletionStage<HttpResponse>> routes;

  /**
   * {@code read} and {@code write} (a null value deletes) are the worker's quorum operations; they
   * throw {@link Wire.BadInput} for a key or value over the limits.
   */
  KvFastPath(java.util.function.Function<String, CompletionStage<ReadOutcome>> read,
      BiFunction<String, String, CompletionStage<WriteOutcome>> write, KvAnswers answers, String apiToken,
      String clusterToken, long maxBodyBytes, Function<HttpRequest, CompletionStage<HttpResponse>> routes) {
    this.read = read;
    this.write = write;
    this.answers = answers;
    this.apiToken = Secret.of(apiToken);
    this.clusterToken = Secret.of(clusterToken);
    this.maxBodyBytes = maxBodyBytes;
    this.routes = routes;
  }

  @Override
  public CompletionStage<HttpResponse> apply(HttpRequest req) throws Exception {
    CompletionStage<HttpResponse> fast = "/kv".equals(req.getUri().path()) && authorized(req) ? serve(req) : null;
    return fast != null ? fast : routes.apply(req);
  }

  /** The answer to an ordinary request, or null for the routes to answer. */
  private CompletionStage<HttpResponse> serve(HttpRequest req) {
    try {
      if (req.method().equals(HttpMethods.GET)) {
        String key = onlyKey(req);
        return key == null ? null : answer(read.apply(key), r -> answers.read(key, r));
      }
      if (req.method().equals(HttpMethods.DELETE)) {
        String key = onlyKey(req);
        return key == null ? null : answer(write.apply(key, null), r -> answers.written(key, r, true));
      }
      if (req.method().equals(HttpMethods.PUT) || req.method().equals(HttpMethods.POST)) {
        String[] kv = keyAndValue(req);
        return kv == null ? null : answer(write.apply(kv[0], kv[1]), r -> answers.written(kv[0], r, false));
      }
      return null;
    } catch (Wire.BadInput e) {
      return null;   // over a limit, checked before anything started: the routes say which
    } catch (RuntimeException e) {
      // not sent to the routes: the operation may have started, and must not run twice
      return CompletableFuture.completedFuture(Errors.forFailure(e));
    }
  }

  /** The answer to the stage's outcome, or to its failure as the routes would give it (a 503 for a timeout). */
  private static <T> CompletionStage<HttpResponse> answer(CompletionStage<T> outcome, java.util.function.Function<T, HttpResponse> ok) {
    return Stages.plain(outcome).handle((r, err) -> err != null ? Errors.forFailure(err) : ok.apply(r));
  }

  /** The {@code key} parameter when it is the only one, else null. */
  private static String onlyKey(HttpRequest req) {
    List<Pair<String, String>> params = req.getUri().query().toList();
    if (params.size() != 1 || !params.get(0).first().equals("key")) return null;
    return params.get(0).second();
  }

  /** The key and value of a body that arrived whole, within the limit; else null. */
  private String[] keyAndValue(HttpRequest req) {
    HttpEntity entity = req.entity();
    if (!(entity instanceof HttpEntity.Strict strict) || strict.getData().size() > maxBodyBytes) return null;
    return keyAndValue(strict.getData().toArray());
  }

  /** The key and value of {@code {"key": "...", "value": "..."}} with nothing else (a streaming parse, no tree), else null. */
  static String[] keyAndValue(byte[] body) {
    try (JsonParser p = Wire.JSON.createParser(body)) {
      if (p.nextToken() != JsonToken.START_OBJECT) return null;
      String key = null;
      String value = null;
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        if (p.nextToken() != JsonToken.VALUE_STRING) return null;
        if (name.equals("key") && key == null) key = p.getText();
        else if (name.equals("value") && value == null) value = p.getText();
        else return null;
      }
      if (t != JsonToken.END_OBJECT || p.nextToken() != null || key == null || value == null) return null;
      return new String[] {key, value};
    } catch (IOException e) {
      return null;
    }
  }

  /** As the routes' {@code clientAuthorized}: the API token as a bearer token, or the cluster token. */
  private boolean authorized(HttpRequest req) {
    if (apiToken == null) return true;
    Optional<String> bearer = req.getHeader("Authorization").map(HttpHeader::value).flatMap(JsonRoutes::bearer);
    if (apiToken.matches(bearer)) return true;
    return clusterToken != null && clusterToken.matches(req.getHeader(Wire.TOKEN_HEADER).map(HttpHeader::value));
  }
}
