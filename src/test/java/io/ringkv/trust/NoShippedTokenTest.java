package io.ringkv.trust;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import io.ringkv.config.NodeSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * No token that ships in the repository is accepted: every literal token in the deployment files
 * (the Kubernetes Secret's placeholder, any default in docker-compose.yml) stops a node at start, so
 * a cluster cannot run on a secret everyone can read.
 */
class NoShippedTokenTest {
  private static final Pattern SECRET_TOKEN = Pattern.compile("(?m)^\\s*token:\\s*\"?([^\"\\s#]+)");
  private static final Pattern COMPOSE_DEFAULT = Pattern.compile("\\$\\{CLUSTER_TOKEN:-([^}]*)}");

  private static NodeSettings withToken(String token) {
    return NodeSettings.from(ConfigFactory.parseMap(Map.of("ringkv.cluster-token", token, "ringkv.advertise-host", "test"))
        .withFallback(ConfigFactory.load()));
  }

  @Test
  void everyTokenInTheDeploymentFilesIsRefused() throws Exception {
    List<String> shipped = new ArrayList<>();
    try (Stream<Path> files = Files.walk(Path.of("k8s"))) {
      for (Path p : files.filter(f -> f.toString().endsWith(".yaml")).toList()) {
        Matcher m = SECRET_TOKEN.matcher(Files.readString(p));
        while (m.find()) shipped.add(m.group(1));
      }
    }
    String compose = Files.readString(Path.of("docker-compose.yml"));
    Matcher d = COMPOSE_DEFAULT.matcher(compose);
    while (d.find()) shipped.add(d.group(1));
    assertFalse(shipped.isEmpty(), "the Secret's placeholder was not found: the check would pass vacuously");
    for (String token : shipped) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> withToken(token), token);
      assertTrue(e.getMessage().contains("openssl rand"), e.getMessage());
    }
    assertFalse(COMPOSE_DEFAULT.matcher(compose).find(), "docker-compose.yml falls back to a token of its own");
  }

  @Test
  void aTokenOfOnesOwnIsAccepted() {
    assertEquals("6f1c0a9e4b7d2f3a8c5e1b0d9f7a6c4e", withToken("6f1c0a9e4b7d2f3a8c5e1b0d9f7a6c4e").clusterToken());
    assertEquals("", withToken("").clusterToken(), "no token: protected mode");
  }
}
