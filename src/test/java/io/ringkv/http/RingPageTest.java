package io.ringkv.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ringkv.cluster.TestCluster;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller's ring page in a real browser (headless Chromium, Debian's package; .ci/run installs
 * it): the DOM after the page's script has run shows every worker, and, after a kill, the worker DOWN
 * and the rebalance that follows finished.
 */
class RingPageTest {
  @TempDir Path profile;

  private static Optional<Path> chromium() {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":"))
      for (String name : List.of("chromium", "chromium-browser"))
        if (Files.isExecutable(Path.of(dir, name))) return Optional.of(Path.of(dir, name));
    return Optional.empty();
  }

  /** The page's DOM once its script has fetched /cluster (Chromium's virtual time: 3 s). */
  private String render(Path browser, String url) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(browser.toString(), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--user-data-dir=" + profile, "--virtual-time-budget=3000", "--dump-dom", url));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("chromium did not finish within 60 s");
    }
    return new String(out, StandardCharsets.UTF_8);
  }

  private static String row(String dom, String node) {
    Matcher m = Pattern.compile("<tr id=\"node-" + node + "\"[^>]*>(.*?)</tr>", Pattern.DOTALL).matcher(dom);
    assertTrue(m.find(), "no row for " + node + " in the page: " + dom);
    return m.group(0);
  }

  @Test
  void thePageShowsAKilledWorkerDownAndTheRebalanceFinishing() throws Exception {
    Optional<Path> browser = chromium();
    assumeTrue(browser.isPresent(), "no chromium on the PATH (apt-get install chromium; .ci/run does)");
    try (TestCluster c = TestCluster.start(4)) {
      for (int i = 0; i < 200; i++) assertEquals(200, c.putKv(c.workers().get(i % 4), "page-" + i, "v").status());
      String before = render(browser.get(), c.controllerUrl() + "/");
      assertTrue(before.contains("4 of 4 workers UP"), before);
      for (String w : c.workers()) assertTrue(row(before, w).contains("data-status=\"UP\""), row(before, w));

      c.crash("worker3");
      TestCluster.awaitAssert(Duration.ofSeconds(60), () -> {
        String dom;
        try {
          dom = render(browser.get(), c.controllerUrl() + "/ui");
        } catch (Exception e) {
          throw new AssertionError(e);
        }
        assertTrue(dom.contains("3 of 4 workers UP"), dom);
        assertTrue(row(dom, "worker3").contains("data-status=\"DOWN\""), row(dom, "worker3"));
        long moved = 0;
        for (String w : Stream.of("worker1", "worker2", "worker4").toList()) {
          String r = row(dom, w);
          Matcher m = Pattern.compile("settled \\(\\d+ rebalances, (\\d+) keys moved\\)").matcher(r);
          assertTrue(m.find(), w + " is not shown settled: " + r);
          moved += Long.parseLong(m.group(1));
        }
        assertTrue(moved > 0, "the rebalance after the kill moved worker3's keys: " + moved);
      });
    }
  }
}
