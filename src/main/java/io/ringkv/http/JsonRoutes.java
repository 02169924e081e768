package io.ringkv.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.ringkv.net.HttpPeers;
import io.ringkv.net.Wire;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import scala.concurrent.duration.FiniteDuration;

/** What the worker's and the controller's routes share: JSON bodies, the key parameter, the cluster token. */
abstract class JsonRoutes extends AllDirectives {
  private static final long DRAIN_LIMIT = 64L * 1024 * 1024;
  private static final FiniteDuration BODY_TIMEOUT = FiniteDuration.apply(10, TimeUnit.SECONDS);
  private final byte[] clusterToken;
  private final long maxBodyBytes;

  JsonRoutes(String clusterToken, long maxBodyBytes) {
    this.clusterToken = clusterToken.isEmpty() ? null : clusterToken.getBytes(StandardCharsets.UTF_8);
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
        return extractMaterializer(mat -> onComplete(entity.discardBytes(mat).completionStage(), done -> tooLarge));
      }
      return extractStrictEntity(BODY_TIMEOUT, maxBodyBytes, strict -> inner.apply(Wire.parse(strict.getData().toArray())));
    });
  }

  /** The {@code key} query parameter: present, non-empty, at most {@code maxKeyBytes}. */
  Route keyParam(int maxKeyBytes, Function<String, Route> inner) {
    return parameter("key", key -> inner.apply(checkKey(key, maxKeyBytes)));
  }

  static String checkKey(String key, int maxKeyBytes) {
    if (key.isEmpty()) throw new Wire.BadInput("key must not be empty");
    int bytes = utf8Length(key);
    if (bytes > maxKeyBytes) throw new Wire.BadInput(400, "key is " + bytes + " bytes; the limit is " + maxKeyBytes);
    return key;
  }

  /** Node-to-node endpoints: when a cluster token is configured, a request without it gets a 401. */
  Route clusterOnly(Supplier<Route> inner) {
    if (clusterToken == null) return inner.get();
    return optionalHeaderValueByName(HttpPeers.TOKEN_HEADER, token -> {
      if (token.isPresent() && MessageDigest.isEqual(clusterToken, token.get().getBytes(StandardCharsets.UTF_8)))
        return inner.get();
      return complete(Errors.detail(401, "this endpoint is for cluster members: a valid " + HttpPeers.TOKEN_HEADER + " header is required"));
    });
  }

  boolean hasClusterToken(java.util.Optional<String> token) {
    return clusterToken == null
        || token.isPresent() && MessageDigest.isEqual(clusterToken, token.get().getBytes(StandardCharsets.UTF_8));
  }

  Route json(int status, JsonNode body) {
    return complete(Errors.json(status, body));
  }

  static int utf8Length(String s) {
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) n++;
      else if (c < 0x800) n += 2;
      else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else n += 3;
    }
    return n;
  }
}
