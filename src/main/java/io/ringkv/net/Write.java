package io.ringkv.net;

/** A client write on its way into the cluster: a value, or a delete when {@code value} is null. */
public record Write(String key, String value) {
  public boolean isDelete() {
    return value == null;
  }
}
