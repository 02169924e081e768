package io.ringkv.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The offline check of the deployment files: {@code k8s/} (through {@code kubectl kustomize} when
 * kubectl is on the PATH, and always file by file as {@code k8s/kustomization.yaml} lists them),
 * {@code k8s/production/}, {@code docker-compose.yml} and the {@code Dockerfile}. No cluster, no
 * Docker engine, no network. Each check collects readable problems, so a broken manifest fails with
 * all of its faults at once; the negative tests prove that each kind of fault is caught.
 *
 * <p>{@code -Dringkv.deploy.dir=DIR} checks a copy of the files in DIR instead of the repository.
 */
class ManifestTest {
  private static final String NAMESPACE = "kv-system";
  /** The probe endpoints the nodes serve (see the README's API). */
  private static final String READY_PATH = "/health/ready";
  private static final String LIVE_PATH = "/health/live";
  private static final Set<String> SERVED_PATHS = Set.of(READY_PATH, LIVE_PATH, "/health");
  private static final List<String> WORKERS = List.of("worker1", "worker2", "worker3", "worker4");
  private static final Set<String> CLUSTER_SCOPED = Set.of("Namespace", "ClusterRole",
      "ClusterRoleBinding", "PersistentVolume", "StorageClass", "PriorityClass", "CustomResourceDefinition");
  private static final Set<String> WORKLOADS = Set.of("Deployment", "StatefulSet", "DaemonSet");
  private static final ObjectMapper MAPPER = new ObjectMapper();

  // ---- the checks against the shipped files ------------------------------------------------

  @Test
  void kustomizationDeploysEveryManifestIntoTheNamespace() throws IOException {
    JsonNode kustomization = single(parseFile(k8sDir().resolve("kustomization.yaml")));
    assertEquals(NAMESPACE, kustomization.path("namespace").asText(), "kustomization.yaml: namespace");
    List<String> resources = texts(kustomization.path("resources"));
    for (String r : resources) {
      assertTrue(Files.isRegularFile(k8sDir().resolve(r)), "kustomization.yaml lists " + r + ", which is not a file");
    }
    assertTrue(kustomization.path("images").findValuesAsText("name").contains("ringkv"),
        "kustomization.yaml: an images: entry for ringkv lets users retag without editing manifests");
    for (Path p : productionFiles()) {
      String rel = k8sDir().relativize(p).toString();
      assertFalse(resources.contains(rel), rel + " is an option, not part of the default kustomization");
    }
  }

  @Test
  void manifestsListedInTheKustomizationPassEveryCheck() throws IOException {
    assertEquals(List.of(), clusterProblems(fromFiles(k8sDir())));
  }

  @Test
  void kubectlKustomizeOutputPassesEveryCheck(@TempDir Path tmp) throws Exception {
    Optional<Path> kubectl = onPath("kubectl");
    assumeTrue(kubectl.isPresent(), "kubectl is not on the PATH; the file-by-file check still runs");
    List<JsonNode> objects = kustomize(kubectl.get(), k8sDir(), tmp);
    assertEquals(List.of(), clusterProblems(objects));
    assertEquals(fromFiles(k8sDir()).size(), objects.size(), "kustomize emits one object per listed document");
  }

  @Test
  void productionOptionsPassEveryCheckNextToTheDefaultSet() throws IOException {
    List<JsonNode> production = new ArrayList<>();
    for (Path p : productionFiles()) production.addAll(parseFile(p));
    List<JsonNode> all = new ArrayList<>(fromFiles(k8sDir()));
    all.addAll(production);
    List<String> problems = new ArrayList<>(clusterProblems(all));
    problems.addAll(productionProblems(production, all));
    assertEquals(List.of(), problems);
  }

  @Test
  void composeFilePublishesTheSeedPortsWithOneImage() throws IOException {
    assertEquals(List.of(), composeProblems(single(parseFile(root().resolve("docker-compose.yml")))));
  }

  @Test
  void dockerfileBuildsOnOverridableImagesAndRunsAsNonRoot() throws IOException {
    assertEquals(List.of(), dockerfileProblems(Files.readString(root().resolve("Dockerfile"))));
  }

  // ---- the checks catch broken files -------------------------------------------------------

