package io.ringkv.controller;

import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.MembershipReply;
import io.ringkv.net.ControlPlane;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/** The controller's operations as CompletionStages: served over HTTP, or called directly in simulations. */
public final class ControllerApi {
  private static final Duration TIMEOUT = Duration.ofSeconds(3);
  private final ActorRef<Controller.Command> controller;
  private final ActorSystem<?> system;
  private final int replicationFactor;

  public ControllerApi(ActorRef<Controller.Command> controller, ActorSystem<?> system, int replicationFactor) {
    this.controller = controller;
    this.system = system;
    this.replicationFactor = replicationFactor;
  }

  public int replicationFactor() {
    return replicationFactor;
  }

  public CompletionStage<MembershipReply> register(ControlPlane.Registration reg) {
    return AskPattern.ask(controller, r -> new Controller.Register(reg, r), TIMEOUT, system.scheduler());
  }

  public CompletionStage<MembershipReply> heartbeat(ControlPlane.Heartbeat hb) {
    return AskPattern.ask(controller, r -> new Controller.Heartbeat(hb, r), TIMEOUT, system.scheduler());
  }

  public CompletionStage<MembershipReply> leave(String nodeId, String instance) {
    return AskPattern.ask(controller, r -> new Controller.Leave(nodeId, instance, r), TIMEOUT, system.scheduler());
  }

  public CompletionStage<ClusterView> view() {
    return AskPattern.ask(controller, Controller.GetView::new, TIMEOUT, system.scheduler());
  }

  public CompletionStage<Controller.Nodes> nodes() {
    return AskPattern.ask(controller, Controller.GetNodes::new, TIMEOUT, system.scheduler());
  }
}
