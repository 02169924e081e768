package io.ringkv.net;

import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Versioned;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/** A {@link Peers} whose every call is unexpected: test stubs extend it and override only what they use. */
public abstract class NoPeers implements Peers {
  private static <T> T unexpected(String call) {
    throw new UnsupportedOperationException(call + " is not expected in this test");
  }

  @Override
  public CompletionStage<Integer> replicate(Member to, List<Entry> entries) {
    return unexpected("replicate");
  }

  @Override
  public CompletionStage<Optional<Versioned>> fetch(Member to, String key) {
    return unexpected("fetch");
  }

  @Override
  public CompletionStage<WriteResult> forward(Member to, String key, String value) {
    return unexpected("forward");
  }

  @Override
  public CompletionStage<ClusterView> register(Registration registration) {
    return unexpected("register");
  }

  @Override
  public CompletionStage<Long> heartbeat(Heartbeat heartbeat) {
    return unexpected("heartbeat");
  }

  @Override
  public CompletionStage<ClusterView> fetchView() {
    return unexpected("fetchView");
  }

  @Override
  public CompletionStage<ClusterView> leave(String nodeId, String instance) {
    return unexpected("leave");
  }

  @Override
  public CompletionStage<Long> pushView(Member to, ClusterView view) {
    return unexpected("pushView");
  }
}