  static Stream<Arguments> brokenManifests() {
    return Stream.of(
        broken("readiness probe on a path the app does not serve", "readinessProbe",
            objs -> ((ObjectNode) container(find(objs, "Deployment", "worker2")).at("/readinessProbe/httpGet")).put("path", "/healthz")),
        broken("metrics scraped on a port the container does not open", "prometheus.io/port",
            objs -> ((ObjectNode) find(objs, "Deployment", "worker3").at("/spec/template/metadata/annotations"))
                .put("prometheus.io/port", "9090")),
        broken("Service selector that matches no pod", "Service/worker1",
            objs -> ((ObjectNode) find(objs, "Service", "worker1").at("/spec/selector")).put("app", "worker-1")),
        broken("Service selecting every worker", "selects 4 workloads",
            objs -> ((ObjectNode) find(objs, "Service", "worker1").path("spec"))
                .set("selector", MAPPER.createObjectNode().put("app.kubernetes.io/component", "worker"))),
        broken("Service port that is not the app's", "port 8001",
            objs -> ((ObjectNode) find(objs, "Service", "worker3").at("/spec/ports/0")).put("port", 8002)),
        broken("image tagged latest", "latest",
            objs -> container(find(objs, "Deployment", "controller")).put("image", "ringkv:latest")),
        broken("token from a key the Secret lacks", "CLUSTER_TOKEN",
            objs -> ((ObjectNode) env(container(find(objs, "Deployment", "worker4")), "CLUSTER_TOKEN")
                .at("/valueFrom/secretKeyRef")).put("key", "tokn")),
        broken("grace period not above LEAVE_TIMEOUT", "terminationGracePeriodSeconds",
            objs -> ((ObjectNode) find(objs, "Deployment", "worker3").at("/spec/template/spec"))
                .put("terminationGracePeriodSeconds", 30)),
        broken("two workers with one node id", "NODE_ID",
            objs -> env(container(find(objs, "Deployment", "worker3")), "NODE_ID").put("value", "worker2")),
        broken("no NODE_ID_FALLBACK: a second replica would fight over the id", "NODE_ID_FALLBACK",
            objs -> removeEnv(container(find(objs, "Deployment", "worker2")), "NODE_ID_FALLBACK")),
        broken("root allowed", "runAsNonRoot",
            objs -> ((ObjectNode) find(objs, "Deployment", "worker1").at("/spec/template/spec/securityContext"))
                .put("runAsNonRoot", false)),
        broken("object in another namespace", "namespace",
            objs -> ((ObjectNode) find(objs, "Service", "controller").path("metadata")).put("namespace", "default")),
        broken("no memory limit", "limits",
            objs -> ((ObjectNode) container(find(objs, "Deployment", "worker1")).path("resources")).remove("limits")),
        broken("Deployment selector not in the pod labels", "selector",
            objs -> ((ObjectNode) find(objs, "Deployment", "worker2").at("/spec/selector/matchLabels")).put("app", "other")),
        broken("missing worker", "Deployment worker4",
            objs -> objs.remove(find(objs, "Deployment", "worker4"))),
        broken("rolling update would run two pods under one id", "Recreate",
            objs -> ((ObjectNode) find(objs, "Deployment", "worker1").at("/spec/strategy")).put("type", "RollingUpdate")),
        broken("worker data on the pod's own filesystem", "DATA_DIR",
            objs -> ((ObjectNode) container(find(objs, "Deployment", "worker3"))).remove("volumeMounts")),
        broken("worker data on a claim that does not exist", "PersistentVolumeClaim worker2-data",
            objs -> objs.remove(find(objs, "PersistentVolumeClaim", "worker2-data"))),
        broken("workers pointed at a controller Service that does not exist", "CONTROLLER_ADDR",
            objs -> env(container(find(objs, "Deployment", "worker2")), "CONTROLLER_ADDR").put("value", "http://ctrl:8000")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("brokenManifests")
  void aBrokenManifestFails(String fault, String expected, Consumer<List<JsonNode>> breakIt) throws IOException {
    List<JsonNode> objects = fromFiles(k8sDir());
    breakIt.accept(objects);
    List<String> problems = clusterProblems(objects);
    assertTrue(problems.stream().anyMatch(p -> p.contains(expected)),
        fault + ": expected a problem mentioning '" + expected + "', got " + problems);
  }

  @Test
  void aComposeFileWithoutASeedPortAWrongAddressOrADataVolumeFails() throws IOException {
    JsonNode compose = single(parseFile(root().resolve("docker-compose.yml")));
    ObjectNode noPort = compose.deepCopy();
    ((ObjectNode) noPort.at("/services/worker4")).remove("ports");
    assertTrue(composeProblems(noPort).stream().anyMatch(p -> p.contains("8401")), composeProblems(noPort).toString());

    ObjectNode wrongHost = compose.deepCopy();
    setComposeEnv((ObjectNode) wrongHost.at("/services/worker2"), "ADVERTISE_HOST", "localhost");
    assertTrue(composeProblems(wrongHost).stream().anyMatch(p -> p.contains("ADVERTISE_HOST")),
        composeProblems(wrongHost).toString());

    ObjectNode noVolume = compose.deepCopy();
    ((ObjectNode) noVolume.at("/services/worker3")).remove("volumes");
    assertTrue(composeProblems(noVolume).stream().anyMatch(p -> p.contains("worker3") && p.contains("named volume")),
        composeProblems(noVolume).toString());
  }

  @Test
  void aDockerfileWithoutBuildArgsUserOrHealthcheckFails() throws IOException {
    String dockerfile = Files.readString(root().resolve("Dockerfile"));
    String argsAfterFrom = dockerfile.replaceFirst("(?m)^ARG BUILD_IMAGE=.*\\n", "")
        .replaceFirst("(?m)^(FROM .*)$", "$1\nARG BUILD_IMAGE=maven:3.9-eclipse-temurin-17");
    assertTrue(dockerfileProblems(argsAfterFrom).stream().anyMatch(p -> p.contains("BUILD_IMAGE")),
        dockerfileProblems(argsAfterFrom).toString());
    String root = dockerfile.replaceAll("(?m)^USER .*$", "USER root");
    assertTrue(dockerfileProblems(root).stream().anyMatch(p -> p.contains("USER")), dockerfileProblems(root).toString());
    String noHealthcheck = dockerfile.replaceAll("(?m)^HEALTHCHECK .*$", "LABEL x=y");
    assertTrue(dockerfileProblems(noHealthcheck).stream().anyMatch(p -> p.contains("HEALTHCHECK")),
        dockerfileProblems(noHealthcheck).toString());
  }

  // ---- Kubernetes objects ------------------------------------------------------------------

  /** Every problem of one set of objects (as {@code kubectl kustomize k8s/} emits them); none = fine. */
  static List<String> clusterProblems(List<JsonNode> objects) {
    List<String> problems = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    for (int i = 0; i < objects.size(); i++) {
      JsonNode o = objects.get(i);
      String id = blank(kind(o)) || blank(name(o)) ? "object #" + (i + 1) : id(o);
      if (blank(o.path("apiVersion").asText()) || blank(kind(o)) || blank(name(o))) {
        problems.add(id + ": needs apiVersion, kind and metadata.name");
      }
      if (!ids.add(id)) problems.add(id + ": defined twice");
      String ns = o.at("/metadata/namespace").asText("");
      if (!CLUSTER_SCOPED.contains(kind(o)) && !NAMESPACE.equals(ns)) {
        problems.add(id + ": namespace is '" + ns + "', not " + NAMESPACE);
      }
    }
    if (find(objects, "Namespace", NAMESPACE) == null) problems.add("no Namespace " + NAMESPACE);

    if (find(objects, "Deployment", "controller") == null) {
      problems.add("no Deployment controller");
    } else {
      problems.addAll(roleProblems(find(objects, "Deployment", "controller"), "controller"));
    }
    for (String w : WORKERS) {
      JsonNode d = find(objects, "Deployment", w);
      if (d == null) {
        problems.add("no Deployment " + w);
      } else {
        problems.addAll(roleProblems(d, "worker"));
        JsonNode c = container(d);
        if (!w.equals(env(c, "NODE_ID").path("value").asText())) {
          problems.add(id(d) + ": env NODE_ID must be the Deployment's name " + w + ", so the seed's commands name the node");
        }
        if (!"metadata.name".equals(env(c, "NODE_ID_FALLBACK").at("/valueFrom/fieldRef/fieldPath").asText())) {
          problems.add(id(d) + ": env NODE_ID_FALLBACK must come from fieldRef metadata.name, so that a second replica adds a node");
        }
      }
    }
    for (JsonNode o : objects) {
      if (!WORKLOADS.contains(kind(o))) continue;
      problems.addAll(workloadProblems(o, objects));
      if (kind(o).equals("Deployment") && !"Recreate".equals(o.at("/spec/strategy/type").asText())) {
        problems.add(id(o) + ": strategy must be Recreate (a rolling update runs two pods under one node id)");
      }
    }

    problems.addAll(expectedServiceProblems(objects, "controller", 8000));
    for (String w : WORKERS) problems.addAll(expectedServiceProblems(objects, w, 8001));
    for (JsonNode s : objects) {
      if (kind(s).equals("Service")) problems.addAll(serviceProblems(s, objects));
    }
    return problems;
  }

  private static List<String> roleProblems(JsonNode workload, String role) {
    String actual = env(container(workload), "ROLE").path("value").asText();
    return role.equals(actual) ? List.of() : List.of(id(workload) + ": env ROLE is '" + actual + "', not " + role);
  }

  /** The checks every pod template must pass: labels, image, ports, probes, resources, user, token. */
  private static List<String> workloadProblems(JsonNode w, List<JsonNode> objects) {
    List<String> problems = new ArrayList<>();
    String id = id(w);
    JsonNode selector = w.at("/spec/selector/matchLabels");
    JsonNode labels = w.at("/spec/template/metadata/labels");
    if (selector.size() == 0 || !selects(selector, labels)) {
      problems.add(id + ": spec.selector.matchLabels " + selector + " must be non-empty and among the pod labels " + labels);
    }
    JsonNode pod = w.at("/spec/template/spec");
    if (pod.path("containers").size() == 0) {
      problems.add(id + ": no containers");
      return problems;
    }
    for (JsonNode c : pod.path("containers")) {
      String cid = id + " container " + c.path("name").asText("?");
      problems.addAll(imageProblems(cid, c));
      Set<String> ports = new HashSet<>();
      for (JsonNode p : c.path("ports")) {
        ports.add(p.path("containerPort").asText());
        if (p.has("name")) ports.add(p.path("name").asText());
      }
      if (c.path("ports").size() == 0) problems.add(cid + ": declares no ports");
      JsonNode scrape = w.at("/spec/template/metadata/annotations");
      if (!"true".equals(scrape.path("prometheus.io/scrape").asText()) || !"/metrics".equals(scrape.path("prometheus.io/path").asText())
          || !ports.contains(scrape.path("prometheus.io/port").asText()))
        problems.add(cid + ": the pod needs prometheus.io/scrape \"true\", prometheus.io/path /metrics and prometheus.io/port"
            + " on the container's port, so that Prometheus finds its metrics");
      problems.addAll(probeProblems(cid, c, "readinessProbe", READY_PATH, ports));
      problems.addAll(probeProblems(cid, c, "livenessProbe", LIVE_PATH, ports));
      if (c.has("startupProbe")) problems.addAll(probeProblems(cid, c, "startupProbe", null, ports));
      for (String r : List.of("requests/cpu", "requests/memory", "limits/memory")) {
        if (blank(c.at("/resources/" + r).asText())) problems.add(cid + ": no resources." + r.replace('/', '.'));
      }
      JsonNode nonRoot = c.at("/securityContext/runAsNonRoot");
      if (nonRoot.isMissingNode()) nonRoot = pod.at("/securityContext/runAsNonRoot");
      if (!nonRoot.asBoolean(false)) problems.add(cid + ": securityContext.runAsNonRoot must be true");
      JsonNode user = c.at("/securityContext/runAsUser");
      if (user.isMissingNode()) user = pod.at("/securityContext/runAsUser");
      if (!user.isMissingNode() && user.asLong() == 0) problems.add(cid + ": runAsUser 0 is root");
      String port = env(c, "PORT").path("value").asText(null);
      if (port != null && !ports.contains(port)) problems.add(cid + ": env PORT " + port + " is not a container port " + ports);
      problems.addAll(tokenProblems(cid, c, objects));
      if ("worker".equals(env(c, "ROLE").path("value").asText())) problems.addAll(workerProblems(w, cid, c, objects));
    }
    return problems;
  }

  private static List<String> imageProblems(String cid, JsonNode c) {
    String image = c.path("image").asText("");
    if (blank(image)) return List.of(cid + ": no image");
    String last = image.substring(image.lastIndexOf('/') + 1);
    if (!image.contains("@") && (!last.contains(":") || last.endsWith(":latest"))) {
      return List.of(cid + ": image " + image + " must have a tag other than latest (no registry: it is never pulled)");
    }
    if ("Always".equals(c.path("imagePullPolicy").asText())) {
      return List.of(cid + ": imagePullPolicy Always fails where no registry is reachable");
    }
    return List.of();
  }

  private static List<String> probeProblems(String cid, JsonNode c, String probe, String path, Set<String> ports) {
    JsonNode get = c.path(probe).path("httpGet");
    if (get.isMissingNode()) return List.of(cid + ": no " + probe + " with httpGet");
    List<String> problems = new ArrayList<>();
    String actual = get.path("path").asText();
    if (path != null ? !path.equals(actual) : !SERVED_PATHS.contains(actual)) {
      problems.add(cid + ": " + probe + " path is '" + actual + "', expected " + (path != null ? path : SERVED_PATHS));
    }
    if (!ports.contains(get.path("port").asText())) {
      problems.add(cid + ": " + probe + " port " + get.path("port") + " is not a container port " + ports);
    }
    return problems;
  }

  private static List<String> tokenProblems(String cid, JsonNode c, List<JsonNode> objects) {
    JsonNode ref = env(c, "CLUSTER_TOKEN").at("/valueFrom/secretKeyRef");
    if (ref.isMissingNode()) return List.of(cid + ": env CLUSTER_TOKEN must come from a Secret (secretKeyRef)");
    JsonNode secret = find(objects, "Secret", ref.path("name").asText());
    String key = ref.path("key").asText();
    if (secret == null) return List.of(cid + ": env CLUSTER_TOKEN names Secret " + ref.path("name") + ", which is not in the set");
    if (!secret.path("data").has(key) && !secret.path("stringData").has(key)) {
      return List.of(cid + ": env CLUSTER_TOKEN names key '" + key + "', which Secret " + name(secret) + " lacks");
    }
    return List.of();
  }

  private static List<String> workerProblems(JsonNode w, String cid, JsonNode c, List<JsonNode> objects) {
    List<String> problems = new ArrayList<>();
    if (!"status.podIP".equals(env(c, "ADVERTISE_HOST").at("/valueFrom/fieldRef/fieldPath").asText())) {
      problems.add(cid + ": env ADVERTISE_HOST must come from fieldRef status.podIP (the address peers reach)");
    }
    if (!kind(w).equals("Deployment") && !"metadata.name".equals(env(c, "NODE_ID").at("/valueFrom/fieldRef/fieldPath").asText())) {
      problems.add(cid + ": env NODE_ID must come from fieldRef metadata.name (one id per pod)");
    }
    String addr = env(c, "CONTROLLER_ADDR").path("value").asText("");
    try {
      URI uri = URI.create(addr);
      String host = uri.getHost() == null ? "" : uri.getHost().split("\\.")[0];
      JsonNode svc = find(objects, "Service", host);
      if (svc == null || !servicePorts(svc).contains(uri.getPort())) {
        problems.add(cid + ": env CONTROLLER_ADDR '" + addr + "' is not a Service port in the set");
      }
    } catch (IllegalArgumentException e) {
      problems.add(cid + ": env CONTROLLER_ADDR '" + addr + "' is not a URL");
    }
    problems.addAll(dataVolumeProblems(w, cid, c, objects));
    String leave = env(c, "LEAVE_TIMEOUT").path("value").asText(null);
    long leaveMillis = leave == null ? 30_000 : millis(leave);
    long grace = w.at("/spec/template/spec/terminationGracePeriodSeconds").asLong(30);
    if (leaveMillis < 0) {
      problems.add(cid + ": env LEAVE_TIMEOUT '" + leave + "' is not a duration");
    } else if (grace * 1000 <= leaveMillis) {
      problems.add(cid + ": terminationGracePeriodSeconds " + grace + " must exceed LEAVE_TIMEOUT "
          + (leave == null ? "(default 30s)" : leave) + ", or the leave is cut short");
    }
    return problems;
  }

  /** The seed's Service NAME must exist with PORT and select the pods of Deployment NAME. */
  private static List<String> expectedServiceProblems(List<JsonNode> objects, String name, int port) {
    JsonNode svc = find(objects, "Service", name);
    if (svc == null) return List.of("no Service " + name);
    List<String> problems = new ArrayList<>();
    if (!servicePorts(svc).contains(port)) problems.add(id(svc) + ": must serve port " + port + " (the seed's port-forward)");
    JsonNode d = find(objects, "Deployment", name);
    if (d != null && !selects(svc.at("/spec/selector"), d.at("/spec/template/metadata/labels"))) {
      problems.add(id(svc) + ": selector " + svc.at("/spec/selector") + " does not select Deployment " + name);
    }
    return problems;
  }

  /** Any Service: selects the pods of exactly one workload, and its target ports are that workload's. */
  private static List<String> serviceProblems(JsonNode svc, List<JsonNode> objects) {
    JsonNode selector = svc.at("/spec/selector");
    if (selector.size() == 0) return List.of(id(svc) + ": no selector");
    List<JsonNode> selected = objects.stream()
        .filter(o -> WORKLOADS.contains(kind(o)) && selects(selector, o.at("/spec/template/metadata/labels")))
        .collect(Collectors.toList());
    if (selected.size() != 1) {
      return List.of(id(svc) + ": selector " + selector + " selects " + selected.size() + " workloads, not 1: "
          + selected.stream().map(ManifestTest::id).collect(Collectors.toList()));
    }
    List<String> problems = new ArrayList<>();
    Set<String> containerPorts = new HashSet<>();
    for (JsonNode c : selected.get(0).at("/spec/template/spec/containers")) {
      for (JsonNode p : c.path("ports")) {
        containerPorts.add(p.path("containerPort").asText());
        if (p.has("name")) containerPorts.add(p.path("name").asText());
      }
    }
    for (JsonNode p : svc.at("/spec/ports")) {
      String target = p.has("targetPort") ? p.path("targetPort").asText() : p.path("port").asText();
      if (!containerPorts.contains(target)) {
        problems.add(id(svc) + ": targetPort " + target + " is not a container port of " + id(selected.get(0)));
      }
    }
    return problems;
  }

  /** k8s/production: a PodDisruptionBudget over every worker, a StatefulSet under a headless Service. */
  static List<String> productionProblems(List<JsonNode> production, List<JsonNode> all) {
    List<String> problems = new ArrayList<>();
    JsonNode pdb = production.stream().filter(o -> kind(o).equals("PodDisruptionBudget")).findFirst().orElse(null);
    if (pdb == null) {
      problems.add("k8s/production: no PodDisruptionBudget");
    } else {
      if (!pdb.path("apiVersion").asText().startsWith("policy/")) problems.add(id(pdb) + ": apiVersion must be policy/v1 (or v1beta1)");
      if (!pdb.path("spec").has("maxUnavailable") && !pdb.path("spec").has("minAvailable")) {
        problems.add(id(pdb) + ": needs maxUnavailable or minAvailable");
      }
      for (JsonNode o : all) {
        if (!WORKLOADS.contains(kind(o))) continue;
        boolean worker = "worker".equals(env(container(o), "ROLE").path("value").asText());
        if (worker != selects(pdb.at("/spec/selector/matchLabels"), o.at("/spec/template/metadata/labels"))) {
          problems.add(id(pdb) + ": must select every worker and nothing else; " + id(o) + (worker ? " is not selected" : " is"));
        }
      }
    }
    JsonNode sts = production.stream().filter(o -> kind(o).equals("StatefulSet")).findFirst().orElse(null);
    if (sts == null) {
      problems.add("k8s/production: no StatefulSet");
    } else {
      JsonNode svc = find(all, "Service", sts.at("/spec/serviceName").asText());
      if (svc == null || !"None".equals(svc.at("/spec/clusterIP").asText())) {
        problems.add(id(sts) + ": spec.serviceName must name a headless Service (clusterIP: None) in the set");
      }
    }
    return problems;
  }

  // ---- docker-compose.yml and Dockerfile ---------------------------------------------------

  /** A worker's DATA_DIR is a mounted volume backed by a claim of its own (a Deployment's PersistentVolumeClaim, or a StatefulSet's template). */
  private static List<String> dataVolumeProblems(JsonNode w, String cid, JsonNode c, List<JsonNode> objects) {
    String dir = env(c, "DATA_DIR").path("value").asText("");
    if (!dir.startsWith("/")) return List.of(cid + ": env DATA_DIR must be an absolute path on a persistent volume, is '" + dir + "'");
    String volume = null;
    for (JsonNode m : c.path("volumeMounts")) if (dir.equals(m.path("mountPath").asText())) volume = m.path("name").asText();
    if (volume == null) return List.of(cid + ": nothing is mounted at DATA_DIR " + dir + ": the data would die with the pod");
    for (JsonNode t : w.at("/spec/volumeClaimTemplates")) if (volume.equals(t.at("/metadata/name").asText())) return List.of();
    for (JsonNode v : w.at("/spec/template/spec/volumes")) {
      if (!volume.equals(v.path("name").asText())) continue;
      String claim = v.at("/persistentVolumeClaim/claimName").asText("");
      if (claim.isEmpty()) return List.of(cid + ": the volume at DATA_DIR " + dir + " is not a persistentVolumeClaim");
      if (find(objects, "PersistentVolumeClaim", claim) == null) return List.of(cid + ": no PersistentVolumeClaim " + claim + " in the set");
      return List.of();
    }
    return List.of(cid + ": the volume " + volume + " mounted at DATA_DIR is not defined");
  }

  static List<String> composeProblems(JsonNode compose) {
    List<String> problems = new ArrayList<>();
    Map<String, Integer> published = new LinkedHashMap<>();
    published.put("controller", 8000);
    for (int i = 0; i < WORKERS.size(); i++) published.put(WORKERS.get(i), 8101 + 100 * i);
    JsonNode services = compose.path("services");
    Set<String> images = new HashSet<>();
    Set<String> tokens = new HashSet<>();
    boolean built = false;
    for (Map.Entry<String, Integer> e : published.entrySet()) {
      String name = e.getKey();
      JsonNode s = services.path(name);
      if (s.isMissingNode()) {
        problems.add("docker-compose.yml: no service " + name);
        continue;
      }
      boolean controller = name.equals("controller");
      int target = controller ? 8000 : 8001;
      if (!composePorts(s).contains(e.getValue() + ":" + target)) {
        problems.add("docker-compose.yml: " + name + " must publish " + e.getValue() + ":" + target + ", has " + composePorts(s));
      }
      Map<String, String> env = composeEnv(s);
      Map<String, String> expected = new LinkedHashMap<>();
      expected.put("PORT", String.valueOf(target));
      if (controller) {
        expected.put("ROLE", "controller");
      } else {
        expected.put("ROLE", "worker");
        expected.put("NODE_ID", name);
        expected.put("ADVERTISE_HOST", name);
        expected.put("CONTROLLER_ADDR", "http://controller:8000");
        boolean named = false;
        for (JsonNode v : s.path("volumes")) {
          String[] parts = v.asText("").split(":");
          named |= parts.length >= 2 && parts[1].equals("/data") && compose.path("volumes").has(parts[0]);
        }
        if (!named) problems.add("docker-compose.yml: " + name + " must keep /data (the image's DATA_DIR) in a named volume");
      }
      for (Map.Entry<String, String> x : expected.entrySet()) {
        if (!x.getValue().equals(env.get(x.getKey()))) {
          problems.add("docker-compose.yml: " + name + " env " + x.getKey() + " is '" + env.get(x.getKey()) + "', not " + x.getValue());
        }
      }
      tokens.add(String.valueOf(env.get("CLUSTER_TOKEN")));
      images.add(s.path("image").asText(""));
      built |= s.has("build");
      if (!s.has("healthcheck")) problems.add("docker-compose.yml: " + name + " has no healthcheck");
      long grace = millis(s.path("stop_grace_period").asText("10s"));
      if (!controller && grace <= millis(env.getOrDefault("LEAVE_TIMEOUT", "30s"))) {
        problems.add("docker-compose.yml: " + name + " stop_grace_period must exceed LEAVE_TIMEOUT");
      }
    }
    if (images.size() != 1 || images.contains("")) problems.add("docker-compose.yml: every service must run one named image, not " + images);
    if (!built) problems.add("docker-compose.yml: no service builds the image");
    if (tokens.size() != 1 || tokens.contains("null")) problems.add("docker-compose.yml: every service needs the same CLUSTER_TOKEN, not " + tokens);
    return problems;
  }

  private static Set<String> composePorts(JsonNode service) {
    Set<String> ports = new HashSet<>();
    for (JsonNode p : service.path("ports")) {
      if (p.isObject()) {
        ports.add(p.path("published").asText() + ":" + p.path("target").asText());
      } else {
        String[] parts = p.asText().replaceAll("/(tcp|udp)$", "").split(":");
        if (parts.length >= 2) ports.add(parts[parts.length - 2] + ":" + parts[parts.length - 1]);
      }
    }
    return ports;
  }

  private static Map<String, String> composeEnv(JsonNode service) {
    Map<String, String> env = new LinkedHashMap<>();
    JsonNode e = service.path("environment");
    if (e.isArray()) {
      for (JsonNode line : e) {
        String[] kv = line.asText().split("=", 2);
        env.put(kv[0], kv.length > 1 ? kv[1] : null);
      }
    } else {
      e.fields().forEachRemaining(f -> env.put(f.getKey(), f.getValue().isNull() ? null : f.getValue().asText()));
    }
    return env;
  }

  private static void setComposeEnv(ObjectNode service, String key, String value) {
    JsonNode e = service.path("environment");
    if (e.isArray()) {
      ArrayNode list = (ArrayNode) e;
      for (int i = 0; i < list.size(); i++) {
        if (list.get(i).asText().startsWith(key + "=")) list.set(i, MAPPER.getNodeFactory().textNode(key + "=" + value));
      }
    } else {
      ((ObjectNode) e).put(key, value);
    }
  }

  static List<String> dockerfileProblems(String text) {
    List<String[]> instructions = new ArrayList<>();   // {INSTRUCTION, arguments}
    StringBuilder line = new StringBuilder();
    for (String raw : text.split("\n", -1)) {
      if (line.length() == 0 && raw.strip().startsWith("#")) continue;
      if (raw.stripTrailing().endsWith("\\")) {
        String r = raw.stripTrailing();
        line.append(r, 0, r.length() - 1).append(' ');
        continue;
      }
      if (raw.strip().startsWith("#")) continue;   // a comment inside a continued instruction
      line.append(raw);
      String l = line.toString().strip();
      line.setLength(0);
      if (l.isEmpty()) continue;
      String[] parts = l.split("\\s+", 2);
      instructions.add(new String[] {parts[0].toUpperCase(), parts.length > 1 ? parts[1] : ""});
    }
    List<String> problems = new ArrayList<>();
    int firstFrom = -1;
    int lastFrom = -1;
    for (int i = 0; i < instructions.size(); i++) {
      if (instructions.get(i)[0].equals("FROM")) {
        if (firstFrom < 0) firstFrom = i;
        lastFrom = i;
      }
    }
    if (firstFrom < 0) return List.of("Dockerfile: no FROM");
    for (String arg : List.of("BUILD_IMAGE", "RUNTIME_IMAGE")) {
      boolean declared = false;
      for (int i = 0; i < firstFrom; i++) {
        String[] ins = instructions.get(i);
        declared |= ins[0].equals("ARG") && ins[1].matches(arg + "=\\S+");
      }
      if (!declared) problems.add("Dockerfile: ARG " + arg + "=<public default> must come before the first FROM");
    }
    if (!instructions.get(firstFrom)[1].matches("\\$\\{?BUILD_IMAGE}?(\\s.*)?")) {
      problems.add("Dockerfile: the first FROM must use ${BUILD_IMAGE}");
    }
    if (firstFrom == lastFrom || !instructions.get(lastFrom)[1].matches("\\$\\{?RUNTIME_IMAGE}?(\\s.*)?")) {
      problems.add("Dockerfile: the last FROM (the runtime stage) must use ${RUNTIME_IMAGE}");
    }
    String user = null;
    boolean healthcheck = false;
    boolean entrypoint = false;
    Set<String> exposed = new HashSet<>();
    for (int i = lastFrom; i < instructions.size(); i++) {
      String[] ins = instructions.get(i);
      switch (ins[0]) {
        case "USER": user = ins[1].strip(); break;
        case "HEALTHCHECK": healthcheck = !ins[1].strip().equalsIgnoreCase("NONE"); break;
        case "ENTRYPOINT": entrypoint = true; break;
        case "EXPOSE": exposed.addAll(List.of(ins[1].strip().split("\\s+"))); break;
        default: break;
      }
    }
    for (String[] ins : instructions) {
      if (ins[0].equals("RUN") && ins[1].startsWith("--mount")) problems.add("Dockerfile: RUN --mount needs BuildKit; the legacy builder must work");
    }
    if (user == null || user.split(":")[0].equals("root") || user.split(":")[0].equals("0")) {
      problems.add("Dockerfile: the runtime stage must switch to a non-root USER (got " + user + ")");
    }
    if (!healthcheck) problems.add("Dockerfile: the runtime stage needs a HEALTHCHECK");
    if (!entrypoint) problems.add("Dockerfile: the runtime stage needs an ENTRYPOINT");
    if (!exposed.containsAll(Set.of("8000", "8001"))) problems.add("Dockerfile: EXPOSE 8000 8001, got " + exposed);
    return problems;
  }

  // ---- reading the files -------------------------------------------------------------------

  /** The repository root, or -Dringkv.deploy.dir. */
  private static Path root() {
    String dir = System.getProperty("ringkv.deploy.dir");
    if (dir == null || dir.isBlank()) dir = System.getProperty("basedir", ".");
    return Path.of(dir).toAbsolutePath().normalize();
  }

  private static Path k8sDir() {
    return root().resolve("k8s");
  }

  private static List<Path> productionFiles() throws IOException {
    try (Stream<Path> files = Files.list(k8sDir().resolve("production"))) {
      return files.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().collect(Collectors.toList());
    }
  }

  /** What {@code kubectl kustomize} would emit, read file by file: namespace and images applied. */
  static List<JsonNode> fromFiles(Path k8s) throws IOException {
    JsonNode kustomization = single(parseFile(k8s.resolve("kustomization.yaml")));
    String ns = kustomization.path("namespace").asText(null);
    List<JsonNode> objects = new ArrayList<>();
    for (String resource : texts(kustomization.path("resources"))) {
      for (JsonNode doc : parseFile(k8s.resolve(resource))) {
        if (!doc.isObject()) fail(resource + ": a document that is not a mapping: " + doc);
        ObjectNode o = (ObjectNode) doc;
        if (ns != null && !CLUSTER_SCOPED.contains(kind(o))) {
          if (!o.path("metadata").isObject()) o.putObject("metadata");
          ((ObjectNode) o.path("metadata")).put("namespace", ns);
        }
        for (JsonNode image : kustomization.path("images")) retag(o, image);
        objects.add(o);
      }
    }
    return objects;
  }

  /** kustomize's images: transformer, for containers whose image name equals the entry's name. */
  private static void retag(ObjectNode o, JsonNode entry) {
    for (JsonNode c : o.at("/spec/template/spec/containers")) {
      String image = c.path("image").asText("");
      int slash = image.lastIndexOf('/');
      int at = image.indexOf('@');
      int colon = image.indexOf(':', slash + 1);
      int end = at >= 0 ? at : colon >= 0 ? colon : image.length();
      String imageName = image.substring(0, end);
      if (!imageName.equals(entry.path("name").asText())) continue;
      String newName = entry.path("newName").asText(imageName);
      String suffix = image.substring(end);
      if (entry.has("newTag")) suffix = ":" + entry.path("newTag").asText();
      if (entry.has("digest")) suffix = "@" + entry.path("digest").asText();
      ((ObjectNode) c).put("image", newName + suffix);
    }
  }

  private static List<JsonNode> kustomize(Path kubectl, Path k8s, Path tmp) throws IOException, InterruptedException {
    Path out = tmp.resolve("kustomize.yaml");
    Path err = tmp.resolve("kustomize.err");
    Process p = new ProcessBuilder(kubectl.toString(), "kustomize", k8s.toString())
        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("kubectl kustomize " + k8s + " did not finish within 60 s");
    }
    assertEquals(0, p.exitValue(), "kubectl kustomize " + k8s + " failed: " + Files.readString(err));
    return parseYaml(Files.readString(out), "kubectl kustomize " + k8s);
  }

  private static Optional<Path> onPath(String command) {
    String path = System.getenv("PATH");
    if (path == null) return Optional.empty();
    for (String dir : path.split(File.pathSeparator)) {
      if (dir.isEmpty()) continue;
      Path candidate = Path.of(dir, command);
      if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) return Optional.of(candidate);
    }
    return Optional.empty();
  }

  private static List<JsonNode> parseFile(Path file) throws IOException {
    if (!Files.isRegularFile(file)) fail(file + " is missing");
    return parseYaml(Files.readString(file, StandardCharsets.UTF_8), file.toString());
  }

  /** Every non-empty document; anchors, aliases and merge keys resolved; duplicate keys refused. */
  static List<JsonNode> parseYaml(String text, String origin) {
    LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    List<JsonNode> docs = new ArrayList<>();
    try {
      for (Object doc : new Yaml(new SafeConstructor(options)).loadAll(text)) {
        if (doc != null) docs.add(MAPPER.valueToTree(doc));
      }
    } catch (RuntimeException e) {
      fail(origin + " is not valid YAML: " + e.getMessage(), e);
    }
    return docs;
  }

  private static JsonNode single(List<JsonNode> docs) {
    assertEquals(1, docs.size(), "expected one YAML document");
    return docs.get(0);
  }

  // ---- small helpers -----------------------------------------------------------------------

  private static Arguments broken(String fault, String expected, Consumer<List<JsonNode>> breakIt) {
    return Arguments.of(fault, expected, breakIt);
  }

  private static JsonNode find(List<JsonNode> objects, String kind, String name) {
    return objects.stream().filter(o -> kind.equals(kind(o)) && name.equals(name(o))).findFirst().orElse(null);
  }

  /** The first container of a workload's pod template. */
  private static ObjectNode container(JsonNode workload) {
    JsonNode c = workload.at("/spec/template/spec/containers/0");
    return c.isObject() ? (ObjectNode) c : MAPPER.createObjectNode();
  }

  /** The env entry NAME of a container (a missing node when absent). */
  private static ObjectNode env(JsonNode container, String name) {
    for (JsonNode e : container.path("env")) {
      if (name.equals(e.path("name").asText())) return (ObjectNode) e;
    }
    return MAPPER.createObjectNode();
  }

  private static void removeEnv(ObjectNode container, String name) {
    Iterator<JsonNode> it = container.path("env").elements();
    while (it.hasNext()) {
      if (name.equals(it.next().path("name").asText())) it.remove();
    }
  }

  /** True when every label of the selector is among the labels. */
  private static boolean selects(JsonNode selector, JsonNode labels) {
    if (selector.size() == 0) return false;
    Iterator<Map.Entry<String, JsonNode>> it = selector.fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      if (!e.getValue().asText().equals(labels.path(e.getKey()).asText(null))) return false;
    }
    return true;
  }

