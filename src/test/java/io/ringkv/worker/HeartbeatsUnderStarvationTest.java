package io.ringkv.worker;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.ringkv.config.NodeSettings;
import io.ringkv.net.ControlPlaneClient;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A worker whose dispatcher is saturated still heartbeats. At a million keys a worker's single
 * dispatcher thread was busy planning and pushing a rebalance for seconds; its heartbeats shared that
 * thread (and Pekko HTTP's client), went out late, the controller called it DOWN, and every new view
 * restarted the rebalance. Here the one thread of the default dispatcher is blocked for 3 s while a
 * stand-in controller (the JDK's HTTP server) counts the heartbeats of a real {@link MembershipLink}
 * over the real {@link ControlPlaneClient}: they must keep coming, 100 ms apart, during the block.
 */
class HeartbeatsUnderStarvationTest {
  private HttpServer controller;
  private ActorTestKit testKit;

  @AfterEach
  void stop() {
    if (testKit != null) testKit.shutdownTestKit();
    if (controller != null) controller.stop(0);
  }

  @Test
  void heartbeatsKeepComingWhileTheDefaultDispatcherIsBlocked() throws Exception {
    AtomicInteger heartbeats = new AtomicInteger();
    controller = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    String view = "{\"epoch\":1,\"nodes\":{\"w\":{\"host\":\"127.0.0.1\",\"port\":1,\"status\":\"UP\"}}}";
    controller.createContext("/register", ex -> answer(ex, "{\"view\":" + view + "}"));
    controller.createContext("/ring", ex -> answer(ex, view));
    controller.createContext("/heartbeat", ex -> {
      heartbeats.incrementAndGet();
      answer(ex, "{\"epoch\":1}");
    });
    controller.start();

    Config config = ConfigFactory.parseMap(Map.of(
            "ringkv.node-id", "w",
            "ringkv.advertise-host", "127.0.0.1",
            "ringkv.controller-addr", "http://127.0.0.1:" + controller.getAddress().getPort(),
            "ringkv.membership.heartbeat-interval", "100ms",
            "pekko.actor.default-dispatcher.fork-join-executor.parallelism-min", "1",
            "pekko.actor.default-dispatcher.fork-join-executor.parallelism-max", "1"))
        .withFallback(ConfigFactory.load());
    testKit = ActorTestKit.create("starved", config);
    TestProbe<Worker.Command> worker = testKit.createTestProbe();
    ControlPlaneClient controlPlane = new ControlPlaneClient(NodeSettings.from(config));
    testKit.spawn(MembershipLink.create(NodeSettings.from(config), controlPlane, System::currentTimeMillis, worker.getRef()), "membership",
        MembershipLink.dispatcher(config)).tell(MembershipLink.Start.INSTANCE);
    awaitAtLeast(heartbeats, 3, 10_000);   // registered and heartbeating

    // the default dispatcher's one thread, busy for 3 s (as a rebalance of a million keys kept it)
    CountDownLatch blocked = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    testKit.system().executionContext().execute(() -> {
      blocked.countDown();
      try {
        release.await(3, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    assertTrue(blocked.await(5, TimeUnit.SECONDS), "the default dispatcher never ran the blocking task");
    int before = heartbeats.get();
    awaitAtLeast(heartbeats, before + 10, 2500);
    int during = heartbeats.get() - before;
    release.countDown();
    assertTrue(during >= 10, "only " + during + " heartbeats in 2.5 s while the default dispatcher was blocked");
  }

  /** Waits until {@code n} reaches {@code target} or {@code millis} pass. */
  private static void awaitAtLeast(AtomicInteger n, int target, long millis) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (n.get() < target && System.nanoTime() < deadline) java.util.concurrent.locks.LockSupport.parkNanos(5_000_000L);
  }

  private static void answer(com.sun.net.httpserver.HttpExchange ex, String json) throws IOException {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "application/json");
    ex.sendResponseHeaders(200, body.length);
    ex.getResponseBody().write(body);
    ex.close();
  }
}
