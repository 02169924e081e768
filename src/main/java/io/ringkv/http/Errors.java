package io.ringkv.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.ringkv.net.Wire;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.MissingQueryParamRejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.IllegalRequestException;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.pattern.AskTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Turns every failure and rejection into a JSON {@code {"detail": "..."}} with a 4xx (or 503) status. */
public final class Errors {
  private static final Logger log = LoggerFactory.getLogger(Errors.class);

  private Errors() {}

  public static HttpResponse json(int status, JsonNode body) {
    return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, Wire.bytes(body));
  }

  public static HttpResponse detail(int status, String message) {
    return json(status, Wire.detail(message));
  }

  /** Wraps a route so that nothing it does reaches the client as a plain-text error or a bare 500. */
  public static Route handled(Route inner) {
    return Directives.handleRejections(REJECTIONS, () -> Directives.handleExceptions(EXCEPTIONS, () -> inner));
  }

  static HttpResponse forFailure(Throwable t) {
    Throwable e = t;
    while (e instanceof CompletionException && e.getCause() != null) e = e.getCause();
    if (e instanceof Wire.BadInput b) return detail(b.tooLarge() ? 413 : 400, b.getMessage());
    if (e instanceof EntityStreamSizeException s)
      return detail(413, "request body is larger than the limit of " + s.limit() + " bytes");
    if (e instanceof IllegalRequestException r)   // Pekko refused the request while reading it: its own 4xx
      return detail(r.status().intValue(), r.info().summary());
    if (e instanceof TimeoutException || e instanceof AskTimeoutException)
      return detail(503, "timed out; the cluster may be changing, retry");
    log.error("unexpected error", e);
    return detail(500, "internal error: " + e.getClass().getSimpleName());
  }

  /**
   * Answers requests so malformed that no route sees them (URI too long, bad request line, header
   * too large) with a JSON {"detail"} instead of plain text; set as the server's parsing error handler.
   */
  public static final class JsonParsingErrors extends ParsingErrorHandler {
    @Override
    public HttpResponse handle(StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
      log.warning("Illegal request, responding with status '{}': {}", status, info.summary());
      // the parser's 501 (unknown method) and 505 (a request line it cannot split) are the client's fault
      int code = status.intValue() == 501 ? 405 : status.intValue() >= 500 ? 400 : status.intValue();
      return detail(code, settings.verboseErrorMessages() ? info.formatPretty() : info.summary());
    }
  }

  private static final ExceptionHandler EXCEPTIONS = ExceptionHandler.newBuilder()
      .matchAny(e -> Directives.complete(forFailure(e)))
      .build();

  private static final RejectionHandler REJECTIONS = RejectionHandler.newBuilder()
      .handle(MissingQueryParamRejection.class, r ->
          Directives.complete(detail(400, "query parameter '" + r.parameterName() + "' is required")))
      .build()
      .withFallback(RejectionHandler.defaultHandler())
      .mapRejectionResponse(Errors::asJson);

  /** The default handler answers in plain text; rewrap its message as {"detail": ...}. */
  private static HttpResponse asJson(HttpResponse resp) {
    HttpEntity entity = resp.entity();
    if (entity instanceof HttpEntity.Strict strict && !strict.getContentType().mediaType().equals(MediaTypes.APPLICATION_JSON)) {
      String text = strict.getData().utf8String();
      if (resp.status().intValue() == 404 && text.startsWith("The requested resource could not be found"))
        text = "Not Found";
      return resp.withEntity(ContentTypes.APPLICATION_JSON, Wire.bytes(Wire.detail(text)));
    }
    return resp;
  }
}
