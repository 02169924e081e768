package io.ringkv.net;

/**
 * A call failed before any byte of it left this node (the connection never opened, or the link was
 * closed already): the other node cannot act on it. Any other failure of a call leaves that open.
 */
public final class NotSent extends RuntimeException {
  public NotSent(Throwable cause) {
    super("not sent: " + cause, cause, false, false);
  }

  /** Whether {@code t} (or what it wraps) says the call never left. */
  public static boolean of(Throwable t) {
    for (Throwable e = t; e != null; e = e.getCause()) if (e instanceof NotSent) return true;
    return false;
  }
}
