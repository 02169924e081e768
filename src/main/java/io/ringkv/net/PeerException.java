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

  public String detail() {
    String m = getMessage();
    return m.substring(m.indexOf(": ") + 2);
  }
}
