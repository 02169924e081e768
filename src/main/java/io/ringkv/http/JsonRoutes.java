package io.ringkv.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.ringkv.net.Wire;
import io.ringkv.util.Secret;
import io.ringkv.worker.Limits;
import java.net.InetAddress;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.AttributeKeys;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.RemoteAddress;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import scala.concurrent.duration.FiniteDuration;

/** What the worker's and the controller's routes share: JSON bodies, the key parameter, the cluster and API tokens. */
abstract class JsonRoutes extends AllDirectives {
  private static final long DRAIN_LIMIT = 64L * 1024 * 1024;
  private static final FiniteDuration BODY_TIMEOUT = FiniteDuration.apply(10, TimeUnit.SECONDS);
  private static final String BEARER = "Bearer ";
  /** Each secret, null when not configured. */
  private final Secret clusterToken;
  private final Secret apiToken;
  private final long maxBodyBytes;

  JsonRoutes(String clusterToken, long maxBodyBytes) {
    this(clusterToken, "", maxBodyBytes);
  }

  JsonRoutes(String clusterToken, String apiToken, long maxBodyBytes) {
    this.clusterToken = Secret.of(clusterToken);
    this.apiToken = Secret.of(apiToken);
    this.maxBodyBytes = maxBodyBytes;
  }

  /** The request body parsed as JSON (any content type), or a 400/413. */
  Route jsonBody(Function<JsonNode, Route> inner) {
    return extractRequestEntity(entity -> {
      var declared = entity.getContentLengthOption();
      if (declared.isPresent() && declared.getAsLong() > maxBodyBytes) {
        Route tooLarge = complete(Errors.detail(413, "request body is " + declared.getAsLong() + " bytes; the limit is " + maxBodyBytes));
        if (declared.getAsLong() > DRAIN_LIMIT) return tooLarge;   // not worth reading: answer and close
        // read and discard the body first, so that the client (still sending) reliably gets the answer
        return extractMaterializer(mat -> onComplete(entity.withoutSizeLimit().discardBytes(mat).completionStage(), done -> tooLarge));
      }
      // a body that arrived whole is read as it is: toStrict with a size limit would run a stream per request
      if (entity.isStrict() && declared.isPresent()) return inner.apply(Wire.parse(((HttpEntity.Strict) entity).getData().toArray()));
      return extractStrictEntity(BODY_TIMEOUT, maxBodyBytes, strict -> inner.apply(Wire.parse(strict.getData().toArray())));
    });
  }

  /** The {@code key} query parameter: present and within the {@link Limits}. */
  Route keyParam(Limits limits, Function<String, Route> inner) {
    return parameter("key", key -> inner.apply(limits.key(key)));
  }

  /**
   * Node-to-node endpoints: when a cluster token is configured, a request without it gets a 401.
   * Without one the node is in protected mode: only callers on this machine (loopback) are served.
   */
  Route clusterOnly(Supplier<Route> inner) {
    if (clusterToken == null) {
      return extractRequest(req -> fromLoopback(req) ? inner.get() : complete(Errors.detail(401, PROTECTED_MODE)));
    }
    return optionalHeaderValueByName(Wire.TOKEN_HEADER, token -> {
      if (clusterToken.matches(token)) return inner.get();
      return complete(Errors.detail(401, "this endpoint is for cluster members: a valid " + Wire.TOKEN_HEADER + " header is required"));
    });
  }

  static final String PROTECTED_MODE = "this endpoint is for cluster members: CLUSTER_TOKEN is not set, so this node"
      + " serves it to callers on its own machine (loopback) only; set the same CLUSTER_TOKEN on every node"
      + " (for example the output of `openssl rand -hex 32`) and send it in the " + Wire.TOKEN_HEADER + " header";

  /** Whether the request came over a connection from this machine (the peer's address, never a header). */
  static boolean fromLoopback(HttpRequest req) {
    return req.getAttribute(AttributeKeys.remoteAddress).flatMap(RemoteAddress::getAddress)
        .map(InetAddress::isLoopbackAddress).orElse(false);
  }

  /**
   * The data API: when an API token is configured, a request needs {@code Authorization: Bearer <token>}
   * or, from another node (a write forwarded to its primary), the cluster token; else a 401 with
   * {@code WWW-Authenticate: Bearer}.
   */
  Route clientAuthorized(Supplier<Route> inner) {
    if (apiToken == null) return inner.get();
    return optionalHeaderValueByName("Authorization", auth -> optionalHeaderValueByName(Wire.TOKEN_HEADER, token -> {
      if (apiToken.matches(auth.flatMap(JsonRoutes::bearer)) || clusterToken != null && clusterToken.matches(token))
        return inner.get();
      String why = auth.isPresent() ? "the bearer token is not valid" : "an 'Authorization: Bearer <API_TOKEN>' header is required";
      return complete(Errors.detail(401, why)
          .addHeader(WWWAuthenticate.create(HttpChallenge.create("Bearer", "ringkv"))));
    }));
  }

  /** The token of an {@code Authorization: Bearer <token>} header value (the scheme is case-insensitive). */
  static Optional<String> bearer(String authorization) {
    String a = authorization.trim();
    if (a.length() <= BEARER.length() || !a.regionMatches(true, 0, BEARER, 0, BEARER.length())) return Optional.empty();
    return Optional.of(a.substring(BEARER.length()).trim());
  }

  Route json(int status, JsonNode body) {
    return complete(Errors.json(status, body));
  }

  /** Prometheus' text exposition format (text/plain; Prometheus reads it as version 0.0.4). */
  static org.apache.pekko.http.javadsl.model.ResponseEntity prometheusText(String text) {
    return org.apache.pekko.http.javadsl.model.HttpEntities.create(
        org.apache.pekko.http.javadsl.model.ContentTypes.TEXT_PLAIN_UTF8, text);
  }
}