  private static Set<Integer> servicePorts(JsonNode svc) {
    Set<Integer> ports = new HashSet<>();
    for (JsonNode p : svc.at("/spec/ports")) ports.add(p.path("port").asInt());
    return ports;
  }

  private static final Pattern DURATION_PART = Pattern.compile(
      "(\\d+)\\s*(milliseconds?|ms|seconds?|s|minutes?|m|hours?|h)?");

  /** A HOCON or compose duration ("30s", "30 seconds", "1m30s", "45000ms"; no unit = ms) in ms; -1 if none. */
  static long millis(String text) {
    String t = text.strip();
    Matcher m = DURATION_PART.matcher(t);
    long total = 0;
    int pos = 0;
    while (pos < t.length()) {
      if (!m.find(pos) || m.start() != pos) return -1;
      long n = Long.parseLong(m.group(1));
      String unit = m.group(2) == null ? "ms" : m.group(2);
      long factor = unit.startsWith("ms") || unit.startsWith("milli") ? 1
          : unit.startsWith("s") ? 1000 : unit.startsWith("m") ? 60_000 : 3_600_000;
      total += n * factor;
      pos = m.end();
    }
    return t.isEmpty() ? -1 : total;
  }

  @Test
  void durationsAreReadLikeTheApplicationReadsThem() {
    assertEquals(30_000, millis("30s"));
    assertEquals(30_000, millis("30 seconds"));
    assertEquals(90_000, millis("1m30s"));
    assertEquals(1_800, millis("1800ms"));
    assertEquals(1_800, millis("1800"));
    assertEquals(-1, millis("soon"));
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    for (JsonNode n : array) out.add(n.asText());
    return out;
  }

  private static String kind(JsonNode o) {
    return o.path("kind").asText("");
  }

  private static String name(JsonNode o) {
    return o.at("/metadata/name").asText("");
  }

  private static String id(JsonNode o) {
    return kind(o) + "/" + name(o);
  }

  private static boolean blank(String s) {
    return s == null || s.isBlank();
  }
}
