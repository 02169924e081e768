package io.ringkv;

import io.ringkv.config.NodeSettings;
import io.ringkv.controller.Controller;
import io.ringkv.controller.ControllerApi;
import io.ringkv.metrics.NodeMetrics;
import io.ringkv.http.ControllerRoutes;
import io.ringkv.http.HttpServer;
import io.ringkv.http.WorkerRoutes;
import io.ringkv.net.ControlPlane;
import io.ringkv.net.ControlPlaneClient;
import io.ringkv.net.LinkServer;
import io.ringkv.net.PeerLinks;
import io.ringkv.net.Peers;
import io.ringkv.storage.GroupCommit;
import io.ringkv.storage.HybridClock;
import io.ringkv.worker.LocalData;
import io.ringkv.worker.Shards;
import io.ringkv.worker.Coordinator;
import io.ringkv.worker.Store;
import io.ringkv.worker.Worker;
import io.ringkv.worker.WorkerApi;
import io.ringkv.worker.WorkerEnv;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.LoggerFactory;

/** Wiring only: spawns a node's actors and binds its HTTP routes (and a worker's node-to-node link). */
public final class Guardian {
  private Guardian() {}

  /** {@code data}: what the worker found in its data directory; closed when the worker's ActorSystem terminates. */
  public static Behavior<Void> worker(NodeSettings settings, LocalData data, boolean adminStop) {
    return Behaviors.setup(ctx -> {
      warnIfProtectedMode(settings);
      NodeMetrics metrics = NodeMetrics.create(settings.metricsEnabled(), "worker", settings.nodeId());
      storageGauges(metrics, data);
      WorkerApi api;
      try {
        api = workerApi(ctx, settings, data, new PeerLinks(ctx.getSystem(), settings, metrics), new ControlPlaneClient(settings));
      } catch (RuntimeException e) {
        data.close();
        throw e;
      }
      // on SIGTERM (or any shutdown) leave the cluster and hand the keys over before the server unbinds
      AtomicBoolean crash = new AtomicBoolean();
      CoordinatedShutdown shutdown = CoordinatedShutdown.get(ctx.getSystem());
      // the last writes reach the disk, and the directory's lock is free once the system has terminated
      shutdown.addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "close-data",
          () -> CompletableFuture.runAsync(data::close).thenApply(v -> Done.done()));   // waits for the disk: off the dispatcher
      shutdown.addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "leave-cluster", () -> {
        // in local mode the whole cluster exits with the JVM: nobody is left to hand keys to
        boolean wholeClusterExits = adminStop && shutdown.getShutdownReason()
            .map(CoordinatedShutdown.jvmExitReason()::equals).orElse(false);
        if (crash.get() || wholeClusterExits) return CompletableFuture.completedFuture(Done.done());
        return api.leave().handle((left, err) -> Done.done());
      });
      Consumer<Boolean> stop = !adminStop ? null : crashIt -> {
        crash.set(crashIt);
        // after the reply to /admin/stop has gone out
        ctx.getSystem().scheduler().scheduleOnce(Duration.ofMillis(200), () -> ctx.getSystem().terminate(),
            ctx.getSystem().executionContext());
      };
      AtomicInteger linkPort = new AtomicInteger();
      WorkerRoutes routes = new WorkerRoutes(api, settings, stop, linkPort::get, metrics);
      var system = ctx.getSystem();   // the callbacks below run outside the actor: no ctx there
      var log = LoggerFactory.getLogger(LinkServer.class);
      CompletableFuture<Integer> link = LinkServer.start(system, settings.bindHost(), settings.peerPort(),
          settings.clusterToken(), settings.apiToken(), settings.linkMaxConnections(), api).toCompletableFuture().whenComplete((port, err) -> {
            if (err != null) {
              log.error("could not bind the node-to-node link on {}:{}: {}", settings.bindHost(), settings.peerPort(), err.getMessage());
              system.terminate();
            } else {
              log.info("{} node-to-node link listening on port {}", settings.nodeId(), port);
              linkPort.set(settings.advertisePeerPort() > 0 ? settings.advertisePeerPort() : port);
            }
          });
      // UP means serving: the worker registers only once its HTTP server and its link listen
      CompletableFuture.allOf(link, bindOrStop(ctx, settings, routes.handler(ctx.getSystem()), metrics))
          .thenRun(api::startServing);
      return Behaviors.empty();
    });
  }

  public static Behavior<Void> controller(NodeSettings settings) {
    return Behaviors.setup(ctx -> {
      warnIfProtectedMode(settings);
      ActorRef<Controller.Command> controller = ctx.spawn(
          Controller.create(settings, new ControlPlaneClient(settings), Clock.systemUTC()), "controller");
      ControllerApi api = new ControllerApi(controller, ctx.getSystem(), settings.replicationFactor());
      NodeMetrics metrics = NodeMetrics.create(settings.metricsEnabled(), "controller", settings.nodeId());
      bindOrStop(ctx, settings, new ControllerRoutes(api, settings, metrics).routes().handler(ctx.getSystem()), metrics);
      return Behaviors.empty();
    });
  }

  /** A worker's actors without a data directory (the simulations). */
  public static WorkerApi workerApi(ActorContext<?> ctx, NodeSettings settings, Peers peers, ControlPlane controlPlane) {
    return workerApi(ctx, settings, LocalData.inMemory(settings.storeShards()), peers, controlPlane);
  }

  /** A worker's actors: its store shards (with the data found on disk) and the Worker that routes requests. */
  public static WorkerApi workerApi(ActorContext<?> ctx, NodeSettings settings, LocalData data, Peers peers,
      ControlPlane controlPlane) {
    HybridClock clock = HybridClock.system(settings.maxClockSkew().toMillis(), settings.clockOffset().toMillis());
    clock.observe(data.clock());   // never stamp below what this node stamped before it stopped
    GroupCommit disk = data.startWriting(clock::current);
    List<ActorRef<Store.Command>> stores = new ArrayList<>();
    for (int i = 0; i < settings.storeShards(); i++)
      stores.add(ctx.spawn(Store.create(clock, settings.tombstoneTtl(), data.shards().get(i), disk), "store-" + i));
    WorkerEnv env = new WorkerEnv(settings, new Shards(stores), peers, clock, data);
    Coordinator coordinator = new Coordinator(env, ctx.getSystem().scheduler());
    ActorRef<Worker.Command> worker = ctx.spawn(Worker.create(env, controlPlane, coordinator), "worker");
    return new WorkerApi(env, worker, coordinator, ctx.getSystem());
  }

  /** Without a cluster token, says once at start what protected mode means. */
  private static void warnIfProtectedMode(NodeSettings settings) {
    if (!settings.clusterToken().isEmpty()) return;
    LoggerFactory.getLogger(Guardian.class).warn("{}: CLUSTER_TOKEN is not set: protected mode, the node-to-node endpoints"
        + " and the link serve callers on this machine (loopback) only; set the same CLUSTER_TOKEN on every node to run"
        + " across machines", settings.nodeId());
  }

  /** The storage engine's basics, read at each scrape. */
  private static void storageGauges(NodeMetrics metrics, LocalData data) {
    metrics.gauge("ringkv_storage_live_data_bytes", "RocksDB's estimate of the live data's size",
        () -> data.engineProperty("rocksdb.estimate-live-data-size"));
    metrics.gauge("ringkv_storage_sst_bytes", "Bytes of RocksDB's table files", () -> data.engineProperty("rocksdb.total-sst-files-size"));
    metrics.gauge("ringkv_storage_memtable_bytes", "Bytes of RocksDB's write buffers",
        () -> data.engineProperty("rocksdb.cur-size-all-mem-tables"));
    metrics.gauge("ringkv_storage_block_cache_bytes", "Bytes in RocksDB's block cache", () -> data.engineProperty("rocksdb.block-cache-usage"));
  }

  private static CompletableFuture<?> bindOrStop(ActorContext<?> ctx, NodeSettings settings,
      Function<HttpRequest, CompletionStage<HttpResponse>> handler, NodeMetrics metrics) {
    var system = ctx.getSystem();
    return HttpServer.start(system, settings.bindHost(), settings.port(), handler, metrics).toCompletableFuture().whenComplete((b, err) -> {
      if (err != null) system.terminate();
    });
  }
}
