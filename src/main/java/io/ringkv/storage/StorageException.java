package io.ringkv.storage;

/** The data directory cannot be used as it is: the message says which directory, and why. The node must not start. */
public final class StorageException extends RuntimeException {
  public StorageException(String message, Throwable cause) {
    super(message, cause);
  }

  public StorageException(String message) {
    super(message);
  }
}
