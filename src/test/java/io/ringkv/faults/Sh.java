package io.ringkv.faults;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a short command (ip, kill) and waits for it, with a deadline. */
final class Sh {
  private Sh() {}

  record Result(int code, String output) {
    boolean ok() {
      return code == 0;
    }
  }

  static Result run(List<String> cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      p.getOutputStream().close();
      byte[] out = p.getInputStream().readAllBytes();   // ends when the command exits (or closes its output)
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Result(-1, "timed out: " + String.join(" ", cmd));
      }
      return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8).trim());
    } catch (IOException e) {
      return new Result(-1, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Result(-1, "interrupted");
    }
  }

  static Result run(String... cmd) {
    return run(Arrays.asList(cmd));
  }

  /** Runs a command that must succeed. */
  static String must(String... cmd) {
    Result r = run(cmd);
    if (!r.ok()) throw new UncheckedIOException(new IOException(String.join(" ", cmd) + " failed (" + r.code() + "): " + r.output()));
    return r.output();
  }
}
