package io.ringkv.logs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ringkv.cluster.TestCluster;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** LOG_FORMAT=json: a node started with it writes one JSON object per line (logback's JsonEncoder). */
class JsonLogFormatTest {
  private static Process start(String logFormat) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("java.class.path"), "io.ringkv.Main", "controller").redirectErrorStream(true);
    pb.environment().put("LOG_FORMAT", logFormat);
    pb.environment().put("PORT", String.valueOf(TestCluster.freePort()));
    pb.environment().put("BIND_HOST", "127.0.0.1");
    return pb.start();
  }

  @Test
  void aNodeLogsOneJsonObjectPerLine() throws Exception {
    Process p = start("json");
    List<String> lines = new ArrayList<>();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      for (String line; System.nanoTime() < deadline && (line = out.readLine()) != null; ) {
        lines.add(line);
        if (line.contains("listening on")) break;
      }
    } finally {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
    ObjectMapper json = new ObjectMapper();
    JsonNode listening = null;
    for (String line : lines) {
      JsonNode n = json.readTree(line);   // every line parses, or the test fails here
      assertTrue(n.isObject(), line);
      if (n.path("formattedMessage").asText().contains("listening on")) listening = n;
    }
    assertTrue(listening != null, "no JSON line says the controller listens: " + lines);
    assertEquals("INFO", listening.path("level").asText(), listening.toString());
    assertEquals("io.ringkv.http.HttpServer", listening.path("loggerName").asText(), listening.toString());
    assertTrue(listening.path("timestamp").asLong() > 0, listening.toString());
  }

  @Test
  void anUnknownFormatStopsTheNodeWithAMessage() throws Exception {
    Process p = start("yaml");
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(2, p.exitValue(), out);
    assertTrue(out.contains("LOG_FORMAT must be text or json"), out);
  }
}
