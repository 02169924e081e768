package io.ringkv.net;

import io.ringkv.cluster.ClusterView;
import io.ringkv.cluster.Member;
import io.ringkv.cluster.MembershipReply;
import io.ringkv.storage.Applied;
import io.ringkv.storage.Entry;
import io.ringkv.storage.Versioned;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/** Peers and a control plane whose every call is unexpected: test stubs extend it and override only what they use. */
public abstract class NoPeers implements Peers, ControlPlane {
  private static <T> T unexpected(String call) {
    throw new UnsupportedOperationException(call + " is not expected in this test");
  }

  @Override
  public CompletionStage<List<Applied>> replicate(Member to, List<Entry> entries) {
    return unexpected("replicate");
  }

  @Override
  public CompletionStage<Optional<Versioned>> fetch(Member to, String key) {
    return unexpected("fetch");
  }

  @Override
  public CompletionStage<WriteOutcome> forward(Member to, Forwarded write) {
    return unexpected("forward");
  }

  @Override
  public CompletionStage<List<Optional<Versioned>>> copies(Member to, List<String> keys) {
    return unexpected("copies");
  }

  @Override
  public CompletionStage<long[]> tree(Member to, Frames.TreeQuery query) {
    return unexpected("tree");
  }

  @Override
  public CompletionStage<List<io.ringkv.storage.KeyVersion>> keyVersions(Member to, Frames.SegmentQuery query) {
    return unexpected("keyVersions");
  }

  @Override
  public CompletionStage<MembershipReply> register(Registration registration) {
    return unexpected("register");
  }

  @Override
  public CompletionStage<MembershipReply> heartbeat(Heartbeat heartbeat) {
    return unexpected("heartbeat");
  }

  @Override
  public CompletionStage<ClusterView> fetchView() {
    return unexpected("fetchView");
  }

  @Override
  public CompletionStage<MembershipReply> leave(String nodeId, String instance) {
    return unexpected("leave");
  }

  @Override
  public CompletionStage<Void> pushView(Member to, ClusterView view) {
    return unexpected("pushView");
  }
}
