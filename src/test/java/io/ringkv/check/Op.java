package io.ringkv.check;

/**
 * One client operation of a {@link History}: what was asked and, once it completed, what came back.
 *
 * @param id            the op id, in invocation order
 * @param client        who issued it (a client thread or a simulated client)
 * @param type          PUT, GET or DELETE
 * @param key           the key
 * @param value         the value written (PUT), else null
 * @param via           the node id the request went to
 * @param invokeNanos   when it was sent (the history's clock)
 * @param completeNanos when its answer came back; -1 while it has not completed
 * @param status        the HTTP status of the answer; -1 = no answer, timeout or connection error
 *                      (indeterminate: the write may or may not have taken effect)
 * @param version       the version returned ({@code "ts@node"}): the version written for a PUT or
 *                      DELETE answered 200, the version read for a GET (null when none was returned)
 * @param valueRead     the value a GET returned (null for 404 or for a write)
 */
public record Op(long id, String client, Type type, String key, String value, String via,
    long invokeNanos, long completeNanos, int status, String version, String valueRead) {

  public enum Type { PUT, GET, DELETE }

  /** A status of -1: no answer, a timeout or a connection error. */
  public static final int INDETERMINATE = -1;

  public boolean isWrite() {
    return type != Type.GET;
  }

  public boolean completed() {
    return completeNanos >= 0;
  }

  /** A PUT or DELETE answered 200: the cluster promised to keep it. */
  public boolean acknowledgedWrite() {
    return isWrite() && status == 200;
  }

  /** A GET answered 200 (found) or 404 (not found): a read with a definite outcome. */
  public boolean definiteRead() {
    return type == Type.GET && (status == 200 || status == 404);
  }

  /** No answer (yet, or ever): a write in this state may or may not have taken effect. */
  public boolean indeterminate() {
    return !completed() || status == INDETERMINATE;
  }

  Op completedWith(long nanos, int status, String version, String valueRead) {
    return new Op(id, client, type, key, value, via, invokeNanos, nanos, status, version, valueRead);
  }

  @Override
  public String toString() {
    return "#" + id + " " + client + " " + type + " " + key + (type == Type.PUT ? "=" + value : "") + " via " + via
        + " -> " + (completed() ? String.valueOf(status) : "pending")
        + (version != null ? " @" + version : "") + (valueRead != null ? " read " + valueRead : "");
  }
}
