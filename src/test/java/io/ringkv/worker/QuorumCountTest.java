package io.ringkv.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import org.junit.jupiter.api.Test;

class QuorumCountTest {
  @Test
  void reachedAtTheWriteQuorum() {
    QuorumCount q = QuorumCount.of(2, 3);
    assertFalse(q.reached());
    q = q.ack("a");
    assertFalse(q.reached());
    q = q.ack("b");
    assertTrue(q.reached());
    assertFalse(q.impossible());
    assertFalse(q.complete(), "one replica has not answered yet");
    assertEquals(Set.of("a", "b"), q.acks());
  }

  @Test
  void impossibleAsSoonAsTheOutstandingReplicasCannotMakeIt() {
    QuorumCount q = QuorumCount.of(2, 3).fail("a");
    assertFalse(q.impossible(), "two replicas can still ack");
    q = q.ack("b");
    assertFalse(q.impossible());
    assertFalse(q.reached());
    q = q.fail("c");
    assertTrue(q.impossible());
    assertFalse(q.reached());
    assertTrue(q.complete());

    QuorumCount twoFailures = QuorumCount.of(2, 3).fail("a").fail("b");
    assertTrue(twoFailures.impossible(), "decided before the third replica answers");
    assertFalse(twoFailures.complete());

    assertTrue(QuorumCount.of(3, 3).fail("a").impossible(), "W=N tolerates no failure");
    assertFalse(QuorumCount.of(1, 3).fail("a").fail("b").impossible(), "W=1 survives two failures");
    assertTrue(QuorumCount.of(2, 1).impossible(), "fewer replicas than the quorum");
  }

  @Test
  void repeatedAnswersAreNotCountedTwice() {
    QuorumCount q = QuorumCount.of(2, 3).ack("a");
    assertSame(q, q.ack("a"));
    assertFalse(q.ack("a").reached(), "a duplicate ack does not make a quorum");
    assertSame(q, q.fail("a"), "a replica that acked cannot fail afterwards");

    QuorumCount f = QuorumCount.of(2, 3).fail("b");
    assertFalse(f.fail("b").impossible(), "a duplicate failure is one failure");
    assertSame(f, f.ack("b"), "a replica that failed cannot ack afterwards");
    assertEquals(Set.of("b"), f.fail("b").failed());
  }

  @Test
  void completeWhenEveryReplicaAnswered() {
    QuorumCount q = QuorumCount.of(2, 3).ack("a").fail("b");
    assertFalse(q.complete());
    assertFalse(q.ack("a").complete());
    assertTrue(q.ack("c").complete());
    assertTrue(q.ack("c").reached());
  }

  @Test
  void isAnImmutableValue() {
    QuorumCount empty = QuorumCount.of(2, 3);
    empty.ack("a").fail("b");
    assertEquals(Set.of(), empty.acks());
    assertEquals(Set.of(), empty.failed());
    assertThrows(UnsupportedOperationException.class, () -> empty.ack("a").acks().add("x"));
  }

  @Test
  void needsAtLeastOneAck() {
    assertThrows(IllegalArgumentException.class, () -> QuorumCount.of(0, 3));
  }
}
