package io.ringkv.trust;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.AppenderBase;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.slf4j.LoggerFactory;

/**
 * Records every log line of this JVM, DEBUG included, while it is open (the console still shows only
 * WARN and above), so that a test can assert that no line carries a secret. Pair it with
 * {@code pekko.loglevel = DEBUG} in the nodes' configuration to see Pekko's own debug lines too.
 */
final class LogCapture implements AutoCloseable {
  private final Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
  private final Level levelBefore = root.getLevel();
  private final ConcurrentLinkedQueue<String> lines = new ConcurrentLinkedQueue<>();
  private final List<Appender<ILoggingEvent>> quieted = new ArrayList<>();
  private final AppenderBase<ILoggingEvent> recorder = new AppenderBase<>() {
    @Override
    protected void append(ILoggingEvent e) {
      StringBuilder b = new StringBuilder()
          .append(e.getLevel()).append(' ').append(e.getLoggerName()).append(" - ").append(e.getFormattedMessage());
      e.getMDCPropertyMap().forEach((k, v) -> b.append(' ').append(k).append('=').append(v));
      for (IThrowableProxy t = e.getThrowableProxy(); t != null; t = t.getCause())
        b.append(" | ").append(t.getClassName()).append(": ").append(t.getMessage());
      lines.add(b.toString());
    }
  };

  private LogCapture() {}

  static LogCapture start() {
    LogCapture c = new LogCapture();
    for (Iterator<Appender<ILoggingEvent>> it = c.root.iteratorForAppenders(); it.hasNext(); ) {
      Appender<ILoggingEvent> a = it.next();
      a.addFilter(new Filter<>() {
        @Override
        public FilterReply decide(ILoggingEvent event) {
          return event.getLevel().isGreaterOrEqual(Level.WARN) ? FilterReply.NEUTRAL : FilterReply.DENY;
        }
      });
      c.quieted.add(a);
    }
    c.recorder.setContext(c.root.getLoggerContext());
    c.recorder.setName("log-capture");
    c.recorder.start();
    c.root.addAppender(c.recorder);
    c.root.setLevel(Level.DEBUG);
    return c;
  }

  int size() {
    return lines.size();
  }

  /** The lines recorded so far that contain {@code text}. */
  List<String> containing(String text) {
    List<String> out = new ArrayList<>();
    for (String l : lines) if (l.contains(text)) out.add(l);
    return out;
  }

  @Override
  public void close() {
    root.setLevel(levelBefore);
    root.detachAppender(recorder);
    recorder.stop();
    for (Appender<ILoggingEvent> a : quieted) a.clearAllFilters();
  }
}
