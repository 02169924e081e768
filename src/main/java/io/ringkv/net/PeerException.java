package io.ringkv.net;

/** Another node answered a call with an error status. */
public final class PeerException extends RuntimeException {
  private final int status;

  public PeerException(int status, String detail) {
    super(status + ": " + detail, null, false, false);
    this.status = status;
  }

  public int status() {
    return status;
  }

  /** The status another node answered with, looking through CompletionException wrappers; -1 when it did not answer. */
  public static int statusOf(Throwable t) {
    for (Throwable e = t; e != null; e = e.getCause()) if (e instanceof PeerException p) return p.status();
    return -1;
  }

  /** The other node's explanation, looking through wrappers; the failure itself when it did not answer. */
  public static String detailOf(Throwable t) {
    for (Throwable e = t; e != null; e = e.getCause()) if (e instanceof PeerException p) return p.detail();
    return String.valueOf(t);
  }

  public String detail() {
    String m = getMessage();
    return m.substring(m.indexOf(": ") + 2);
  }
}
